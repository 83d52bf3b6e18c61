"""Patterns that browsers and the server read alike.

Browsers compile an input's ``pattern`` with the ``v`` flag, under which some
characters must be escaped inside a character class and a few outside; a
pattern that breaks this is dropped by the browser without a word (the server
still enforces it, so users only learn of the rule after posting). Linear: one
pass over the pattern.
"""

from __future__ import annotations

import re

# Inside a class the v flag reserves these unescaped: ( ) [ ] { } / - \ | (a
# '-' only as a range a-z), and doubled punctuators such as && !! ## ...
_CLASS_SYNTAX = set("()[{}/|")
_DOUBLES = set("&!#$%*+,.:;<=>?@^`~")
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")
_V = " (browsers compile patterns with the v flag)"


def _class_problem(pattern: str, i: int) -> tuple[str | None, int]:
    """Check the class opening at ``pattern[i] == '['``; (problem, index after it)."""
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        return "']' at the start of a character class must be escaped as \\]" + _V, i
    prev = None  # None at the start, "atom" after a character, "range" after a-z
    while i < n:
        c = pattern[i]
        if c == "]":
            return None, i + 1
        if c == "\\":
            prev, i = "atom", i + 2
            continue
        if c == "-":
            nxt = pattern[i + 1] if i + 1 < n else "]"
            if prev != "atom" or nxt in "]-":
                return "a literal '-' inside a character class must be escaped as \\-" + _V, i
            i += 3 if nxt == "\\" else 2  # the range's end
            prev = "range"
            continue
        if c in _CLASS_SYNTAX:
            return f"{c!r} inside a character class must be escaped as \\{c}" + _V, i
        if c in _DOUBLES and i + 1 < n and pattern[i + 1] == c:
            meaning = "means set intersection" if c == "&" else "is reserved"
            return f"{c * 2!r} inside a character class {meaning}: escape one" + _V, i
        prev, i = "atom", i + 1
    return "a character class is not closed", i


def browser_problem(pattern: str) -> str | None:
    """Why a browser would reject ``pattern`` under the ``v`` flag, or None."""
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
        elif c == "[":
            problem, i = _class_problem(pattern, i)
            if problem:
                return problem
        elif c == "{":
            match = _QUANTIFIER.match(pattern, i)
            if not match:
                return "a literal '{' must be escaped as \\{" + _V
            i = match.end()
        elif c in "}]":
            return f"a literal {c!r} must be escaped as \\{c}" + _V
        elif pattern.startswith("(?P", i):
            return "named groups are written (?<name>…) in browsers, not (?P<name>…)"
        else:
            i += 1
    return None
