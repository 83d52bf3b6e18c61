"""A browser's ``multipart/form-data`` post of a whole form (no JavaScript):
its fields, and its files streamed to storage as uploads of the session.

A file that breaks its field's limits is not kept; its error goes on the
field, and the rest of its bytes are read and dropped (never stored, within
the route's bound) so that the other values can be shown again with it. The
page's CSRF token comes before the files (it is the form's first input): a
cookie session's file that arrives without a valid one is not stored.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from werkzeug.datastructures import MultiDict

from forms import files
from forms.errors import FileRefused, FileTooLarge, UploadBudgetExceeded
from forms.messages import N_, Message
from forms.resolve import ResolvedForm
from store.sessions import SessionRow
from web.state import state
from web.uploads.multipart import request_body
from web.uploads.receive import Received, receive


@dataclass
class FormPost:
    formdata: MultiDict[str, str]
    received: dict[str, list[Received]] = field(default_factory=dict)  # field -> files stored by this post
    errors: dict[str, list[str]] = field(default_factory=dict)  # field -> why a file was not kept
    csrf_failed: bool = False  # a file came without a valid CSRF token before it: not stored


def read_form_post(form: ResolvedForm, form_name: str, row: SessionRow, user_id: str | None,
                   csrf: str | None) -> FormPost:
    """``csrf``: the session's token for a cookie session (None: a bearer one)."""
    cfg = current_app.config
    caps = state().engine.file_caps
    limits = {f.name: files.limits(f.max_size, f.max_files, f.accept, caps.max_size, caps.max_files)
              for f in form.fields if f.type == "file"}
    text_max = cfg["MAX_BODY_BYTES"]
    body = request_body(text_max + sum(lim.max_size * lim.max_files for lim in limits.values()))
    post = FormPost(MultiDict())
    for part in body.parts():
        if part.filename is None:
            value = part.text(text_max)
            text_max -= len(value.encode())
            post.formdata.add(part.name, value)
            continue
        limit = limits.get(part.name)
        if limit is None or part.filename == "":  # no such file field, or no file chosen
            continue
        if csrf is not None and not hmac.compare_digest(post.formdata.get("csrf_token", "").encode(), csrf.encode()):
            post.csrf_failed = True
            continue
        kept = post.received.setdefault(part.name, [])
        if len(kept) + len([v for v in post.formdata.getlist(part.name) if v]) >= limit.max_files:
            post.errors.setdefault(part.name, []).append(
                Message(N_("Attach at most %(count)s files."), count=limit.max_files))
            continue
        try:
            kept.append(receive(part, limit, row, user_id, form_name, part.name, part.name))
        except (FileTooLarge, FileRefused, UploadBudgetExceeded) as err:
            messages: list[Any] = (err.fields or {}).get(part.name) or [err.message]
            post.errors.setdefault(part.name, []).extend(m for m in messages if m not in post.errors[part.name])
    return post


def digest_values(shown: dict[str, Any], post: FormPost | None) -> dict[str, Any]:
    """What keys the page's one-time key: a file this post uploaded counts by
    its content, so a double click (which uploads it again) replays the first."""
    if post is None or not post.received:
        return shown
    out = dict(shown)
    for name, got in post.received.items():
        new = {r.id for r in got}
        out[name] = [v for v in shown.get(name) or () if v not in new] + [f"file:{r.fingerprint}" for r in got]
    return out


def shown_files(form: ResolvedForm, values: dict[str, Any], row: SessionRow) -> dict[str, Any]:
    """``values`` to show again: each file field as the uploads (``{id, name,
    size, type}``) that this session may still send with it."""
    names = [f.name for f in form.fields if f.type == "file" and values.get(f.name)]
    if not names:
        return values
    found = state().attachments.get_many(i for n in names for i in values[n] if isinstance(i, str))
    out = dict(values)
    for n in names:
        out[n] = [found[i].meta() for i in values[n] if isinstance(i, str) and i in found
                  and found[i].session_hash == row.token_hash and found[i].status == "stored"
                  and found[i].submission_id is None]
    return out
