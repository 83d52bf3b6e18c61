"""Logging: a request id on every line and in ``X-Request-Id``; one JSON
object per line with ``LOG_FORMAT=json``.

The handler goes on the root logger only when nothing configured logging yet
(gunicorn, ``make run``); a host that configured its own keeps it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

access = logging.getLogger("prefill.access")
_INCOMING_ID = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def make_handler(fmt: str, stream: object = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    return handler


# Request ids: a random per-process prefix and a counter — unique across workers
# and instances, and far cheaper per request than a uuid4 (a system call).
_PREFIX = uuid.uuid4().hex[:16]
_counter = itertools.count(1)


def _start() -> None:
    incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
    g.request_id = incoming if incoming and _INCOMING_ID.match(incoming) else f"{_PREFIX}{next(_counter):016x}"


def _finish(response: Response) -> Response:
    response.headers.add("X-Request-Id", g.get("request_id", ""))  # only this step sets it: no scan to replace
    return response


def _start_clock() -> None:
    g.request_started = time.perf_counter()


def _access_line(response: Response) -> Response:
    """One line per request: method, path (never the query) and status."""
    ms = round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 2)
    access.info("%s %s %s", request.method, request.path, response.status_code,
                extra={"method": request.method, "path": request.path, "status": response.status_code, "ms": ms})
    return response


def configure_logging(cfg: Mapping[str, Any]) -> None:
    """Levels and the handler, before anything is logged: what the app says while
    it is built (a demo form replaced, a provider module loaded) must show too."""
    logging.getLogger("prefill").setLevel(cfg["LOG_LEVEL"])
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(make_handler(cfg["LOG_FORMAT"]))
        root.setLevel(cfg["LOG_LEVEL"])
        # A first migration's "Running upgrade" lines are worth seeing; Alembic's
        # seven "setup plugin" lines before them are not.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def init_logging(app: Flask) -> None:
    """Request ids (and the JSON access line) on every request."""
    cfg = app.config
    app.before_request(_start)
    app.after_request(_finish)
    if cfg["LOG_FORMAT"] == "json":
        app.before_request(_start_clock)
        app.after_request(_access_line)
