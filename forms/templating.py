"""``{{userId}}``-style placeholders in provider strings.

Values come from the *sanitized* identity and are inserted once: a value that
itself contains ``{{ … }}`` appears literally. Escaping for HTML is the
renderer's job (Jinja autoescape), so this module returns plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")
_ROOTS = frozenset({"userId", "visitorId", "userMetadata", "sessionMetadata"})


def _lookup(context: Mapping[str, Any], path: str) -> str | None:
    """The text for ``path``, '' for missing/object/array, None for a foreign root."""
    root, *rest = path.split(".")
    if root not in _ROOTS:
        return None
    value: Any = context.get(root)
    for part in rest:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part)
    if value is None or isinstance(value, (Mapping, list, tuple)):  # tuples: a frozen identity's lists
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(text: str, context: Mapping[str, Any], quote: Callable[[str], str] | None = None) -> str:
    """Replace known placeholders in one pass; leave unknown roots as written.
    ``quote`` transforms each inserted value (an HTTP provider's URL encoding)."""
    if "{{" not in text:
        return text

    def sub(match: re.Match[str]) -> str:
        found = _lookup(context, match.group(1))
        if found is None:
            return match.group(0)
        return quote(found) if quote is not None else found

    return _PLACEHOLDER.sub(sub, text)
