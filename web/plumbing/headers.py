"""Security headers on every HTML response Prefill sends, error pages included."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from flask import Flask
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


def page_headers(cfg: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The headers every HTML answer gets under this configuration."""
    logo = cfg.get("BRAND_LOGO_URL") or ""
    images = " " + "/".join(logo.split("/")[:3]) if logo.startswith(("https://", "http://")) else ""
    return _headers(frame_ancestors(cfg["FRAME_ANCESTORS"], cfg["WIDGET_ORIGINS"]), images)


_PAGE_OWN = frozenset({"content-type", "content-length"})


def security_headers(app: Flask) -> Callable[[Response], Response]:
    """The after-request step: an HTML answer (a form, a thanks page, a 404 or
    a 500 page alike) gets the CSP with ``frame-ancestors``, ``nosniff`` and a
    referrer policy, and is never cached by a shared cache. A header the view
    set itself is kept. The headers are made once, from the app's settings."""
    wanted = page_headers(app.config)
    names = tuple((key, key.lower()) for key, _ in wanted)

    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        if not headers.get("Content-Type", "").startswith("text/html"):
            return response
        have = {key.lower() for key, _ in headers.items()}
        if have <= _PAGE_OWN:  # a page's own Content-Type and Content-Length: none of ours can be there
            headers.extend(wanted)
        else:
            headers.extend([pair for pair, (_, low) in zip(wanted, names, strict=True) if low not in have])
        return response

    return add_security_headers
