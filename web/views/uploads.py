"""Uploads and downloads: ``POST /api/uploads`` stores one file for a form's
file field; ``GET /files/<id>`` serves a stored file through a signed link.

An upload body is bounded by its own limit (``UPLOAD_MAX_BYTES`` and a little
for the other parts), not ``MAX_BODY_BYTES``, and read as a stream: the file
goes to storage in chunks and is refused as soon as it passes its limit.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from forms import files
from forms.errors import AdhocFormsOff, LinkInvalid, ValidationFailed
from forms.files import FileLimits
from forms.messages import N_, Message
from storage import chunks
from web.identity.current import current_identity
from web.identity.session import ensure_session
from web.plumbing.origins import check_state_change
from web.state import state
from web.uploads import links
from web.uploads.multipart import request_body
from web.uploads.receive import receive
from web.views.api import form_args, private

bp = Blueprint("uploads", __name__)
bp.before_request(check_state_change)
PARTS_SLACK = 64 * 1024  # room for the form and field parts and the multipart framing
FORM_PART_MAX = 300  # bytes of the form and field parts


def field_limits(form_name: str, field_name: str) -> FileLimits:
    """What the named file field takes (for an ad-hoc form, whose schema the
    client writes, the operator's limits; its own are checked at submit)."""
    st = state()
    caps = st.engine.file_caps
    if form_name == "adhoc":
        if not current_app.config["ADHOC_FORMS"]:
            raise AdhocFormsOff()
        return files.limits(None, None, None, caps.max_size, caps.max_files)
    form = st.engine.resolve(form_name, form_args(), current_identity())
    field = form.field(field_name)
    if field is None or field.type != "file":
        names = ", ".join(f.name for f in form.fields if f.type == "file") or "(none)"
        raise ValidationFailed(fields={"field": [f"Form {form_name!r} has no file field {field_name!r}; "
                                                 f"its file fields: {names}."]})
    return files.limits(field.max_size, field.max_files, field.accept, caps.max_size, caps.max_files)


@bp.post("/api/uploads")
def upload() -> tuple[Response, int]:
    """One file (part ``file``) for ``form``'s ``field`` (parts sent before it):
    201 ``{id, name, size, type}``; the id is this session's, until it is
    submitted or ``UPLOAD_TTL`` passes."""
    body = request_body(current_app.config["UPLOAD_MAX_BYTES"] + PARTS_SLACK)
    row = ensure_session()
    named: dict[str, str] = {}
    received = None
    for part in body.parts():
        if part.filename is None:
            if part.name not in ("form", "field"):
                raise ValidationFailed(fields={str(part.name)[:100]: ["Unknown field."]})
            named[part.name] = part.text(FORM_PART_MAX)
        elif part.name != "file" or received is not None:
            raise ValidationFailed(fields={str(part.name)[:100]: ["Send one file, in the part named 'file'."]})
        else:
            missing = [n for n in ("form", "field") if not named.get(n)]
            if missing:
                raise ValidationFailed(fields={n: ["Send it before the file part."] for n in missing})
            limits = field_limits(named["form"], named["field"])
            received = receive(part, limits, row, current_identity().user_id, named["form"], named["field"], "file")
    if received is None:
        raise ValidationFailed(fields={"file": [Message(N_("Choose a file to upload."))]})
    return private(jsonify(received.meta())), 201


@bp.get("/files/<ident>")
def download(ident: str) -> Response:
    """A stored file, for a valid signed link: always as a download, with its
    detected type, never sniffed, and sandboxed should a browser render it."""
    links.check(ident, request.args.get("expires", ""), request.args.get("sig", ""))
    st = state()
    found = st.attachments.get(ident)
    if found is None or found.status != "stored" or found.submission_id is None:
        raise LinkInvalid()
    try:
        stream = st.storage.open(found.storage_key)
    except FileNotFoundError:
        raise LinkInvalid() from None
    response = Response(chunks(stream), mimetype=None, content_type=found.type or "application/octet-stream",
                        direct_passthrough=True)
    response.headers.update(download_headers(found.name, found.size))
    return response


def download_headers(name: str, size: int | None) -> dict[str, Any]:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "ignore").decode().replace("\\", "_").replace('"', "_") or "file"
    headers: dict[str, Any] = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers
