"""The files Prefill serves with a content version: ``/widget.js``, and the
``static/`` files its pages link (``/static/prefill.css?v=<version>``).

A URL with the current version never changes, so it is cached for a year; one
without it (or with an old one) is revalidated by its ETag. Each file is read,
and text gzipped, once per process: the pages that link a version are cached
too, so a version must not move under them.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Flask, abort, current_app, request
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

YEAR = "public, max-age=31536000, immutable"
# What compresses: text. Images other than SVG are compressed already.
_TEXT = ("text/", "application/javascript", "application/json", "image/svg+xml")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    packed: bytes | None  # gzipped; None when it would not pay
    version: str
    mimetype: str


@lru_cache(maxsize=64)
def _read(path: str) -> Asset:
    with open(path, "rb") as handle:
        body = handle.read()
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if mimetype == "application/javascript":
        mimetype = "text/javascript"  # RFC 9239
    packed = gzip.compress(body, 9, mtime=0) if mimetype.startswith(_TEXT) else None
    if packed is not None and len(packed) >= len(body):
        packed = None
    return Asset(body, packed, hashlib.sha256(body).hexdigest()[:16], mimetype)


def static_asset(filename: str) -> Asset | None:
    """``static/<filename>``, or None for a name outside the folder or no file."""
    path = safe_join(current_app.static_folder, filename)  # type: ignore[arg-type]
    return _read(path) if path is not None and os.path.isfile(path) else None


def asset_response(asset: Asset, cache_control: str) -> Response:
    """``asset`` gzipped when the client takes it, with its ETag (304 when it matches)."""
    gz = asset.packed is not None and request.accept_encodings["gzip"] > 0
    response = Response(asset.packed if gz else asset.body, mimetype=asset.mimetype)
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    if asset.packed is not None:
        response.vary.add("Accept-Encoding")
    response.set_etag(asset.version + ("-gz" if gz else ""))
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)


def serve_static(filename: str) -> Response:
    """Flask's ``static`` endpoint: the file, compressed and cached by version."""
    asset = static_asset(filename)
    if asset is None:
        abort(404)
    return asset_response(asset, YEAR if request.args.get("v") == asset.version else "no-cache")


def _link_version(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for('static', filename=…)`` links the file's current version."""
    if endpoint == "static" and "v" not in values:
        asset = static_asset(values.get("filename", ""))
        if asset is not None:
            values["v"] = asset.version


def init_static(app: Flask) -> None:
    """Serve ``static/`` as above, under Flask's own endpoint and URLs."""
    app.view_functions["static"] = serve_static
    app.url_defaults(_link_version)


def widget_script() -> tuple[bytes, bytes, str]:
    """(the script, gzipped, its version)."""
    asset = _read(current_app.static_folder + "/widget.js")  # type: ignore[operator]
    return asset.body, asset.packed or gzip.compress(asset.body, 9, mtime=0), asset.version


def widget_version() -> str:
    return widget_script()[2]
