"""The Prefill engine: pure functions from (schema, identity) to resolved forms."""

from .engine import Engine
from .errors import PrefillError
from .identity import ANONYMOUS, Identity
from .resolve import ResolvedField, ResolvedForm, resolve
from .schema import load_schema
from .sensitive import SensitiveKeys
from .spec import FormSchema
from .validate import CleanSubmission, validate_submission

__all__ = [
    "ANONYMOUS", "CleanSubmission", "Engine", "FormSchema", "Identity", "PrefillError",
    "ResolvedField", "ResolvedForm", "SensitiveKeys", "load_schema", "resolve",
    "validate_submission",
]
