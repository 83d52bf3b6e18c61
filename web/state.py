"""What one app holds: its registry, engine and stores (see ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from flask_limiter import Limiter
    from markupsafe import Markup
    from sqlalchemy import Engine as DBEngine

    from forms import Engine, SensitiveKeys
    from forms.lru import LRU
    from schema_providers import Registry
    from storage import Storage
    from store.attachments import AttachmentStore
    from store.checkpoints import Checkpoints
    from store.sessions import SessionStore
    from store.submissions import SubmissionStore
    from web.identity.keys import IdentityKeys


@dataclass
class PrefillState:
    registry: Registry
    engine: Engine
    sensitive: SensitiveKeys
    db: DBEngine
    sessions: SessionStore
    submissions: SubmissionStore
    fragments: LRU[tuple[str, Any], Markup | str]  # fields' JSON by resolved field; web.render.pages
    compiled: LRU[tuple[Any, ...], tuple[str | int, ...]]  # field and page HTML by shape; web.render.compiled
    pages: LRU[tuple[Any, ...], tuple[str, ...]]  # rendered pages by (kind, form key); web.render.pages
    keys: IdentityKeys  # who may sign identity tokens; web.identity.keys
    storage: Storage  # uploaded files (UPLOAD_STORAGE_URL); storage
    attachments: AttachmentStore  # their rows; store.attachments
    limiter: Limiter | None = None  # web.plumbing.limits
    checkpoints: Checkpoints | None = None  # SQLite's WAL copied back off the requests; store.checkpoints
    openapi: dict[str, Any] | None = None  # the OpenAPI document, built at its first request; web.views.openapi


def state() -> PrefillState:
    return current_app.extensions["prefill"]
