"""The config file (``PREFILL_CONFIG``, YAML or JSON) that declares forms.

Each entry of ``forms:`` becomes a :class:`~schema_providers.registry.Provider`
in the app's registry, beside the Python providers; the engine never knows
which kind it called. A file that does not load, an unknown key, or a schema
error in any variant stops start-up naming the file and the form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from forms.errors import SchemaError

from .declarative import DeclaredForm, declared_provider
from .http import HTTPProvider
from .registry import REQUIRES, Provider, Registry, _check_name


class _HTTP(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(required=True, validate=validate.Regexp(r"^https?://", error="must start with http(s)://"))
    method = fields.String(load_default="GET", validate=validate.OneOf(["GET", "POST"]))
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    timeout = fields.Float(load_default=2.0, validate=validate.Range(min=0.1, max=30))
    cacheTtl = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=86400))


class _HTTPForm(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(allow_none=True)
    http = fields.Nested(_HTTP, required=True)
    allowHosts = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    requires = fields.String(allow_none=True, validate=validate.OneOf([r for r in REQUIRES if r]))


def _http_provider(name: str, where: str, entry: dict[str, Any]) -> Provider:
    form = _HTTPForm().load(entry)
    spec = form["http"]
    allow = frozenset(h.lower() for h in form["allowHosts"])
    host = urlsplit(spec["url"]).hostname or ""
    if "{{" not in spec["url"].split("/")[2] and host.lower() not in allow:
        raise RuntimeError(f"{where}: the URL's host {host!r} is not in allowHosts")
    fn = HTTPProvider(form=name, url=spec["url"], allow_hosts=allow, method=spec["method"],
                      headers=spec["headers"], timeout=spec["timeout"], cache_ttl=spec["cacheTtl"])
    return Provider(name=name, fn=fn, title=form.get("title"), requires=form.get("requires"),
                    origin=f"{where} (HTTP {spec['method']} {spec['url']})")


class _Config(Schema):
    class Meta:
        unknown = RAISE

    forms = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict)


def read(path: str) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"not valid YAML: {exc}") from None
    return json.loads(text)


def load_config_file(registry: Registry, path: str) -> list[Provider]:
    try:
        raw = read(path)
        config = _Config().load(raw if isinstance(raw, dict) else {"forms": raw})
    except (OSError, ValueError, ValidationError) as exc:
        detail = exc.messages if isinstance(exc, ValidationError) else exc
        raise RuntimeError(f"PREFILL_CONFIG {path}: {detail}") from None
    added = []
    for name, entry in config["forms"].items():
        where = f"{path}:forms.{name}"
        _check_name(name)
        try:
            if "http" in entry:
                item = _http_provider(name, where, entry)
            else:
                form = DeclaredForm().load(entry)
                item = Provider(name=name, fn=declared_provider(name, form), title=form.get("title"),
                                requires=form.get("requires"), origin=where)
        except ValidationError as exc:
            raise RuntimeError(f"{where}: {exc.messages}") from None
        except SchemaError as exc:
            raise RuntimeError(f"{where}: {exc.message}") from None
        added.append(registry.add(name, item))
    return added
