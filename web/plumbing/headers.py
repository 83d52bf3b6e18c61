"""Security headers on every HTML response Prefill sends, error pages included."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from werkzeug.wrappers import Response


@lru_cache(maxsize=8)
def _headers(frame_ancestors: str, images: str = "") -> tuple[tuple[str, str], ...]:
    return (
        ("Content-Security-Policy",
         f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{images}; "
         f"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {frame_ancestors}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "private, no-store"),
    )


@lru_cache(maxsize=8)
def _ancestors(configured: str, widget_origins: tuple[str, ...]) -> str:
    parts = configured.split()
    if widget_origins and parts == ["'none'"]:
        parts = []
    return " ".join(parts + [o for o in widget_origins if o not in parts])


def frame_ancestors(configured: str, widget_origins: list[str]) -> str:
    """``FRAME_ANCESTORS`` and the widget's sites: a site allowed to use widget.js
    must be able to frame its panel."""
    return _ancestors(configured, tuple(widget_origins))


def security_headers(response: Response) -> Response:
    """After every request: an HTML answer (a form, a thanks page, a 404 or a
    500 page alike) gets the CSP with ``frame-ancestors``, ``nosniff`` and a
    referrer policy, and is never cached by a shared cache. A header the view
    set itself is kept."""
    if not response.headers.get("Content-Type", "").startswith("text/html"):
        return response
    have = {key.lower() for key, _ in response.headers.items()}
    cfg = current_app.config
    logo = cfg.get("BRAND_LOGO_URL") or ""
    images = " " + "/".join(logo.split("/")[:3]) if logo.startswith(("https://", "http://")) else ""
    headers = _headers(frame_ancestors(cfg["FRAME_ANCESTORS"], cfg["WIDGET_ORIGINS"]), images)
    response.headers.extend([(k, v) for k, v in headers if k.lower() not in have])
    return response
