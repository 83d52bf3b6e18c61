"""The app-wide request hooks, run by one Flask hook each way.

Flask calls every hook through ``ensure_sync``, which inspects the function
on each call: the plumbing's five after-request and three before-request
steps cost more in that dispatch than most of them cost to run. Fusing them
keeps their order and meaning (a before step that answers ends the request's
before steps; after steps run last-registered first, as in Flask) and does
the inspection once, when the app is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.wrappers import Response


def fuse_hooks(app: Flask) -> None:
    """Replace the app-wide before- and after-request hooks by one each.
    Call it last: hooks registered later are run by Flask as usual."""
    before = tuple(app.ensure_sync(f) for f in app.before_request_funcs.get(None, ()))
    after = tuple(app.ensure_sync(f) for f in reversed(app.after_request_funcs.get(None, ())))
    if len(before) > 1:
        app.before_request_funcs[None] = [_run_before(before)]
    if len(after) > 1:
        app.after_request_funcs[None] = [_run_after(after)]


def _run_before(steps: tuple[Callable[[], Any], ...]) -> Callable[[], Any]:
    def before_request() -> Any:
        for step in steps:
            answer = step()
            if answer is not None:
                return answer
        return None

    return before_request


def _run_after(steps: tuple[Callable[[Response], Response], ...]) -> Callable[[Response], Response]:
    def after_request(response: Response) -> Response:
        for step in steps:
            response = step(response)
        return response

    return after_request
