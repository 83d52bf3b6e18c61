"""Which metadata keys are sensitive, and scrubbing them out.

Sensitive values may reach providers (server code) but never anything a
browser sees. The matcher is built once per app from config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

DEFAULT_PATTERNS: tuple[str, ...] = (
    "token", "secret", "password", "apikey", "api_key", "accesstoken",
    "access_token", "refreshtoken", "refresh_token", "auth", "credential",
    "private",
)


class SensitiveKeys:
    """Decides whether a key name is sensitive (case-insensitive substring)."""

    def __init__(self, extra: Iterable[str] = (), allow: Iterable[str] = ()) -> None:
        self.patterns = tuple(DEFAULT_PATTERNS) + tuple(
            p.strip().lower() for p in extra if p.strip()
        )
        self.allow = frozenset(a.strip().lower() for a in allow if a.strip())
        self._cached = lru_cache(maxsize=4096)(self._is_sensitive)

    def is_sensitive(self, key: str) -> bool:
        # Memoised for ordinary key names only: the cache stays small in bytes.
        return self._cached(key) if len(key) <= 128 else self._is_sensitive(key)

    def _is_sensitive(self, key: str) -> bool:
        low = key.lower()
        if low in self.allow:
            return False
        return any(p in low for p in self.patterns)

    def scrub(self, value: Any) -> Any:
        """Return a copy of ``value`` with every sensitive key removed, at any depth."""
        if isinstance(value, Mapping):
            return {
                k: self.scrub(v) for k, v in value.items() if not self.is_sensitive(str(k))
            }
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value

    def secret_values(self, *sources: Any) -> frozenset[str]:
        """Every string/number held under a sensitive key, at any depth. An
        explicit stack, not a recursive closure: that is a reference cycle per
        call, left for the garbage collector (see web.plumbing.collector)."""
        found: set[str] = set()
        stack: list[tuple[Any, bool]] = [(src, False) for src in sources]
        while stack:
            value, under_secret = stack.pop()
            if isinstance(value, Mapping):
                stack.extend((v, under_secret or self.is_sensitive(str(k))) for k, v in value.items())
            elif isinstance(value, (list, tuple)):
                stack.extend((v, under_secret) for v in value)
            elif under_secret and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                text = str(value)
                if len(text) >= 4:  # a 1-3 char "secret" would blank ordinary words
                    found.add(text)
        return frozenset(found)


REDACTED = "[redacted]"


def redact(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every secret value replaced, longest first (for log lines)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def contains_secret(text: str, secrets: frozenset[str]) -> bool:
    """True when ``text`` carries any of ``secrets`` (the second line of defence)."""
    return any(s in text for s in secrets)
