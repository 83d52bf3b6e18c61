"""The body-size limit for bodies sent without ``Content-Length`` (chunked).

Werkzeug caps such a stream at ``MAX_CONTENT_LENGTH`` by cutting it, so an
oversized chunked body used to be truncated and processed. This middleware
reads at most one byte past the limit up front and hands Flask a body with a
length: a longer one then gets the ordinary 413 in the JSON error shape.

A ``multipart/form-data`` body is left a stream: uploads are read as they
arrive (web.uploads), each route under its own bound (``request.max_content_length``),
which werkzeug enforces on a chunked stream while it is read (a 413 where it
passes the bound), as it does ``MAX_BODY_BYTES`` for any other multipart post.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ChunkedBodyLimit:
    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data") and environ.get(
                "wsgi.input_terminated"):
            return self.app(environ, start_response)
        # A server that de-chunks may drop the header and say so by ``wsgi.input_terminated``
        # alone; that is read for a method with a body (a GET's would be ignored: no read per view).
        if chunked or (not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated")
                       and environ.get("REQUEST_METHOD") not in _NO_BODY):
            data = environ["wsgi.input"].read(self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))  # limit + 1 when too long: werkzeug's 413
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)
