"""The admin API for the integrator's backend: export, trusted metadata, erasure.

Off (404) without ``ADMIN_API_KEY``; a wrong key is 401, and past
``RATELIMIT_ADMIN_FAILURES`` wrong keys an address is 429. Keys compare in
constant time.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from forms.errors import NotFound, Unauthorized, ValidationFailed
from web.plumbing.limits import check_failures, count_failure
from web.schemas import bodies
from web.state import state
from web.uploads.links import item_with_links
from web.views.api import page_params

bp = Blueprint("admin", __name__, url_prefix="/api/admin")
FIXED_COLUMNS = ("id", "form", "args", "userId", "visitorId", "verified", "prefilled", "changed", "sources",
                 "createdAt")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FAILURES = "RATELIMIT_ADMIN_FAILURES"


@bp.before_request
def _authenticate() -> None:
    """An address past its failed keys (``RATELIMIT_ADMIN_FAILURES``) is refused
    before its key is compared; a right key spends nothing."""
    key = current_app.config["ADMIN_API_KEY"]
    if not key:
        raise NotFound()
    check_failures(FAILURES)
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not hmac.compare_digest(given.encode(), key.encode()):
        count_failure(FAILURES)
        raise Unauthorized()


def _since() -> int | None:
    raw = request.args.get("since")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(fields={"since": ["Must be an ISO 8601 date or date-time."]}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(filters: tuple[Any, ...]) -> Iterator[str]:
    """One pass over the rows, spooled (to disk past 4 MiB) while the columns are
    collected; then the header and the rows. Every exported row has all of its
    columns, even when submissions arrive during the export."""
    seen: dict[str, None] = {}
    with tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8") as spool:
        for item in state().submissions.admin_iter(*filters):
            for name in item["values"]:
                seen.setdefault(name, None)
            spool.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n")
        spool.seek(0)
        buf = io.StringIO()
        writer = csv.writer(buf)

        def flush() -> str:
            out = buf.getvalue()
            buf.seek(0)
            buf.truncate()
            return out

        writer.writerow([*FIXED_COLUMNS, *(f"values.{n}" for n in seen)])
        yield flush()
        for line in spool:
            item = item_with_links(json.loads(line))  # files as [{id, name, size, type, url, expiresAt}]
            writer.writerow([safe_cell(item[c]) for c in FIXED_COLUMNS]
                            + [safe_cell(item["values"].get(n)) for n in seen])
            yield flush()


@bp.get("/submissions")
def submissions() -> Response:
    form, user_id = request.args.get("form") or None, request.args.get("userId") or None
    filters = (form and bodies.identifier(form, "form"), user_id and bodies.identifier(user_id, "userId"), _since())
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValidationFailed(fields={"format": ["Must be json or csv."]})
    if fmt == "csv":
        response = Response(stream_with_context(_csv(filters)), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="submissions.csv"'
        return response
    limit, cursor = page_params()
    items, nxt = state().submissions.admin_list(*filters, limit, cursor)
    return jsonify({"items": [item_with_links(i) for i in items], "nextCursor": nxt})


def _user_id(user_id: str) -> str:
    return bodies.identifier(user_id, "userId")


@bp.put("/users/<path:user_id>")
def put_user(user_id: str) -> Response:
    user_id = _user_id(user_id)
    body = bodies.load(bodies.AdminUserBody, bodies.read_json())
    bodies.check_metadata(body["metadata"], "metadata")
    st = state()
    st.sessions.set_trusted(user_id, body["metadata"])
    claimed, trusted = st.sessions.profile(user_id) or ({}, {})
    return jsonify({
        "userId": user_id,
        "userMetadata": st.sensitive.scrub({**claimed, **trusted}),
        "trustedKeys": sorted(k for k in trusted if not st.sensitive.is_sensitive(k)),
    })


@bp.delete("/users/<path:user_id>")
def delete_user(user_id: str) -> tuple[str, int]:
    st = state()
    st.submissions.erase_user(_user_id(user_id), st.storage)
    return "", 204


@bp.get("/webhooks/deliveries")
def deliveries() -> Response:
    status = request.args.get("status")
    if status not in (None, "pending", "delivered", "failed"):
        raise ValidationFailed(fields={"status": ["Must be pending, delivered or failed."]})
    limit, cursor = page_params()
    from store.outbox import Outbox

    items, nxt = Outbox(state().db).list(status, limit, cursor)
    return jsonify({"items": items, "nextCursor": nxt})
