"""Rate limits (Flask-Limiter): per session first, with a higher ceiling per address.

Each group of endpoints shares one budget (the identity calls one, the
submissions another, the ad-hoc resolutions a third), counted twice: per
session (the token's hash) at ``RATELIMIT_<GROUP>``, and per client address
at the much higher
``RATELIMIT_<GROUP>_ADDRESS`` (by default ten times the other). An office
behind one NAT is many sessions, each with its own budget; the ceiling still
stops one address that floods with fresh sessions, and is the only limit of a
request that has no session yet. Failed admin keys have a
budget per address of their own (``RATELIMIT_ADMIN_FAILURES``), which only
failures spend. Storage is ``memory://`` by default (one process) and Redis
(``RATELIMIT_STORAGE_URI=redis://…``) for several workers or instances, which
then share one count.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache, partial

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import RateLimitItem, parse_many

from forms.errors import RateLimited
from store.tokens import hash_token
from web.identity.session import request_token
from web.state import state

log = logging.getLogger("prefill.limits")

# endpoint -> the setting that holds its per-session limit ("30/minute;300/hour");
# the per-address ceiling is the setting + "_ADDRESS".
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
    "adhoc.resolve_form": "RATELIMIT_ADHOC",
    "widget.adhoc_render": "RATELIMIT_ADHOC",
}
CEILING_FACTOR = 10  # an address's budget, unless set: this many sessions' worth


@lru_cache(maxsize=64)
def times(limit: str, factor: int) -> str:
    """``limit`` with every amount multiplied: "30/minute;300/hour" x 10."""
    return ";".join(f"{item.amount * factor} per {item.multiples} {item.GRANULARITY.name}"
                    for item in parse_many(limit))


def ceiling(setting: str) -> str:
    """The per-address limit of ``setting``'s group."""
    cfg = current_app.config
    return cfg.get(setting + "_ADDRESS") or times(cfg[setting], CEILING_FACTOR)


def client_address() -> str:
    """The client's address (behind a proxy, set ``TRUSTED_PROXIES``)."""
    return "ip:" + (request.remote_addr or "unknown")


class ClientAddress:
    """:func:`client_address`, as the per-address limits' key. Without
    ``TRUSTED_PROXIES``, every client behind a proxy has the
    proxy's address and shares its budget: a request carrying
    ``X-Forwarded-For`` says so in the log, once per app, naming the address
    everyone counts as (never the header's value)."""

    def __init__(self, trusted_proxies: int) -> None:
        self.watching = not trusted_proxies
        self._lock = threading.Lock()

    def __call__(self) -> str:
        if self.watching and "HTTP_X_FORWARDED_FOR" in request.environ:
            self._warn(request.remote_addr or "unknown")
        return client_address()

    def _warn(self, address: str) -> None:
        with self._lock:
            if not self.watching:
                return
            self.watching = False
        log.warning(
            "Requests carry X-Forwarded-For but TRUSTED_PROXIES is unset: every client behind that proxy counts "
            "as %s and they share one address's rate limits. Set TRUSTED_PROXIES to the number of proxies in "
            "front of Prefill (if no proxy is, a client sent the header itself: nothing to do).", address)


def session_or_address(address: ClientAddress) -> str:
    """The per-session limits' key: the session token's hash, else the address."""
    token = request_token()[0]
    return "session:" + hash_token(token) if token else address()


def no_session() -> bool:
    """A request that has no session yet (a visitor's first call, which makes
    one) has no session budget to spend: only its address's ceiling counts, or
    a whole office, or a site behind an unconfigured balancer, would share one
    visitor's budget for new sessions."""
    return not request_token()[0]


def init_limits(app: Flask) -> Limiter:
    """A limiter of this app's own (tests build many apps) over ``LIMITED``."""
    cfg = app.config
    address = ClientAddress(cfg["TRUSTED_PROXIES"])
    limiter = Limiter(address, app=app, storage_uri=cfg["RATELIMIT_STORAGE_URI"],
                      strategy="moving-window", headers_enabled=False, swallow_errors=True,
                      key_prefix=cfg["RATELIMIT_KEY_PREFIX"])
    _detach_global_hooks(app, limiter)
    if not cfg["RATELIMIT_ENABLED"]:
        return limiter  # off means off: a disabled limiter still walked its limits in every limited view
    by_session = partial(session_or_address, address)
    for endpoint, setting in LIMITED.items():
        def per_session(setting: str = setting) -> str:
            return current_app.config[setting]

        # Shared: all endpoints of a group draw on one budget.
        view = app.view_functions[endpoint]
        view = limiter.shared_limit(partial(ceiling, setting), scope=f"{setting}:ip", key_func=address)(view)
        view = limiter.shared_limit(per_session, scope=f"{setting}:session", key_func=by_session,
                                    exempt_when=no_session)(view)
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


# -- budgets that only failures spend ---------------------------------------------------
def _failure_items(setting: str) -> list[tuple[RateLimitItem, tuple[str, ...]]] | None:
    cfg = current_app.config
    limiter = state().limiter
    if not cfg["RATELIMIT_ENABLED"] or limiter is None:
        return None
    key = (cfg["RATELIMIT_KEY_PREFIX"], f"{setting}:ip", client_address())
    return [(item, key) for item in parse_many(cfg[setting])]


def check_failures(setting: str) -> None:
    """429 while this address is over ``setting``'s failure budget. Called before
    the attempt is judged: a guess sent meanwhile is never tried."""
    items = _failure_items(setting)
    if not items:
        return
    strategy = state().limiter.limiter  # type: ignore[union-attr]
    try:
        full = [(item, key) for item, key in items if not strategy.test(item, *key)]
        if full:
            reset = max(strategy.get_window_stats(item, *key).reset_time for item, key in full)
            raise RateLimited(retry_after=max(1, int(reset - time.time() + 0.999)))
    except RateLimited:
        raise
    except Exception:  # the limit store is down: serve, as the other limits do
        log.exception("rate limit store unreachable (%s)", setting)


def count_failure(setting: str) -> None:
    """Spend one of this address's failures under ``setting``."""
    items = _failure_items(setting)
    if not items:
        return
    strategy = state().limiter.limiter  # type: ignore[union-attr]
    try:
        for item, key in items:
            strategy.hit(item, *key)
    except Exception:
        log.exception("rate limit store unreachable (%s)", setting)
