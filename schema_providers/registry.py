"""Provider registry: ``@provider("name")`` like ``@app.route``.

The decorator only wraps the function in a :class:`Provider`; nothing global
changes at import. Each app owns a :class:`Registry` and collects providers
from modules with :meth:`Registry.load_module`, which calls :meth:`Registry.add`.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from marshmallow import Schema

from forms.errors import UnknownForm

ProviderFn = Callable[[dict[str, str], Any], Any]
log = logging.getLogger("prefill.providers")


REQUIRES = (None, "identified", "verified")
DEFAULT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Provider:
    """A registered schema provider: ``fn(args, user) -> schema``.

    ``args``: a marshmallow schema the request's arguments must load with
    (400 naming the argument, before the provider runs); ``requires``: the
    identity the form is for ("identified" or "verified"; others get 401
    ``identity_required``); ``timeout``: seconds before a 504
    ``provider_timeout`` (a sync provider then runs in a bounded thread pool);
    ``None`` runs it inline, for pure providers that cannot hang.
    """

    name: str
    fn: ProviderFn
    title: str | None = None
    args: Schema | None = None
    requires: str | None = None
    timeout: float | None = None
    origin: str | None = None  # where it was declared, when not a Python function (a config file)

    @property
    def where(self) -> str:
        if self.origin:
            return self.origin
        fn = inspect.unwrap(self.fn)
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"

    def __call__(self, args: dict[str, str], user: Any) -> Any:
        return self.fn(args, user)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a provider needs a non-empty name, got {name!r}")
    if name != name.strip() or "/" in name:
        raise ValueError(f"provider name {name!r} must not contain '/' or surrounding spaces")
    return name


def _check_options(name: str, args: Any, requires: Any, timeout: Any) -> Schema | None:
    if requires not in REQUIRES:
        raise ValueError(f"provider {name!r}: requires must be 'identified' or 'verified', got {requires!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= 60):
        raise ValueError(f"provider {name!r}: timeout must be seconds in (0, 60] or None, got {timeout!r}")
    if isinstance(args, type) and issubclass(args, Schema):
        return args()
    if args is not None and not isinstance(args, Schema):
        raise TypeError(f"provider {name!r}: args must be a marshmallow Schema (class or instance)")
    return args


def provider(name: str, *, title: str | None = None, args: type[Schema] | Schema | None = None,
             requires: str | None = None,
             timeout: float | None = DEFAULT_TIMEOUT_S) -> Callable[[ProviderFn], Provider]:
    """Mark ``fn`` as the schema provider for form ``name`` (see :class:`Provider`)."""
    _check_name(name)
    schema = _check_options(name, args, requires, timeout)

    def decorator(fn: ProviderFn) -> Provider:
        if not callable(fn):
            raise TypeError(f"@provider({name!r}) must decorate a function")
        return Provider(name=name, fn=fn, title=title, args=schema, requires=requires,
                        timeout=None if timeout is None else float(timeout))

    return decorator


class Registry:
    """The providers one app serves, by form name."""

    def __init__(self) -> None:
        self._providers: dict[str, Provider] = {}

    def add(self, name: str, fn: ProviderFn | Provider, *, title: str | None = None) -> Provider:
        """Register ``fn`` under ``name``; a second provider for a name is an error."""
        _check_name(name)
        if isinstance(fn, Provider):
            item = replace(fn, name=name, title=title or fn.title)
        else:
            item = Provider(name=name, fn=fn, title=title)
        existing = self._providers.get(name)
        if existing is not None and existing.fn is not item.fn:
            raise ValueError(
                f"form {name!r} is registered twice: by {existing.where} and by {item.where}"
            )
        self._providers[name] = item
        return item

    def load_module(self, module: str | ModuleType, *, fallback: bool = False) -> list[Provider]:
        """Import ``module`` and register every :class:`Provider` defined in it.

        With ``fallback`` (the built-in demo forms), a name already registered
        keeps its provider: an author's ``support_ticket`` replaces the demo's.
        """
        if isinstance(module, str):
            try:
                module = importlib.import_module(module)
            except Exception as exc:
                raise RuntimeError(
                    f"could not import provider module {module!r}: {type(exc).__name__}: {exc}"
                ) from exc
        found = []
        for value in vars(module).values():
            if not isinstance(value, Provider) or value in found:
                continue
            if fallback and value.name in self._providers:
                log.info("form %r: %s replaces the built-in demo form", value.name, self._providers[value.name].where)
                continue
            found.append(self.add(value.name, value))
        return found

    def get(self, name: str) -> Provider:
        try:
            return self._providers[name]
        except KeyError:
            raise UnknownForm(name, list(self._providers)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    def __len__(self) -> int:
        return len(self._providers)
