"""Which fields and options a form shows for given answers, and which it requires.

Pure, and the one place the server decides it: the browser's copy
(``static/conditions.js``) follows the same steps on the page's inputs, but at
submit this decides again on the submitted answers, with locked values already
the server's own. A field hidden by its rule counts as ``null`` for the others,
so fields are decided in the order of their dependencies (the schema check
refuses circles).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import rules
from .prefill import number_from

if TYPE_CHECKING:
    from .resolve import ResolvedField


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule as a field holds it: equal and hashable by its JSON text (resolved
    fields key caches), evaluated on its tree."""

    text: str
    tree: Any = field(compare=False, hash=False)
    names: frozenset[str] = field(compare=False, hash=False)  # what it reads: walked once, not per submit

    def __call__(self, data: Mapping[str, Any]) -> bool:
        return rules.truthy(rules.apply(self.tree, data))

    def reads(self) -> frozenset[str]:
        return self.names


def rule_of(tree: Any) -> Rule | None:
    """A checked rule (see ``forms.rules.check_rule``) as a field holds it; None for none."""
    if tree is None:
        return None
    return Rule(json.dumps(tree, sort_keys=True, separators=(",", ":")), tree, frozenset(rules.variables(tree)))


@dataclass(frozen=True, slots=True)
class Decision:
    hidden: frozenset[str]  # fields whose visibleIf is false
    required: frozenset[str]  # visible fields that must be answered (required, or requiredIf true)
    hidden_options: dict[str, frozenset[str]]  # field -> option values hidden by their rule
    data: dict[str, Any]  # what the rules saw, hidden fields as null (for --explain)

    def shows(self, name: str) -> bool:
        return name not in self.hidden


def has_rules(field: ResolvedField) -> bool:
    return (field.visible_if is not None or field.required_if is not None
            or any(o.visible_if is not None for o in field.options))


def rule_value(field: ResolvedField, raw: Any) -> Any:
    """An answer as rules see it: unanswered (empty text, no choice) is null, a
    number field's parseable text is its number, a multi-select its list."""
    if field.multiple or field.type == "file":  # a file field: its upload ids
        if isinstance(raw, (list, tuple)):
            return list(raw) or None
        return None if raw is None or raw == "" else raw
    if field.type == "checkbox":
        return raw if isinstance(raw, bool) else bool(raw)
    if raw is None or raw == "":
        return None
    if field.type == "number" and isinstance(raw, str):
        number = number_from(raw)
        return raw if number is None else number
    return raw


def order(fields: tuple[ResolvedField, ...]) -> tuple[ResolvedField, ...]:
    """The fields, each after every field its (or its options') visibility reads;
    form order otherwise. Kahn's algorithm: linear in fields and edges. When
    rules read only earlier fields (the usual form) that is form order itself:
    Kahn's, taking the earliest ready field first, would give the same."""
    by_name = {f.name: f for f in fields}
    position = {f.name: i for i, f in enumerate(fields)}
    reads: dict[str, set[str]] = {}
    in_order = True
    for i, f in enumerate(fields):
        names: set[str] = set()
        for rule in (f.visible_if, *(o.visible_if for o in f.options)):
            if rule is not None:
                names |= rule.names
        reads[f.name] = {n for n in names if n in by_name and n != f.name}
        in_order = in_order and all(position[n] < i for n in reads[f.name])
    if in_order:
        return fields
    waiting = {name: len(deps) for name, deps in reads.items()}
    readers: dict[str, list[str]] = {name: [] for name in by_name}
    for name, deps in reads.items():
        for dep in deps:
            readers[dep].append(name)
    ready = [f.name for f in fields if not waiting[f.name]]
    out: list[ResolvedField] = []
    while ready:
        ready.sort(key=position.__getitem__, reverse=True)
        name = ready.pop()
        out.append(by_name[name])
        for reader in readers[name]:
            waiting[reader] -= 1
            if not waiting[reader]:
                ready.append(reader)
    if len(out) != len(fields):  # a circle: the schema check refuses these, so never for a loaded form
        raise ValueError("fields' rules depend on each other in a circle")
    return tuple(out)


def decide(fields: tuple[ResolvedField, ...], answers: Mapping[str, Any],
           ordered: tuple[ResolvedField, ...] | None = None) -> Decision:
    """Decide visibility and requiredness from ``answers`` (already as rules see
    them, see :func:`rule_value`); ``ordered``: :func:`order` of ``fields``, if made."""
    data = dict(answers)
    hidden: set[str] = set()
    hidden_options: dict[str, frozenset[str]] = {}
    for f in ordered if ordered is not None else order(fields):
        if f.visible_if is not None and not f.visible_if(data):
            hidden.add(f.name)
            data[f.name] = None
            continue
        gone = frozenset(o.value for o in f.options
                         if o.visible_if is not None and not o.visible_if(data))
        if gone:
            hidden_options[f.name] = gone
    required = frozenset(
        f.name for f in fields if f.name not in hidden and (
            f.required or (f.required_if is not None and f.required_if(data))))
    return Decision(frozenset(hidden), required, hidden_options, data)


def answers_of(fields: tuple[ResolvedField, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Rules' view of submitted ``values``: locked and known fields take the
    server's value whatever was sent (a tampered lock cannot unhide a field)."""
    return {f.name: rule_value(f, f.value if f.disabled else values.get(f.name)) for f in fields}


def rule_problems(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A schema's rules checked together (``forms.schema`` reports what this
    returns, by field index): every rule reads known fields with supported
    operators, and no field's visibility depends on itself through others (a
    circle has no answer)."""
    names = {item["name"] for item in items}
    errors: dict[int, dict[str, Any]] = {}
    depends: dict[str, set[str]] = {}
    for index, item in enumerate(items):
        found: dict[str, Any] = {}
        reads: set[str] = set()
        for key in ("visibleIf", "requiredIf"):
            if item.get(key) is not None:
                problems = rules.check_rule(item[key], names)
                if problems:
                    found[key] = problems
                elif key == "visibleIf":
                    reads |= rules.variables(item[key])
        for o_index, option in enumerate(item.get("options") or ()):
            if option.get("visibleIf") is not None:
                problems = rules.check_rule(option["visibleIf"], names)
                if problems:
                    found.setdefault("options", {})[o_index] = {"visibleIf": problems}
                else:
                    reads |= rules.variables(option["visibleIf"])
        if found:
            errors[index] = found
        depends[item["name"]] = reads
    if errors:
        return errors
    circle = rules.find_cycle(depends)
    if circle:
        index = next(i for i, item in enumerate(items) if item["name"] == circle[0])
        return {index: {"visibleIf": ["fields' rules depend on each other in a circle: " + " -> ".join(circle) + "."]}}
    return {}
