"""Rate limits on the identity and submission endpoints (Flask-Limiter).

The identity endpoints share one budget, the submission endpoints another;
each is counted twice: per client address and per session (the token's
hash), so neither many sessions from one address nor one session from many
addresses gets past it. Storage is ``memory://`` by default (one
process) and Redis (``RATELIMIT_STORAGE_URI=redis://…``) for several workers
or instances, which then share one count.
"""

from __future__ import annotations

import time
from functools import partial

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from forms.errors import RateLimited
from store.tokens import hash_token
from web.identity.session import request_token

# endpoint -> the setting that holds its limit ("30/minute;300/hour")
LIMITED = {
    "api.new_session": "RATELIMIT_IDENTITY",
    "api.identify": "RATELIMIT_IDENTITY",
    "api.user": "RATELIMIT_IDENTITY",
    "api.session_metadata": "RATELIMIT_IDENTITY",
    "api.update": "RATELIMIT_IDENTITY",
    "api.reset": "RATELIMIT_IDENTITY",
    "widget.embed_session": "RATELIMIT_IDENTITY",
    "api.create_submission": "RATELIMIT_SUBMIT",
    "adhoc.create_adhoc_submission": "RATELIMIT_SUBMIT",
    "widget.adhoc_submit": "RATELIMIT_SUBMIT",
    "html.submit": "RATELIMIT_SUBMIT",
    "uploads.upload": "RATELIMIT_UPLOAD",
}


def client_address() -> str:
    """The client's address (behind a proxy, set ``TRUSTED_PROXIES``)."""
    return "ip:" + (request.remote_addr or "unknown")


def session_key() -> str:
    token = request_token()[0]
    return "session:" + hash_token(token) if token else "session:none"


def _no_session() -> bool:
    return request_token()[0] is None


def init_limits(app: Flask) -> Limiter:
    """A limiter of this app's own (tests build many apps) over ``LIMITED``."""
    cfg = app.config
    limiter = Limiter(client_address, app=app, storage_uri=cfg["RATELIMIT_STORAGE_URI"],
                      strategy="moving-window", headers_enabled=False, swallow_errors=True,
                      key_prefix=cfg["RATELIMIT_KEY_PREFIX"])
    _detach_global_hooks(app, limiter)
    if not cfg["RATELIMIT_ENABLED"]:
        return limiter  # off means off: a disabled limiter still walked its limits in every limited view
    for endpoint, setting in LIMITED.items():
        def value(setting: str = setting) -> str:
            return current_app.config[setting]

        # Shared: all identity endpoints draw on one budget (likewise submissions).
        view = app.view_functions[endpoint]
        view = limiter.shared_limit(value, scope=f"{setting}:ip", key_func=client_address)(view)
        view = limiter.shared_limit(value, scope=f"{setting}:session", key_func=session_key,
                                    exempt_when=_no_session)(view)
        app.view_functions[endpoint] = view
    return limiter


def _detach_global_hooks(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter also hooks every request (for app-wide default limits and
    rate-limit headers, neither of which Prefill uses): ~0.12 ms a request, on
    form views too. The decorated views check their own limits, so the hooks go."""
    for funcs in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        funcs[None] = [f for f in funcs.get(None, [])
                       if getattr(f, "__self__", None) is not limiter
                       and not (isinstance(f, partial) and f.args and f.args[0] is limiter)]


def rate_limited(err: RateLimitExceeded, limiter: Limiter) -> RateLimited:
    """Our 429, with the seconds until the window lets the client in again."""
    current = limiter.current_limit
    wait = current.reset_at - time.time() if current else err.limit.limit.get_expiry()
    return RateLimited(retry_after=int(wait + 0.999))
