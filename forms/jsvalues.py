"""JavaScript's view of JSON values: truthiness, ``==``, ``===``, ``<`` and the
conversions behind them (ECMAScript's ToNumber, ToString, ToPrimitive).

Rules (``forms.rules``) run on the server and in the browser, and a field must be
shown or hidden alike in both. So the server does not use Python's idea of
``"1" == 1`` or ``[] < 1``; it follows the ECMAScript algorithms step by step for
the values JSON can hold (null, booleans, numbers, strings, arrays, objects) and
for ``undefined``, which an operator sees in place of an argument it was not given.
Every function is linear in the size of its arguments.
"""

from __future__ import annotations

import math
import re
from typing import Any


class _Undefined:
    """JavaScript's ``undefined``: what an operator sees for a missing argument."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()

# StrWhiteSpaceChar: what Number(" 1 ") trims (Python's str.strip() trims another set).
_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
              "\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))")


def js_type(value: Any) -> str:
    """``typeof``, with ``"null"`` for null and ``"object"`` for arrays and objects."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _float(number: float) -> float:
    """A JSON number as JavaScript holds it: a double (big integers round, huge ones are infinite)."""
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def to_number(value: Any) -> float:
    kind = js_type(value)
    if kind == "number":
        return _float(value)
    if kind == "boolean":
        return 1.0 if value else 0.0
    if kind == "null":
        return 0.0
    if kind == "undefined":
        return math.nan
    return _string_to_number(to_string(value))  # strings, arrays, objects


def _string_to_number(text: str) -> float:
    text = text.strip(_WHITESPACE)
    if not text:
        return 0.0
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if text[0] == "-" else math.inf
    if _DECIMAL.fullmatch(text):
        return float(text)
    radix = _RADIX.fullmatch(text)
    if radix:  # no sign allowed, as in JavaScript
        hexa, octal, binary = radix.groups()
        return _float(int(hexa, 16) if hexa else int(octal, 8) if octal else int(binary, 2))
    return math.nan


def to_string(value: Any) -> str:
    kind = js_type(value)
    if kind == "string":
        return value
    if kind == "number":
        return _number_to_string(_float(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("null", "undefined"):
        return kind
    if isinstance(value, list):
        return _join(value)
    return "[object Object]"


def _number_to_string(number: float) -> str:
    """Number::toString: the shortest round-trip digits (Python's repr has the same), laid out as JavaScript does."""
    if number != number:
        return "NaN"
    if number in (math.inf, -math.inf):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    raw = whole + fraction
    digits = raw.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(raw) - len(digits))  # digits before the decimal point
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        return sign + digits + "0" * (point - k)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    e = point - 1
    return f"{sign}{digits[0]}{'.' + digits[1:] if k > 1 else ''}e{'+' if e > 0 else '-'}{abs(e)}"


def _join(items: list[Any]) -> str:
    """Array.prototype.join(","), nested arrays included, null as ""; iterative so deep data cannot overflow."""
    parts: list[str] = []
    stack: list[tuple[list[Any], int]] = [(items, 0)]
    while stack:
        current, i = stack.pop()
        if i == len(current):
            continue
        stack.append((current, i + 1))
        if i:
            parts.append(",")
        item = current[i]
        if isinstance(item, list):
            stack.append((item, 0))
        elif item is not None and item is not UNDEFINED:
            parts.append(to_string(item))
    return "".join(parts)


def to_primitive(value: Any) -> Any:
    """Arrays and objects become their strings (their valueOf is themselves); primitives stay."""
    return to_string(value) if js_type(value) == "object" else value


def truthy(value: Any) -> bool:
    """JSON Logic's truthiness: JavaScript's, except that an empty array is false."""
    kind = js_type(value)
    if kind == "number":
        return value == value and value != 0
    if kind == "object":
        return not isinstance(value, list) or len(value) > 0
    return bool(value) if kind in ("boolean", "string") else False


def strict_equal(a: Any, b: Any) -> bool:
    """``a === b``: same type and value; arrays and objects only when they are the same one."""
    kind = js_type(a)
    if kind != js_type(b):
        return False
    if kind == "number":
        return _float(a) == _float(b)
    if kind == "object":
        return a is b
    return a == b


def loose_equal(a: Any, b: Any) -> bool:
    """``a == b``: ECMAScript's IsLooselyEqual, step by step."""
    ka, kb = js_type(a), js_type(b)
    if ka == kb:
        return strict_equal(a, b)
    if {ka, kb} == {"null", "undefined"}:
        return True
    if ka == "number" and kb == "string":
        return _float(a) == _string_to_number(b)
    if ka == "string" and kb == "number":
        return _string_to_number(a) == _float(b)
    if ka == "boolean":
        return loose_equal(to_number(a), b)
    if kb == "boolean":
        return loose_equal(a, to_number(b))
    if ka in ("number", "string") and kb == "object":
        return loose_equal(a, to_primitive(b))
    if ka == "object" and kb in ("number", "string"):
        return loose_equal(to_primitive(a), b)
    return False


def less_than(a: Any, b: Any) -> bool | None:
    """ECMAScript's IsLessThan: ``None`` (undefined) when a NaN is involved, which makes
    ``<``, ``<=``, ``>`` and ``>=`` all false. Strings compare by UTF-16 code units."""
    a, b = to_primitive(a), to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a.encode("utf-16-be", "surrogatepass") < b.encode("utf-16-be", "surrogatepass")
    x, y = to_number(a), to_number(b)
    if x != x or y != y:
        return None
    return x < y
