"""A 500-field form for the memory benchmark (bench/memory.py)."""

from __future__ import annotations

from typing import Any

from schema_providers import provider


@provider("big_form", title="Five hundred fields")
def big_form(args: dict[str, str], user: Any) -> dict[str, Any]:
    fields = [{"name": "email", "type": "email", "lockKnown": True}]
    for i in range(499):
        if i % 5 == 0:
            fields.append({"name": f"choice_{i}", "type": "select", "label": f"Choice {i}",
                           "options": [{"label": f"Option {j}", "value": f"o{j}"} for j in range(6)]})
        else:
            fields.append({"name": f"field_{i}", "label": f"Field number {i}", "help": "Some help text here."})
    return {"fields": fields}
