"""Who is filling in the form: the immutable identity the engine works from.

Built by the store from one database row; providers see it as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})


def freeze(value: Any) -> Any:
    """Deep read-only copy: dicts become mappingproxies, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def language_of(metadata: Mapping[str, Any]) -> str | None:
    """The primary language subtag of ``locale`` or ``language`` ("de-AT" -> "de")."""
    for key in ("locale", "language"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value.replace("_", "-").split("-", 1)[0].lower()[:8] or None
    return None


def merged_metadata(claimed: Mapping[str, Any], trusted: Mapping[str, Any]) -> dict[str, Any]:
    """Claims with trusted values winning on conflicts."""
    out = dict(claimed)
    out.update(trusted)
    return out


@dataclass(frozen=True, slots=True)
class Identity:
    """What providers receive as ``user``.

    ``metadata`` is the raw userMetadata (sensitive keys included: providers run
    on the server); ``trusted`` holds only attributes that arrived signed or were
    set by the integrator's backend. ``cache_key`` identifies everything here, so
    equal keys resolve to equal forms.
    """

    user_id: str | None = None
    visitor_id: str | None = None
    verified: bool = False
    metadata: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    trusted: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    session_metadata: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    cache_key: Any = field(default=None, compare=False)
    # The same without the visitorId: forms that do not template {{visitorId}}
    # resolve alike for every visitor with the same data (all anonymous ones).
    content_key: Any = field(default=None, compare=False)
    # The reader's language ("de"): from userMetadata.locale/language, then the
    # session metadata's; the web layer adds Accept-Language (``with_locale``).
    locale: str | None = None
    # with_locale's answers: one request after another reads the same identity
    # in the same language, and the copy would be made again each time.
    _readings: dict[str, Identity] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        *,
        user_id: str | None = None,
        visitor_id: str | None = None,
        verified: bool = False,
        claimed: Mapping[str, Any] | None = None,
        trusted: Mapping[str, Any] | None = None,
        session_metadata: Mapping[str, Any] | None = None,
        cache_key: Any = None,
        content_key: Any = None,
    ) -> Identity:
        trusted = trusted or {}
        metadata = merged_metadata(claimed or {}, trusted)
        return cls(
            user_id=user_id,
            visitor_id=visitor_id,
            verified=verified,
            metadata=freeze(metadata),
            trusted=freeze(trusted),
            session_metadata=freeze(session_metadata or {}),
            cache_key=cache_key,
            content_key=content_key,
            locale=language_of(metadata) or language_of(session_metadata or {}),
        )

    def with_locale(self, locale: str) -> Identity:
        """The same identity read in ``locale``: its cache keys say so, since a
        provider may localise its labels by ``user.locale``."""
        found = self._readings.get(locale)
        if found is None:
            found = replace(self, locale=locale,
                            cache_key=None if self.cache_key is None else (self.cache_key, locale),
                            content_key=None if self.content_key is None else (self.content_key, locale))
            if len(self._readings) < 8:  # bounded: a handful of languages
                self._readings[locale] = found
        return found

    @property
    def is_identified(self) -> bool:
        return self.user_id is not None

    @property
    def is_verified(self) -> bool:
        return self.verified and self.user_id is not None


def identity_from(data: Mapping[str, Any]) -> Identity:
    """The author tools' identity file, ``{userId, userMetadata, trusted,
    sessionMetadata, verified?}``, as the engine sees it. With a userId it is
    verified unless ``"verified": false``."""
    user_id = data.get("userId")
    return Identity.build(user_id=user_id, visitor_id=data.get("visitorId", "v_preview"),
                          verified=bool(data.get("verified", user_id is not None)),
                          claimed=data.get("userMetadata") or {}, trusted=data.get("trusted") or {},
                          session_metadata=data.get("sessionMetadata") or {})


ANONYMOUS = Identity(cache_key=("anonymous",), content_key=("anonymous",))
