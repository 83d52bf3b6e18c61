"""Storing a validated submission for the request's session (shared by the
JSON API, ad-hoc forms and the HTML forms)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from forms.errors import PrefillError, SubmissionInvalid
from forms.identity import Identity
from forms.resolve import ResolvedForm
from forms.validate import CleanSubmission, validate_submission
from store.attachments import UploadsGone
from store.db import dumps
from store.idempotency import request_hash, scoped_key
from store.sessions import SessionRow
from web.identity.current import current_identity
from web.identity.session import change_session, ensure_session
from web.state import state
from web.uploads.claims import Claims, check_uploads, file_fields, gone
from web.uploads.links import is_files, with_links

log = logging.getLogger("prefill.submit")


def store_submission(
    name: str, args: dict[str, str], clean: CleanSubmission, row: SessionRow, identity: Identity,
    key: str | None, digest: str | None, schema: dict[str, Any] | None = None, form: ResolvedForm | None = None,
) -> tuple[int, dict[str, Any], bool, str]:
    """``schema``: an ad-hoc form's own, stored with it (``adhoc: true``).
    ``form``: the resolved form, when it may have file fields: the uploads
    ``clean`` names are checked and claimed with the submission (a 422 on
    the field for one that is not this session's to send)."""
    claims = check_uploads(form, name, clean, row) if form is not None else Claims(clean, (), None)
    try:
        out = state().submissions.create(
            form=name, args=args, clean=claims.clean, identity=identity,
            visitor_id=row.visitor_id, idempotency_key=key, digest=digest, schema=schema,
            claims=claims.ids, session_hash=row.token_hash, webhook_values=claims.hook_values,
        )
    except UploadsGone:
        raise gone(form, clean) from None  # type: ignore[arg-type]
    if clean.profile and not out[2]:  # a replay wrote its profile answers the first time
        save_to_profile(clean.profile, identity)
    return out


def save_to_profile(answers: dict[str, Any], identity: Identity) -> None:
    """``saveToProfile``: an identified user's answers become claimed metadata,
    as ``updateUser`` would write them; never over a trusted value, never under
    a sensitive key. After the submission is stored, which it stays whatever
    happens here (a failure is logged, without values)."""
    st = state()
    claims = {k: v for k, v in answers.items() if k not in identity.trusted and not st.sensitive.is_sensitive(k)}
    if identity.user_id is None or not claims:
        return
    try:
        with change_session() as tx:
            tx.update_user(identity.user_id, claims)
    except PrefillError as exc:
        log.warning("saveToProfile: the answers of %s were not saved to the profile: %s", sorted(claims), exc.code)


def schema_args(schema: dict[str, Any]) -> dict[str, str]:
    """What keys an ad-hoc submission's replay: the schema it was made against."""
    return {"schema": json.dumps(schema, sort_keys=True, separators=(",", ":"))}


def submit_json(
    name: str, args: dict[str, str], values: dict[str, Any], key: str | None,
    form_for: Callable[[Identity], ResolvedForm], schema: dict[str, Any] | None = None,
) -> tuple[int, str]:
    """A JSON submission (the answer's status and JSON text), checked against the form ``form_for`` resolves for this
    identity, stored in one transaction: a key used before rolls it back and
    replays its first answer, and one used with another body is a 409 before
    any 422. ``schema``: an ad-hoc form's, which keys the replay and is stored."""
    row = ensure_session()
    identity = current_identity()
    st = state()
    digest = request_hash(name, args if schema is None else schema_args(schema), values, identity)
    if key:
        key = scoped_key(identity, key)
    form = form_for(identity)
    try:
        clean = validate_submission(form, values)
        status, body, _, text = store_submission(name, args, clean, row, identity, key, digest, schema=schema,
                                                 form=form)
    except SubmissionInvalid:
        # A replay of a keyed submit with uploads finds them claimed (by its first answer): it replays.
        if key and (found := st.submissions.replay(row.visitor_id, key, digest)):
            return found[0], linked(form, found[2])
        raise
    return status, linked(form, text, body.get("values"))


def linked(form: ResolvedForm, text: str, values: dict[str, Any] | None = None) -> str:
    """A submit's answer (as stored, without links) with fresh links to its
    files; the text as it is when ``values`` (the answer's) holds none."""
    if not file_fields(form) or (values is not None and not any(map(is_files, values.values()))):
        return text
    body = json.loads(text)
    body["values"] = with_links(body.get("values") or {})
    return dumps(body)
