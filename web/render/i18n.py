"""Languages: English, German, French and Spanish (Flask-Babel catalogues in
``translations/``).

The reader's language comes from ``userMetadata.locale`` (or ``language``), then
the session metadata's, then ``Accept-Language``. Providers see it as
``user.locale``. Only end-user strings are translated: the JSON API speaks
English to integrators.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import Babel, format_date, format_decimal, get_translations, gettext

from forms.errors import PrefillError
from forms.identity import Identity
from forms.messages import Message
from forms.schema import parse_iso_date
from web.identity.session import raw_identity

LANGUAGES = ("en", "de", "fr", "es")
DEFAULT = "en"


def _identity() -> Identity | None:
    try:
        return raw_identity()
    except PrefillError:  # a dead bearer token: its 401 is raised elsewhere
        return None


def _accepted() -> str:
    """The first of ``Accept-Language`` (by quality) we speak, by primary tag:
    "de-CH, en;q=0.5" is German (werkzeug's best_match would pick the exact "en")."""
    if not request.environ.get("HTTP_ACCEPT_LANGUAGE"):
        return DEFAULT  # no header: nothing to parse
    for tag, quality in request.accept_languages:  # sorted, best first
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT


def request_locale() -> str:
    """The reader's language, once per request."""
    found = g.get("prefill_locale")
    if found is None:
        identity = _identity()
        own = identity.locale if identity is not None else None
        found = own if own in LANGUAGES else _accepted()
        g.prefill_locale = found
    return found


def localized(identity: Identity) -> Identity:
    """``identity`` as providers see it in this request: with ``locale`` set."""
    if identity.locale in LANGUAGES:
        return identity
    return identity.with_locale(request_locale())


def _param(value: Any) -> Any:
    """Numbers and dates in messages as the reader writes them."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return format_decimal(value)
    if isinstance(value, str) and (day := parse_iso_date(value)) is not None:
        return format_date(day, "medium")
    return value


def translate(text: str) -> str:
    """A message in the reader's language; text not in the catalogue (a
    provider's own ``patternMessage``, say) is shown as it is."""
    if isinstance(text, Message):
        return gettext(text.template, **{k: _param(v) for k, v in text.params.items()})
    return _catalog(request_locale()).ugettext(text) if text else text


def _catalog(locale: str) -> Any:
    """Flask-Babel's catalogue for ``locale``, kept per app: its own lookup
    parses the locale again in every request (3.6% of a worker serving
    compiled pages, in a py-spy profile)."""
    catalogs = current_app.extensions.setdefault("prefill_catalogs", {})
    found = catalogs.get(locale)
    if found is None:
        found = catalogs[locale] = get_translations()  # this request's: its locale is request_locale()
    return found


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=request_locale, default_translation_directories="translations")
    app.jinja_env.filters["tr"] = translate
    app.jinja_env.globals["current_locale"] = request_locale
