"""What a form shows, requires and keeps for given answers, and why: the rules'
half of ``prefill render --explain`` and ``/dev/preview``.

Pure, and made of the server's own steps (:func:`forms.conditions.decide` on
:func:`~forms.conditions.answers_of`, then
:func:`forms.validate.validate_submission`), so what it says is what a submit
with these answers does, not a second opinion that could drift. Answers are the
author's, but a value carrying one of the identity's sensitive values is shown
redacted, as the resolver blanks it in a form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conditions import Decision, Rule, answers_of, decide, rule_value
from .errors import SubmissionInvalid
from .identity import Identity
from .resolve import ResolvedField, ResolvedForm
from .sensitive import REDACTED, SensitiveKeys, redact
from .spec import FieldSpec, FormSchema
from .validate import validate_submission


def as_json(value: Any) -> str:
    """A rule or value as an author writes it."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """A rule, the answers it read (by field) and what it gave."""

    rule: Any  # JSON Logic, as the provider wrote it
    saw: dict[str, Any]
    result: bool

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "saw": self.saw, "result": self.result}

    def __str__(self) -> str:
        saw = ", ".join(f"{name} = {as_json(value)}" for name, value in self.saw.items())
        return f"{as_json(self.rule)} is {str(self.result).lower()} (it saw {saw or 'no field'})"


@dataclass
class FieldAnswer:
    """One field for given answers: shown or not, required or not, and why."""

    name: str
    shown: bool  # asked in the page (not hidden by its rule, not known, not left for later)
    why: str
    required: bool = False
    why_required: str = "not required"
    visible_if: RuleCheck | None = None
    required_if: RuleCheck | None = None
    hidden_options: dict[str, RuleCheck] = field(default_factory=dict)  # option value -> its false rule
    known: str | None = None  # "hideKnown" or "progressive": not asked, the known value counts
    later: bool = False  # a profile question left for a later form
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.name, "shown": self.shown, "why": self.why, "required": self.required,
                "requiredWhy": self.why_required,
                "visibleIf": self.visible_if.to_json() if self.visible_if else None,
                "requiredIf": self.required_if.to_json() if self.required_if else None,
                "hiddenOptions": {value: check.to_json() for value, check in self.hidden_options.items()},
                "known": self.known, "later": self.later, "notes": self.notes}


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """What the server would do with the answers: the values it keeps, or the errors."""

    kept: dict[str, Any] | None
    errors: dict[str, list[str]] | None
    dropped: tuple[str, ...]  # answered, but hidden by a rule: stored nowhere

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.errors is None, "kept": self.kept, "errors": self.errors, "dropped": list(self.dropped)}


@dataclass(frozen=True, slots=True)
class AnswersExplanation:
    fields: tuple[FieldAnswer, ...]  # every field of the schema, in its order
    submit: SubmitOutcome

    def field(self, name: str) -> FieldAnswer:
        return next(f for f in self.fields if f.name == name)


class _Redactor:
    """Shows values with the identity's sensitive values replaced."""

    def __init__(self, secrets: frozenset[str]) -> None:
        self.secrets = secrets

    def __call__(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {self(str(k)): self(v) for k, v in value.items()}
        if isinstance(value, (int, float)) and not isinstance(value, bool) and str(value) in self.secrets:
            return REDACTED
        return value


def _answered(value: Any) -> bool:
    """An answer as rules see it that a submit would have kept (a checkbox: ticked)."""
    return value is not None and value is not False


def _check(rule: Rule, result: bool, decision: Decision, shown: _Redactor) -> RuleCheck:
    return RuleCheck(rule.tree, {name: shown(decision.data.get(name)) for name in sorted(rule.reads())}, result)


def _later(spec: FieldSpec, schema: FormSchema) -> FieldAnswer:
    names, most = schema.progressive or ((), 0)
    return FieldAnswer(spec.name, False, f"not in this form: a profile question left for a later form "
                                         f"(progressive asks at most {most} of {', '.join(names)} at a time)",
                       why_required="not required: not in this form", later=True)


def _field(spec: FieldSpec, rf: ResolvedField, decision: Decision, answers: Mapping[str, Any],
           shown: _Redactor) -> FieldAnswer:
    hidden = not decision.shows(rf.name)
    out = FieldAnswer(rf.name, not hidden and not rf.known_hidden, "shown: it has no visibleIf")
    if rf.visible_if is not None:
        out.visible_if = _check(rf.visible_if, not hidden, decision, shown)
        out.why = f"{'hidden' if hidden else 'shown'}: visibleIf {out.visible_if}"
    if rf.known_hidden:
        out.known = "hideKnown" if spec.hide_known and rf.source == "trusted" else "progressive"
        why = ("hideKnown is on and trusted metadata knows it" if out.known == "hideKnown"
               else "a profile question already answered")
        value = f"{as_json(shown(rule_value(rf, rf.value)))} ({rf.source})"
        out.why = (f"not asked: {why}; {value} counts for the rules and is kept at submit" if not hidden
                   else f"{out.why}; not asked either ({why}: {value})")
    if rf.required_if is not None:
        out.required_if = _check(rf.required_if, rf.required_if(decision.data), decision, shown)
    if hidden:
        out.why_required = "not required: a hidden field never is"
    elif rf.name in decision.required:
        out.required = True
        out.why_required = ("required: required is true" if rf.required
                            else f"required: requiredIf {out.required_if}")
    elif out.required_if is not None:
        out.why_required = f"not required: requiredIf {out.required_if}"
    elif rf.multiple and (rf.min_items or 0) > 0:
        out.required, out.why_required = True, f"required: minItems is {rf.min_items}"
    if not hidden:
        gone = decision.hidden_options.get(rf.name, frozenset())
        out.hidden_options = {o.value: _check(o.visible_if, False, decision, shown)
                              for o in rf.options if o.visible_if is not None and o.value in gone}
    given = rule_value(rf, answers.get(rf.name))
    if rf.name in answers and rf.disabled and given != rule_value(rf, rf.value):
        out.notes.append("the answer given is ignored: the field is locked, the server's value counts")
    elif hidden and _answered(given):
        out.notes.append("the answer given is dropped: a hidden field keeps nothing")
    return out


def _submit(resolved: ResolvedForm, answers: Mapping[str, Any], decision: Decision,
            shown: _Redactor) -> SubmitOutcome:
    dropped = tuple(f.name for f in resolved.fields
                    if not decision.shows(f.name) and _answered(rule_value(f, answers.get(f.name))))
    try:
        clean = validate_submission(resolved, answers)
    except SubmissionInvalid as exc:
        errors = {shown(str(name)): [str(m) for m in msgs] for name, msgs in (exc.fields or {}).items()}
        return SubmitOutcome(None, errors, dropped)
    return SubmitOutcome({name: shown(value) for name, value in clean.values.items()}, None, dropped)


def explain_answers(schema: FormSchema, resolved: ResolvedForm, answers: Mapping[str, Any], identity: Identity,
                    sensitive: SensitiveKeys, also_redact: frozenset[str] = frozenset()) -> AnswersExplanation:
    """Every field of ``schema`` as ``resolved`` treats ``answers`` (``{field:
    value}``, as the JSON API takes them), and what a submit of them keeps.
    ``also_redact``: more values never to show (another identity's, side by side)."""
    shown = _Redactor(sensitive.secret_values(identity.metadata, identity.session_metadata) | also_redact)
    decision = decide(resolved.fields, answers_of(resolved.fields, answers))
    by_name = {rf.name: rf for rf in resolved.fields}
    fields = tuple(_field(spec, by_name[spec.name], decision, answers, shown) if spec.name in by_name
                   else _later(spec, schema) for spec in schema.fields)
    return AnswersExplanation(fields, _submit(resolved, answers, decision, shown))
