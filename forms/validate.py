"""Checking submitted values against the form *this user* was shown.

Pure: the caller re-resolves the form for the request's identity and hands it
here. Locked fields take the resolved value whatever the client sent.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .conditions import answers_of, decide, has_rules, order
from .errors import SubmissionInvalid
from .messages import N_, Message
from .prefill import number_from
from .resolve import ResolvedField, ResolvedForm
from .schema import PATTERN_MAX_LENGTH, parse_iso_date

REQUIRED = Message(N_("This field is required."))
UPLOAD_ID = re.compile(r"\Aupl_[0-9a-f]{32}\Z")  # what POST /api/uploads answers (store.attachments)


def looks_like_email(text: str) -> bool:
    """``local@domain.tld`` with no spaces: one linear pass, no backtracking.

    The regex ``^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$`` said the same but took
    quadratic time on ``"a@" + "." * n``; this is its linear equivalent.
    """
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or "." not in domain[1:-1]:
        return False
    return text.split(maxsplit=1) == [text]  # no whitespace anywhere


@lru_cache(maxsize=256)  # patterns are at most 1000 characters (forms.schema)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class CleanSubmission:
    values: dict[str, Any]
    prefilled: list[str]
    changed: list[str]
    sources: dict[str, str]  # where each shown value came from (see ResolvedField.source)
    # ``saveToProfile`` answers the user gave (not known before): what the
    # surface writes back to an identified user's claimed metadata.
    profile: dict[str, Any] = dataclasses.field(default_factory=dict)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value is False


def _check_many(field: ResolvedField, raw: Any, required: bool, hidden: frozenset[str]) -> tuple[Any, list[str]]:
    """A multi-select: a list of distinct option values shown to this user."""
    if raw is None or raw == "":
        raw = []
    elif isinstance(raw, str):
        raw = [raw]  # one value where several may be
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        return None, [Message(N_("Must be a list of choices."))]
    values = list(dict.fromkeys(raw))  # each once, in the order chosen
    allowed = {o.value for o in field.options} - hidden
    if any(v not in allowed for v in values):
        return None, [Message(N_("Not a valid choice."))]
    if not values:
        return values, [REQUIRED] if required or (field.min_items or 0) > 0 else []
    if field.min_items is not None and len(values) < field.min_items:
        return values, [Message(N_("Choose at least %(count)s."), count=field.min_items)]
    if field.max_items is not None and len(values) > field.max_items:
        return values, [Message(N_("Choose at most %(count)s."), count=field.max_items)]
    return values, []


def _check_files(field: ResolvedField, raw: Any, required: bool) -> tuple[Any, list[str]]:
    """A file field: a list of upload ids (one id alone where one file is taken).
    Whether each names a usable upload is the store's to say (web.views.attach)."""
    if raw is None or raw == "":
        raw = []
    elif isinstance(raw, str) and (field.max_files or 1) == 1:
        raw = [raw]
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        return None, [Message(N_("Must be a list of upload ids."))]
    ids = list(dict.fromkeys(raw))
    if any(not UPLOAD_ID.match(v) for v in ids):
        return None, [Message(N_("Not a valid upload; upload the file again."))]
    if not ids:
        return ids, [REQUIRED] if required else []
    if len(ids) > (field.max_files or 1):
        return ids, [Message(N_("Attach at most %(count)s files."), count=field.max_files or 1)]
    return ids, []


def _check(field: ResolvedField, raw: Any, required: bool | None = None,
           hidden: frozenset[str] = frozenset()) -> tuple[Any, list[str]]:
    """(cleaned value, errors) for one unlocked field; ``required`` and the
    options ``hidden`` by their rules are the ones decided for this submission."""
    required = field.required if required is None else required
    if field.type == "file":
        return _check_files(field, raw, required)
    if field.multiple:
        return _check_many(field, raw, required, hidden)
    ftype = field.type
    if ftype == "checkbox":
        if raw is None:
            raw = False
        if not isinstance(raw, bool):
            return None, [Message(N_("Must be true or false."))]
        if required and raw is False:
            return raw, [REQUIRED]
        return raw, []
    if raw is None or raw == "":
        return None, [REQUIRED] if required else []
    if ftype == "number":
        number = number_from(raw)
        if number is None or (isinstance(raw, float) and not math.isfinite(raw)):
            return None, [Message(N_("Must be a number."))]
        errors = []
        if field.min is not None and number < field.min:
            errors.append(Message(N_("Must be at least %(min)s."), min=field.min))
        if field.max is not None and number > field.max:
            errors.append(Message(N_("Must be at most %(max)s."), max=field.max))
        return number, errors
    if not isinstance(raw, str):
        return None, [Message(N_("Must be a string."))]
    errors: list[str] = []
    if ftype in ("select", "radio"):
        if raw not in {o.value for o in field.options} or raw in hidden:
            return None, [Message(N_("Not a valid choice."))]
        return raw, []
    if ftype == "email" and not looks_like_email(raw):
        errors.append(Message(N_("Must be an email address.")))
    elif ftype == "url":
        try:
            parts = urlsplit(raw)
        except ValueError:  # "http://[" : an unbalanced IPv6 bracket
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(Message(N_("Must be an http(s) URL.")))
    elif ftype == "date":
        day = parse_iso_date(raw)
        if day is None:
            errors.append(Message(N_("Must be a date (YYYY-MM-DD).")))
        else:
            if field.min is not None and day < parse_iso_date(field.min):
                errors.append(Message(N_("Must be on or after %(date)s."), date=field.min))
            if field.max is not None and day > parse_iso_date(field.max):
                errors.append(Message(N_("Must be on or before %(date)s."), date=field.max))
    if field.min_length is not None and len(raw) < field.min_length:
        errors.append(Message(N_("Must be at least %(count)s characters."), count=field.min_length))
    if field.max_length is not None and len(raw) > field.max_length:
        errors.append(Message(N_("Must be at most %(count)s characters."), count=field.max_length))
    # A provider's pattern is the one check whose cost we do not control (a
    # backtracking regex): it only runs on values within maxLength.
    limit = field.max_length if field.max_length is not None else PATTERN_MAX_LENGTH
    if field.pattern is not None and len(raw) <= limit and not _compiled(field.pattern).fullmatch(raw):
        errors.append(field.pattern_message or Message(N_("Does not match the expected format.")))
    return raw, errors


def _stored(field: ResolvedField, value: Any) -> Any:
    if field.type == "file":
        return list(value or ())
    return list(value) if field.multiple and value is not None else value


def validate_submission(form: ResolvedForm, values: Mapping[str, Any]) -> CleanSubmission:
    """Clean ``values`` or raise :class:`SubmissionInvalid` with ``{field: [msgs]}``.

    With rules, the server decides visibility again on these answers: a hidden
    field is never required nor checked, and its value is dropped whatever the
    client sent; an option hidden by its rule is no valid choice."""
    errors: dict[str, list[str]] = {}
    known = {f.name for f in form.fields}
    for key in values:
        if key not in known:
            errors[str(key)[:100]] = [Message(N_("Unknown field."))]
    memo = form.memo
    if "order" not in memo:  # the form is memoised: whether it has rules, and their order, are found once
        memo["order"] = order(form.fields) if any(map(has_rules, form.fields)) else None
    ordered = memo["order"]
    decision = None if ordered is None else decide(form.fields, answers_of(form.fields, values), ordered)
    clean: dict[str, Any] = {}
    for field in form.fields:
        required = field.required
        hidden_options: frozenset[str] = frozenset()
        if decision is not None:
            if not decision.shows(field.name):
                continue
            required = field.name in decision.required
            hidden_options = decision.hidden_options.get(field.name, frozenset())
        if field.disabled:
            clean[field.name] = _stored(field, field.value)
            if required and _empty(field.value):
                errors[field.name] = [Message(N_("This field is required but no value is on file."))]
            continue
        value, field_errors = _check(field, values.get(field.name), required, hidden_options)
        clean[field.name] = value
        if field_errors:
            errors[field.name] = field_errors
    if errors:
        raise SubmissionInvalid(fields=errors)
    prefilled = [f.name for f in form.fields if f.prefilled and f.name in clean]
    changed = [f.name for f in form.fields if f.name in clean and f.prefilled and clean[f.name] != _stored(f, f.value)]
    sources = {f.name: f.source for f in form.fields if f.source and f.name in clean}
    profile = {f.name: clean[f.name] for f in form.fields
               if f.save_to_profile and not f.disabled and f.name in clean and not _empty(clean[f.name])
               and clean[f.name] != []}
    return CleanSubmission(clean, prefilled, changed, sources, profile)
