"""The hand-written app behind Prefill's paths, for ``gunicorn_bench.py --aa``:
with it on both sides, a run measures two identical apps, and its ratios and
slowest answers show how far this machine's noise alone moves them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bench.baseline_wsgi import create as create_baseline

PATHS = {
    "/healthz": "/form",
    "/forms/support_ticket": "/form",
    "/api/forms/support_ticket": "/json-fixed",
    "/api/forms/support_ticket/submissions": "/submit",
    "/forms/conditional_ticket": "/cond-form",
    "/api/forms/conditional_ticket/submissions": "/cond-submit",
}


def create(url: str | None = None) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    app = create_baseline(url)

    def same_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["PATH_INFO"] = PATHS.get(environ["PATH_INFO"], environ["PATH_INFO"])
        return app(environ, start_response)

    return same_app
