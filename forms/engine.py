"""The engine: provider call -> validated schema -> resolved form, memoised.

Pure: it takes an :class:`Identity` the store built and returns an immutable
:class:`ResolvedForm`. Validation runs once per distinct provider output and
resolution once per (output, identity) — "nothing re-built that did not change".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
import marshal
import threading
import traceback
from collections.abc import Mapping
from dataclasses import replace
from sys import getsizeof
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError

from .errors import (
    IdentityRequired,
    InvalidArguments,
    InvalidClientSchema,
    PrefillError,
    ProviderFailed,
    ProviderTimeout,
    SchemaError,
)
from .identity import Identity, freeze
from .lru import LRU, text_bytes
from .resolve import ResolvedForm, resolve
from .schema import ADHOC_MAX_FIELDS, load_schema
from .sensitive import SensitiveKeys, redact
from .shape import refill, split
from .spec import FileCaps, FormSchema

if TYPE_CHECKING:
    from schema_providers.registry import Provider, Registry

log = logging.getLogger("prefill.engine")


def _json_text(provider: str, raw: Any) -> str:
    """The output as JSON; a SchemaError for anything JSON cannot hold."""
    try:
        return json.dumps(raw, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise SchemaError(
            provider, {"schema": ["must contain only JSON values (str, number, bool, null, list, dict)."]}
        ) from None


def _fingerprint(provider: str, raw: Any) -> bytes | str:
    """A provider's output as a cache key, made on every request.

    marshal writes it in C at a quarter of json's cost. Equal bytes read back
    to equal values, so no two different outputs share a key (``1``, ``1.0``
    and ``True``, ``0.0`` and ``-0.0`` stay apart); equal outputs may differ
    only in how their strings were interned, which costs a cache miss, never a
    wrong hit. Format 2 writes no back-references, which would depend on
    object identity. What marshal cannot write (a dict subclass) keys by its
    JSON text, a str, never equal to bytes. Whether the output is JSON at all
    is checked once per new key (:meth:`Engine._load`).
    """
    try:
        return marshal.dumps(raw, 2)
    except ValueError:
        return _json_text(provider, raw)


def schema_bytes(key: tuple[str, str], _schema: FormSchema) -> int:
    """A validated schema holds at most ~8.3x its JSON text (measured on forms of
    1 to 500 fields; tests check it), plus the key that holds the text itself."""
    return 10 * len(key[1]) + getsizeof(key[1]) + 2048


def shape_bytes(key: tuple[str, str], value: tuple[FormSchema, tuple[Any, ...]]) -> int:
    """As :func:`schema_bytes`, and the texts the schema was validated with."""
    return schema_bytes(key, value[0]) + text_bytes(value[1]) + 64 * len(value[1])


def resolved_bytes(key: tuple[Any, ...], form: ResolvedForm) -> int:
    """The form's own weight and the texts its key keeps alive (the fingerprint
    and the identity's stored JSON), counted even when other caches share them."""
    return form.weight + 200 + text_bytes(key)


class Engine:
    def __init__(self, registry: Registry, sensitive: SensitiveKeys, cache_size: int = 4096,
                 cache_bytes: int = 16 << 20, provider_threads: int = 16, file_caps: FileCaps | None = None) -> None:
        self.registry = registry
        self.file_caps = file_caps  # the operator's upload limits, folded into file fields' own
        self.sensitive = sensitive
        self._schemas: LRU[tuple[str, str], FormSchema] = LRU(cache_size, cache_bytes * 3 // 8, schema_bytes)
        self._shapes: LRU[tuple[str, str], tuple[FormSchema, tuple[Any, ...]]] = LRU(
            cache_size, cache_bytes // 8, shape_bytes)
        self._resolved: LRU[tuple[Any, ...], ResolvedForm] = LRU(cache_size, cache_bytes // 2, resolved_bytes)
        self.provider_threads = provider_threads
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None  # made at the first timed call
        self._executor_lock = threading.Lock()

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = concurrent.futures.ThreadPoolExecutor(self.provider_threads, "provider")
        return self._executor

    def forget_identities(self) -> None:
        """Drop memoised resolutions (validated schemas stay): benchmarks use it."""
        self._resolved.clear()

    def call_provider(self, provider: Provider, args: Mapping[str, Any], identity: Identity) -> Any:
        """The provider's output. With a ``timeout``, a sync provider runs in a
        bounded thread pool (a hung one holds a pool thread, never the request:
        504), an async one under ``asyncio.wait_for``; without, it runs inline."""
        limit = provider.timeout
        try:
            if limit is None:
                out = provider.fn(dict(args), identity)
            else:
                out = self._pool().submit(provider.fn, dict(args), identity).result(limit)
            if inspect.isawaitable(out):
                out = asyncio.run(_await(out) if limit is None else asyncio.wait_for(_await(out), limit))
        except (TimeoutError, concurrent.futures.TimeoutError):
            log.error("provider %r did not answer within %g s", provider.name, limit)
            raise ProviderTimeout(provider.name, limit) from None
        except PrefillError:
            raise  # a provider's own clear answer (an HTTP provider's 502/504)
        except Exception:
            # The exception's text may quote the user's metadata: log it without secrets.
            secrets = self.sensitive.secret_values(identity.metadata, identity.session_metadata)
            log.error("provider %r raised:\n%s", provider.name, redact(traceback.format_exc(), secrets))
            raise ProviderFailed(provider.name) from None
        return out

    def schema_for(self, name: str, raw: Any) -> tuple[bytes | str, FormSchema]:
        fp = _fingerprint(name, raw)
        return fp, self._schemas.get_or_make((name, fp), lambda: self._load(name, raw))

    def _load(self, name: str, raw: Any) -> FormSchema:
        """A new output: validated whole once per shape; after that only its
        texts change (see :mod:`forms.shape`)."""
        _json_text(name, raw)  # marshal also writes what JSON cannot hold (NaN, sets): refused here
        parts = split(raw)
        if parts is None:
            return load_schema(name, raw, self.file_caps)
        shape, texts = parts
        found = self._shapes.get((name, shape))
        if found is not None:
            return refill(found[0], found[1], texts)
        schema = load_schema(name, raw, self.file_caps)
        self._shapes.put((name, shape), (schema, texts))
        return schema

    def check_access(self, provider: Provider, args: Mapping[str, str], identity: Identity) -> Mapping[str, Any]:
        """401 when the form needs a (verified) user; the loaded args, or 400
        naming the argument — before the provider runs."""
        if provider.requires == "verified" and not identity.is_verified:
            raise IdentityRequired("verified")
        if provider.requires == "identified" and not identity.is_identified:
            raise IdentityRequired("identified")
        if provider.args is None:
            return args
        try:
            return provider.args.load(dict(args))
        except ValidationError as exc:
            fields = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in exc.messages.items()}
            raise InvalidArguments(provider.name, fields) from None

    def resolve(self, name: str, args: Mapping[str, str], identity: Identity) -> ResolvedForm:
        """Resolve form ``name`` for ``identity``; raises the engine's errors."""
        return self.resolve_with_schema(name, args, identity)[1]

    def resolve_with_schema(self, name: str, args: Mapping[str, str],
                            identity: Identity) -> tuple[FormSchema, ResolvedForm]:
        """The provider's validated schema and the form resolved from it (for explaining)."""
        provider = self.registry.get(name)
        args = self.check_access(provider, args, identity)
        raw = self.call_provider(provider, args, identity)
        fp, schema = self.schema_for(name, raw)
        title = provider.title
        uses_visitor = schema.memo.get("uses_visitor")
        if uses_visitor is None:
            uses_visitor = schema.memo["uses_visitor"] = (b"visitorId" if isinstance(fp, bytes) else "visitorId") in fp
        ikey = identity.cache_key if uses_visitor else (identity.content_key or identity.cache_key)
        supplied = tuple(str(v) for v in args.values()) if args else ()
        if ikey is None:
            return schema, resolve(name, schema, identity, self.sensitive, title, supplied=supplied)
        key = (name, fp, ikey, supplied)  # the sweep depends on what the caller sent
        return schema, self._resolved.get_or_make(
            key, lambda: resolve(name, schema, identity, self.sensitive, title, key=key, supplied=supplied))


def without_secrets(identity: Identity, sensitive: SensitiveKeys) -> Identity:
    """``identity`` with every sensitive key, and so every secret value, removed
    at any depth. Its cache keys go: they name the data that was removed."""
    return replace(identity, metadata=freeze(sensitive.scrub(identity.metadata)),
                   trusted=freeze(sensitive.scrub(identity.trusted)),
                   session_metadata=freeze(sensitive.scrub(identity.session_metadata)),
                   cache_key=None, content_key=None)


def resolve_adhoc(raw: Any, identity: Identity, sensitive: SensitiveKeys,
                  file_caps: FileCaps | None = None) -> ResolvedForm:
    """A schema the caller wrote (the widget's ad-hoc form), resolved by the same
    rules as a provider's. Its problems are the caller's: 400, not 500. It is not
    memoised: callers choose it, and must not crowd providers out of the caches.

    It is resolved for the identity without its secrets: the sweep that blanks a
    provider's string carrying a secret would tell a client which of the strings
    it wrote was one (10,000 options, one blanked). Here there is nothing to blank."""
    if isinstance(raw, dict) and isinstance(raw.get("fields"), list) and len(raw["fields"]) > ADHOC_MAX_FIELDS:
        raise InvalidClientSchema({"fields": [f"at most {ADHOC_MAX_FIELDS} fields."]})
    try:
        _json_text("adhoc", raw)
        schema = load_schema("adhoc", raw, file_caps)
    except SchemaError as exc:
        raise InvalidClientSchema(exc.problems) from None
    return resolve("adhoc", schema, without_secrets(identity, sensitive), sensitive, "Form")


async def _await(awaitable: Any) -> Any:
    return await awaitable
