"""What a validated schema becomes: immutable specs the resolver reads.

``forms.schema`` validates a provider's output and builds these; keeping them
apart keeps the format's rules (marshmallow) and its result in small modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conditions import Rule


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    value: str
    visible_if: Rule | None = None  # JSON Logic: shown (and a valid choice) only while true


@dataclass(frozen=True, slots=True)
class FieldRules:
    """What a field is and the rules its value must keep (shared by spec and resolved field)."""

    name: str
    type: str
    required: bool
    min_length: int | None
    max_length: int | None
    min: Any
    max: Any
    pattern: str | None
    pattern_message: str | None  # what a value that does not match is told (server and browser)
    autocomplete: str | None  # the HTML autocomplete token: from the schema, else from name and type
    # Keyword-only, so subclasses keep their positional fields.
    multiple: bool = field(default=False, kw_only=True)  # a list of option values (checkboxes, select multiple)
    min_items: int | None = field(default=None, kw_only=True)
    max_items: int | None = field(default=None, kw_only=True)
    visible_if: Rule | None = field(default=None, kw_only=True)  # JSON Logic over the answers (forms.rules)
    required_if: Rule | None = field(default=None, kw_only=True)
    hide_known: bool = field(default=False, kw_only=True)  # not asked when trusted metadata knows it
    save_to_profile: bool = field(default=False, kw_only=True)  # the answer goes back to userMetadata
    # A file field's: accepted MIME types and extensions (None: any), bytes per file, files.
    accept: tuple[str, ...] | None = field(default=None, kw_only=True)
    max_size: int | None = field(default=None, kw_only=True)
    max_files: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class FieldSpec(FieldRules):
    """A field as the provider wrote it (strings still templated)."""

    label: str
    default: Any
    disabled: bool
    options: tuple[Option, ...]
    placeholder: str | None
    help: str | None
    lock_known: bool | None


@dataclass(frozen=True, slots=True)
class FormSchema:
    fields: tuple[FieldSpec, ...]
    title: str | None
    description: str | None
    submit_label: str | None
    lock_known: bool
    # ``progressive: {fields, max}``: ask at most ``max`` of these profile questions at a time.
    progressive: tuple[tuple[str, ...], int] | None = None
    # What the resolver derives from the schema alone, computed once (see forms.resolve).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FileCaps:
    """The operator's limits on every file field (``UPLOAD_MAX_BYTES``,
    ``UPLOAD_MAX_FILES``): a form's own can only be lower."""

    max_size: int
    max_files: int
