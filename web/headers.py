"""Security headers on every HTML response Prefill sends, error pages included."""

from __future__ import annotations

from flask import current_app
from werkzeug.wrappers import Response


def security_headers(response: Response) -> Response:
    """After every request: an HTML answer (a form, a thanks page, a 404 or a
    500 page alike) gets the CSP with ``frame-ancestors``, ``nosniff`` and a
    referrer policy, and is never cached by a shared cache."""
    if response.mimetype != "text/html":
        return response
    cfg = current_app.config
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {cfg['FRAME_ANCESTORS']}",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "private, no-store")
    return response
