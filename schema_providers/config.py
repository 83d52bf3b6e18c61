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

from marshmallow import RAISE, Schema, ValidationError, fields

from forms.errors import SchemaError

from .declarative import DeclaredForm, declared_provider
from .registry import Provider, Registry, _check_name


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
        if "http" in entry:
            raise RuntimeError(f"{where}: HTTP providers are not available yet; declare the fields instead")
        try:
            form = DeclaredForm().load(entry)
            fn = declared_provider(name, form)
        except ValidationError as exc:
            raise RuntimeError(f"{where}: {exc.messages}") from None
        except SchemaError as exc:
            raise RuntimeError(f"{where}: {exc.message}") from None
        added.append(registry.add(name, Provider(name=name, fn=fn, title=form.get("title"), origin=where)))
    return added
