"""The delivery worker: claim due outbox rows, POST them, record the outcome.

2xx delivered; network errors, timeouts, 408, 429 and 5xx retry with
exponential backoff and jitter; other 4xx and 3xx (never followed) fail for
good; after ``max_attempts`` the delivery is marked failed. Every attempt is
signed afresh (its own ``webhook-timestamp``) under the delivery's one ``webhook-id``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from store.outbox import Claimed, Outbox

from .signing import Signer

log = logging.getLogger("prefill.webhooks")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx surfaces as HTTPError: a permanent failure


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Worker:
    outbox: Outbox
    url: str
    secret: str
    retry_base_s: float = 2.0
    max_attempts: int = 8
    timeout_s: float = 10.0
    batch: int = 10
    clock: Callable[[], float] = time.time  # each attempt's webhook-timestamp
    signer: Signer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.signer = Signer(self.secret)

    @classmethod
    def from_app(cls, app: Any) -> Worker:
        cfg = app.config
        if not cfg["WEBHOOK_URL"]:
            raise RuntimeError("WEBHOOK_URL is not set: there is nothing to deliver to.")
        return cls(
            outbox=Outbox(app.extensions["prefill"].db), url=cfg["WEBHOOK_URL"],
            secret=cfg["WEBHOOK_SECRET"], retry_base_s=cfg["WEBHOOK_RETRY_BASE_S"],
            max_attempts=cfg["WEBHOOK_MAX_ATTEMPTS"], timeout_s=cfg["WEBHOOK_TIMEOUT_S"],
        )

    def backoff_ms(self, attempts: int) -> int:
        """About ``base * 2**(n-1)``, with ±50% jitter so retries do not stampede."""
        return int(self.retry_base_s * (2 ** (attempts - 1)) * random.uniform(0.5, 1.5) * 1000)

    def post(self, item: Claimed) -> tuple[str, str | None]:
        """('delivered' | 'retry' | 'failed', error)."""
        body = item.payload.encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "Prefill-Webhooks/1",
            **self.signer.headers(item.id, body, int(self.clock())),
        })
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return "retry", f"network error: {type(reason).__name__}: {reason}"
        if 200 <= status < 300:
            return "delivered", None
        if status in (408, 429) or status >= 500:
            return "retry", f"HTTP {status}"
        return "failed", f"HTTP {status} (permanent)"

    def handle(self, item: Claimed) -> str:
        if not self.outbox.still_due(item):
            log.info("delivery %s skipped: it was erased after it was claimed", item.id)
            return "erased"
        outcome, error = self.post(item)
        if outcome == "delivered":
            self.outbox.delivered(item)
        elif outcome == "retry" and item.attempts < self.max_attempts:
            self.outbox.retry(item, error or "", self.backoff_ms(item.attempts))
        else:
            if outcome == "retry":
                error = f"gave up after {item.attempts} attempts; last: {error}"
                outcome = "failed"
            self.outbox.failed(item, error or "")
        log.info("delivery %s attempt %d: %s %s", item.id, item.attempts, outcome, error or "")
        return outcome

    def run_once(self) -> int:
        items = self.outbox.claim(self.batch, lease_ms=int((self.timeout_s + 30) * 1000))
        for item in items:
            self.handle(item)
        return len(items)

    def run_forever(self, stop: threading.Event | None = None, idle_s: float = 0.5) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("webhook worker pass failed; retrying")
                busy = 0
            if not busy:
                stop.wait(idle_s)
