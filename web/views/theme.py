"""``/theme.css``: the operator's theme settings (``THEME_ACCENT``,
``THEME_RADIUS``) and an embed's own accent as CSS custom properties.

The answer depends only on the settings and the query string, so pages link it
with ``v=<version of the settings>``: that URL is cached for a year, and any
other is revalidated by its ETag.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app, request

from web.render.assets import YEAR
from web.render.theme import HEX, RADIUS, page_theme, theme_css_text

bp = Blueprint("theme", __name__)


def operator_theme() -> tuple[str, str]:
    """(accent, radius) from the settings; an invalid one falls back to the default."""
    cfg = current_app.config
    accent = cfg["THEME_ACCENT"] if HEX.match(cfg["THEME_ACCENT"] or "") else "#1f4fd1"
    radius = cfg["THEME_RADIUS"] if RADIUS.match(cfg["THEME_RADIUS"] or "") else "6px"
    return accent.lower(), radius


@lru_cache(maxsize=64)
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def theme_version() -> str:
    """Changes with the settings, and with how the CSS is written from them."""
    return _digest(theme_css_text(*operator_theme()))


@bp.url_defaults
def _link_version(endpoint: str, values: dict[str, Any]) -> None:
    values.setdefault("v", theme_version())


@bp.get("/theme.css")
def theme_css() -> Response:
    own, radius = operator_theme()
    text = theme_css_text((page_theme()[0] or own).lower(), radius)
    response = Response(text, mimetype="text/css")
    response.set_etag(_digest(text))
    response.headers["Cache-Control"] = YEAR if request.args.get("v") == theme_version() else "no-cache"
    return response.make_conditional(request)
