"""The request's identity as providers see it: the stored identity with its
reader's language. Above both ``session`` (the stored identity) and
``render.i18n`` (which reads the stored identity's language)."""

from __future__ import annotations

from forms.identity import Identity
from web.identity.session import raw_identity
from web.render.i18n import localized


def current_identity() -> Identity:
    """The request's identity as providers see it: with its reader's ``locale``."""
    return localized(raw_identity())
