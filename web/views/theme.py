"""``/theme.css``: the operator's theme settings (``THEME_ACCENT``,
``THEME_RADIUS``) and an embed's own accent as CSS custom properties."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from web.render.theme import HEX, RADIUS, page_theme, theme_css_text

bp = Blueprint("theme", __name__)


@bp.get("/theme.css")
def theme_css() -> Response:
    cfg = current_app.config
    accent = page_theme()[0] or (cfg["THEME_ACCENT"] if HEX.match(cfg["THEME_ACCENT"] or "") else "#1f4fd1")
    radius = cfg["THEME_RADIUS"] if RADIUS.match(cfg["THEME_RADIUS"] or "") else "6px"
    response = Response(theme_css_text(accent.lower(), radius), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
