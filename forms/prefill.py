"""Fitting a userMetadata value into a field of a given type.

A value that does not fit is not used (the field stays empty) rather than
coerced into something the user never said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

NOT_FIT: Any = object()  # fit() found no value of the field's type
TEXT_LIKE = frozenset({"text", "email", "textarea", "tel", "url", "hidden", "date"})


MAX_SAFE_INTEGER = 2**53 - 1  # what a JSON number carries exactly; bigger ints overflow floats


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    return isinstance(value, float) and math.isfinite(value)


def number_from(value: Any) -> int | float | None:
    """A finite number from a number or a numeric string, else None."""
    if _is_number(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        if number.is_integer() and "." not in text and "e" not in text.lower():
            return int(number) if abs(number) <= MAX_SAFE_INTEGER else None
        return number
    return None


def _option_text(value: Any, option_values: frozenset[str]) -> str | None:
    text = value if isinstance(value, str) else (str(value) if _is_number(value) else None)
    return text if text is not None and text in option_values else None


def fit_many(value: Any, option_values: frozenset[str]) -> Any:
    """A multi-select's value: a tuple of option values (order kept, each once)
    from a list in metadata (or one value), or ``NOT_FIT`` if any is no option."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items or len(items) > len(option_values):
        return NOT_FIT
    chosen: dict[str, None] = {}
    for item in items:
        text = None if isinstance(item, bool) else _option_text(item, option_values)
        if text is None:
            return NOT_FIT
        chosen[text] = None
    return tuple(chosen)


def fit(field_type: str, value: Any, option_values: frozenset[str], multiple: bool = False) -> Any:
    """The value as this field type holds it, or ``NOT_FIT``."""
    if multiple:
        return NOT_FIT if value is None or isinstance(value, Mapping) else fit_many(value, option_values)
    if value is None or isinstance(value, (Mapping, list, tuple)):
        return NOT_FIT
    if field_type == "checkbox":
        return value if isinstance(value, bool) else NOT_FIT
    if isinstance(value, bool):
        return NOT_FIT
    if field_type in ("select", "radio"):
        text = _option_text(value, option_values)
        return NOT_FIT if text is None else text
    if field_type == "number":
        number = number_from(value)
        return NOT_FIT if number is None else number
    if field_type in TEXT_LIKE:
        if isinstance(value, str):
            return value
        if _is_number(value):
            return str(value)
    return NOT_FIT

