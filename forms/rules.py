"""Rules for conditional fields: a JSON Logic (jsonlogic.com) interpreter over a
form's answers.

A field's ``visibleIf`` and ``requiredIf`` and an option's ``visibleIf`` are
rules such as ``{"==": [{"var": "category"}, "billing"]}``. Like json-logic-js's
``logic.js`` there is one table of operations and one ``apply`` that recurses;
the browser's copy, ``static/rules.js``, has the same shape, and both are held to
json-logic-js's answers by ``tests/data/rules_corpus.json``, so a field is shown
or hidden alike on both sides (JavaScript's ``==`` and ``<`` included: see
``forms.jsvalues``).

Answers are ``{field: value}``; a multi-select's value is its list, an
unanswered field is null. ``var`` takes dotted paths into objects and array
indexes (``tags.0``), own keys only. A rule is author-written: ``check_rule``
refuses what is outside the subset and anything deeper than ``MAX_DEPTH`` or
larger than ``MAX_NODES``, so evaluating it is bounded and linear in its size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .jsvalues import UNDEFINED, less_than, loose_equal, strict_equal, to_string, truthy

__all__ = ["MAX_DEPTH", "MAX_NODES", "OPERATIONS", "RuleError", "apply", "check_rule", "find_cycle", "truthy",
           "variables"]

MAX_DEPTH = 32  # levels of operators and arrays below the top of a rule
MAX_NODES = 1000  # operators, literals and arrays in one rule
_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")


class RuleError(ValueError):
    """A rule ``apply`` cannot evaluate: run ``check_rule`` on author input first."""


@dataclass(frozen=True)
class Special:
    """An operation given its arguments unevaluated, with the data: ``if``, ``and``
    and ``or`` evaluate only what they need; ``var`` and ``missing`` read the data."""

    fn: Callable[[list[Any], Any, int], Any]


def _lookup(data: Any, name: Any = UNDEFINED, default: Any = UNDEFINED) -> Any:
    """``var``: the value at a (dotted) name, ``default`` (else null) when there is none.
    A value that is there and null stays null, as in json-logic-js."""
    not_found = None if default is UNDEFINED else default
    if name is UNDEFINED or name is None or name == "":
        return data
    for key in to_string(name).split("."):
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and _INDEX.fullmatch(key) and int(key) < len(data):
            data = data[int(key)]
        else:
            return not_found
    return data


def _var(args: list[Any], data: Any, depth: int) -> Any:
    return _lookup(data, *[_apply(arg, data, depth) for arg in args][:2])


def _missing(args: list[Any], data: Any, depth: int) -> list[Any]:
    """The names (of those given, or of the one list given) whose value is null, "" or not there."""
    names = [_apply(arg, data, depth) for arg in args]
    if names and isinstance(names[0], list):
        names = names[0]
    # Each name is read as {"var": name} would read it, as json-logic-js does.
    return [name for name in names if _is_blank(_var(name if isinstance(name, list) else [name], data, depth))]


def _is_blank(value: Any) -> bool:
    return value is None or value == ""


def _if(args: list[Any], data: Any, depth: int) -> Any:
    """``if``/else-if chains: (condition, value) pairs, then an optional else; null when none holds."""
    for i in range(0, len(args) - 1, 2):
        if truthy(_apply(args[i], data, depth)):
            return _apply(args[i + 1], data, depth)
    return _apply(args[-1], data, depth) if len(args) % 2 else None


def _and(args: list[Any], data: Any, depth: int) -> Any:
    """The first falsy value, else the last (null for no arguments, where json-logic-js gives undefined)."""
    value = None
    for arg in args:
        value = _apply(arg, data, depth)
        if not truthy(value):
            return value
    return value


def _or(args: list[Any], data: Any, depth: int) -> Any:
    value = None
    for arg in args:
        value = _apply(arg, data, depth)
        if truthy(value):
            return value
    return value


def _less(a: Any = UNDEFINED, b: Any = UNDEFINED, c: Any = UNDEFINED, *_: Any) -> bool:
    """``a < b``, or ``a < b < c`` (between, exclusive) with a third argument."""
    return less_than(a, b) is True and (c is UNDEFINED or less_than(b, c) is True)


def _less_equal(a: Any = UNDEFINED, b: Any = UNDEFINED, c: Any = UNDEFINED, *_: Any) -> bool:
    """``a <= b``, or ``a <= b <= c`` (between, inclusive); "not greater", so NaN makes it false."""
    return less_than(b, a) is False and (c is UNDEFINED or less_than(c, b) is False)


def _in(a: Any = UNDEFINED, b: Any = UNDEFINED, *_: Any) -> bool:
    """A substring of a string (``a`` as JavaScript prints it), or an element (by ``===``) of an array."""
    if isinstance(b, str):
        return b != "" and to_string(a) in b
    return isinstance(b, list) and any(strict_equal(a, item) for item in b)


# The supported subset: a function of the evaluated arguments, or a Special.
U = UNDEFINED  # what an operation sees for an argument it was not given, as in JavaScript
OPERATIONS: dict[str, Callable[..., Any] | Special] = {
    "var": Special(_var),
    "missing": Special(_missing),
    "if": Special(_if),
    "and": Special(_and),
    "or": Special(_or),
    "==": lambda a=U, b=U, *_: loose_equal(a, b),
    "!=": lambda a=U, b=U, *_: not loose_equal(a, b),
    "===": lambda a=U, b=U, *_: strict_equal(a, b),
    "!==": lambda a=U, b=U, *_: not strict_equal(a, b),
    "<": _less,
    "<=": _less_equal,
    ">": lambda a=U, b=U, *_: less_than(b, a) is True,
    ">=": lambda a=U, b=U, *_: less_than(a, b) is False,
    "!": lambda a=U, *_: not truthy(a),
    "!!": lambda a=U, *_: truthy(a),
    "in": _in,
}
del U


def apply(rule: Any, data: Any = None) -> Any:
    """Evaluate ``rule`` over ``data`` (the answers) as json-logic-js would.

    Raises ``RuleError`` for an operator outside the subset or a rule deeper
    than ``MAX_DEPTH``; ``check_rule`` reports both (and more) up front.
    """
    return _apply(rule, data, 0)


def _apply(rule: Any, data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise RuleError(f"rule nests deeper than {MAX_DEPTH} levels")
    if isinstance(rule, list):
        return [_apply(item, data, depth + 1) for item in rule]
    if not isinstance(rule, dict) or len(rule) != 1:
        return rule  # a literal
    ((op, args),) = rule.items()
    operation = OPERATIONS.get(op)
    if operation is None:
        raise RuleError(f"unknown operator {op!r}")
    if not isinstance(args, list):
        args = [args]  # {"var": "x"} is short for {"var": ["x"]}
    if isinstance(operation, Special):
        return operation.fn(args, data, depth + 1)
    return operation(*[_apply(arg, data, depth + 1) for arg in args])


# What check_rule accepts: (fewest, most) arguments of each operation (None: no most).
_ARITY: dict[str, tuple[int, int | None]] = {
    "var": (1, 2), "missing": (1, None), "if": (2, None), "and": (1, None), "or": (1, None),
    "==": (2, 2), "!=": (2, 2), "===": (2, 2), "!==": (2, 2), "<": (2, 3), "<=": (2, 3), ">": (2, 2),
    ">=": (2, 2), "!": (1, 1), "!!": (1, 1), "in": (2, 2),
}
_JSON = (dict, list, str, int, float, bool, type(None))
_END = object()


def _children(node: Any) -> list[Any]:
    """What ``_apply`` evaluates one level below ``node``: an array's items, an operator's arguments."""
    if isinstance(node, list):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (args,) = node.values()
        return args if isinstance(args, list) else [args]
    return []


def _nodes(rule: Any) -> Iterable[tuple[Any, int]]:
    """Every node of ``rule`` with its depth as ``_apply`` counts it, depth first;
    at most ``MAX_NODES + 1`` of them and never below ``MAX_DEPTH``, so the walk
    is bounded whatever the rule's size (an argument list of a million costs nothing)."""
    yield rule, 0
    seen, stack = 1, [(iter(_children(rule)), 1)]
    while stack and seen <= MAX_NODES:
        children, depth = stack[-1]
        node = next(children, _END)
        if node is _END:
            stack.pop()
            continue
        seen += 1
        yield node, depth
        if depth < MAX_DEPTH:
            stack.append((iter(_children(node)), depth + 1))


def _field_names(op: str, args: list[Any]) -> list[Any]:
    """The names a ``var`` or ``missing`` reads, as written."""
    if op == "var":
        return args[:1]
    return args[0] if len(args) == 1 and isinstance(args[0], list) else args


def check_rule(rule: Any, known_fields: Iterable[str]) -> list[str]:
    """Everything wrong with an author's rule, as messages (empty when it is fine):
    operators outside the subset, wrong numbers of arguments, ``var``/``missing``
    names that are not literal strings or not fields, non-JSON values, and the caps."""
    known = set(known_fields)
    problems: list[str] = []
    nodes = 0
    for node, depth in _nodes(rule):
        nodes += 1
        if nodes > MAX_NODES:
            problems.append(f"rule has more than {MAX_NODES} operators and values")
            break
        if depth == MAX_DEPTH and _children(node):
            problems.append(f"rule nests deeper than {MAX_DEPTH} levels")
            break
        if not isinstance(node, _JSON):
            problems.append(f"{type(node).__name__} is not a JSON value")
        elif isinstance(node, float) and not math.isfinite(node):
            problems.append(f"{node} is not a JSON number")
        elif isinstance(node, dict):
            problems.extend(_check_operation(node, known))
    return list(dict.fromkeys(problems))


def _check_operation(node: dict[Any, Any], known: set[str]) -> list[str]:
    if len(node) != 1:
        keys = ", ".join(map(repr, node)) or "none"
        return [f"an object in a rule must have exactly one key, its operator; this one has {keys}"]
    ((op, args),) = node.items()
    if op not in OPERATIONS:
        return [f"operator {op!r} is not supported; supported: {', '.join(OPERATIONS)}"]
    args = args if isinstance(args, list) else [args]
    fewest, most = _ARITY[op]
    if len(args) < fewest or (most is not None and len(args) > most):
        wanted = f"{fewest}" if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
        return [f"{op!r} takes {wanted} argument{'' if (most or fewest) == 1 else 's'}, got {len(args)}"]
    if op not in ("var", "missing"):
        return []
    problems = []
    for name in _field_names(op, args):
        if not isinstance(name, str) or not name:
            problems.append(f"{op} needs field names as literal non-empty strings, got {name!r}")
        elif name.split(".")[0] not in known:
            fields = ", ".join(sorted(known)) or "none"
            problems.append(f"{op} reads unknown field {name.split('.')[0]!r}; fields: {fields}")
    return problems


def variables(rule: Any) -> set[str]:
    """The fields a rule reads (the first part of each ``var``/``missing`` name written as a string)."""
    found = set()
    for node, _ in _nodes(rule):
        if isinstance(node, dict) and len(node) == 1:
            ((op, args),) = node.items()
            if op in ("var", "missing"):
                args = args if isinstance(args, list) else [args]
                found.update(name.split(".")[0] for name in _field_names(op, args) if isinstance(name, str) and name)
    return found


def find_cycle(deps: dict[str, set[str]]) -> list[str] | None:
    """A circle of fields whose rules read each other, as ``["a", "b", "a"]``
    (``["a", "a"]`` for a field that reads itself), else ``None``. ``deps`` maps
    each field to the fields its rules read. Iterative, so no chain is too long."""
    state: dict[str, int] = {}  # 1 while on the current path, 2 when done
    for start in sorted(deps):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(deps.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(deps.get(nxt, ()))))
    return None
