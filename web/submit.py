"""Storing a validated submission for the request's session (shared by API and HTML)."""

from __future__ import annotations

from typing import Any

from forms.validate import CleanSubmission
from store.sessions import SessionRow

from .state import state


def store_submission(
    name: str, args: dict[str, str], clean: CleanSubmission, row: SessionRow,
    key: str | None, digest: str | None, schema: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """``schema``: an ad-hoc form's own, stored with it (``adhoc: true``)."""
    st = state()
    return st.submissions.create(
        form=name, args=args, clean=clean, identity=st.sessions.identity(row),
        visitor_id=row.visitor_id, idempotency_key=key, digest=digest, schema=schema,
    )
