"""What ``prefill check`` warns about in a schema that loads: rules that can
never be true for the values their fields can take, and ``saveToProfile`` on a
field whose name is a sensitive key (the mark is ignored at submit).

Cheap on purpose: a rule (or a part of one) is tried on every combination of
the values its fields can take only when each of those fields has few (a
choice, a checkbox, a small multi-select), so an option value mistyped in a
rule is caught without solving anything; a rule that reads a text or number
field is never called impossible. Every warning is sound: the values tried
include every value the rule can see (null for a hidden or unanswered field).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import permutations, product
from math import perm, prod
from typing import Any

from . import rules
from .conditions import Rule
from .sensitive import SensitiveKeys
from .spec import FieldSpec, FormSchema

NEVER_TRUE = "never_true"
SENSITIVE_PROFILE = "sensitive_save_to_profile"
MAX_VALUES = 2000  # values one field may take for the rules reading it to be tried
MAX_WORK = 20_000  # combinations tried times the size of the rule tried, per rule (~1 µs each: ~20 ms)


@dataclass(frozen=True, slots=True)
class SchemaWarning:
    field: str
    kind: str
    message: str


def values_of(spec: FieldSpec) -> tuple[Any, ...] | None:
    """Every value a rule can see for this field (as ``forms.conditions.rule_value``
    gives it), or None when there are too many to try."""
    if spec.type == "checkbox":
        return (None, True, False)
    options = [o.value for o in spec.options]
    if not options or any("{{" in v for v in options):  # a templated option: its value varies
        return None
    if spec.multiple:  # a list of distinct options, in the order chosen
        longest = min(len(options), spec.max_items or len(options))
        if sum(perm(len(options), k) for k in range(1, longest + 1)) > MAX_VALUES:
            return None
        return (None, *(list(p) for k in range(1, longest + 1) for p in permutations(options, k)))
    if spec.type in ("select", "radio"):
        return (None, *options)
    return None


def _describe(spec: FieldSpec) -> str:
    listed = ", ".join(json.dumps(o.value, ensure_ascii=False) for o in spec.options)
    if spec.type == "checkbox":
        return f"{spec.name} is true, false or null"
    if spec.multiple:
        return f"{spec.name} is null or a list of {listed}"
    return f"{spec.name} is null or one of {listed}"


def _size(node: Any) -> int:
    return len(json.dumps(node)) // 8 + 1  # a proxy for the nodes evaluated, bounded by the rule's caps


def _never_true(node: Any, domains: dict[str, tuple[Any, ...] | None], budget: list[int]) -> list[Any]:
    """The outermost operations in ``node`` whose value is falsy for every
    combination of their fields' values (each is never true wherever it stands)."""
    if isinstance(node, list):
        return [found for item in node for found in _never_true(item, domains, budget)]
    if not isinstance(node, dict) or len(node) != 1:
        return []
    ((op, args),) = node.items()
    if op == "var":
        return []  # a value, not a condition
    names = sorted(rules.variables(node))
    values = [domains.get(n) for n in names]
    tried = [v for v in values if v is not None]
    if names and len(tried) == len(names) and prod(map(len, tried)) * _size(node) <= budget[0]:
        budget[0] -= prod(map(len, tried)) * _size(node)
        try:
            if not any(rules.truthy(rules.apply(node, dict(zip(names, combination, strict=True))))
                       for combination in product(*tried)):
                return [node]
        except rules.RuleError:
            return []
    return _never_true(args if isinstance(args, list) else [args], domains, budget)


def _rules_of(spec: FieldSpec) -> list[tuple[str, Rule]]:
    found = [(key, rule) for key, rule in (("visibleIf", spec.visible_if), ("requiredIf", spec.required_if))
             if rule is not None]
    return found + [(f"option {o.value!r} visibleIf", o.visible_if) for o in spec.options if o.visible_if is not None]


def lint(schema: FormSchema, sensitive: SensitiveKeys) -> list[SchemaWarning]:
    """The warnings for ``schema``, field by field in its order."""
    by_name = {spec.name: spec for spec in schema.fields}
    domains = {spec.name: values_of(spec) for spec in schema.fields}
    out: list[SchemaWarning] = []
    for spec in schema.fields:
        if spec.save_to_profile and sensitive.is_sensitive(spec.name):
            out.append(SchemaWarning(spec.name, SENSITIVE_PROFILE, f"saveToProfile is ignored: {spec.name!r} is a "
                                                                   "sensitive key, never written to a profile"))
        for where, rule in _rules_of(spec):
            for part in _never_true(rule.tree, domains, [MAX_WORK]):
                fields = "; ".join(_describe(by_name[n]) for n in sorted(rules.variables(part)))
                text = json.dumps(part, ensure_ascii=False)
                what = f"{where} {text}" if part is rule.tree else f"part of {where}, {text},"
                out.append(SchemaWarning(spec.name, NEVER_TRUE, f"{what} can never be true: {fields}"))
    return out
