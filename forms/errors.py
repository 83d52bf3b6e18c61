"""One error hierarchy for every surface.

Like ``werkzeug.exceptions``, the classes are mostly data: an HTTP ``status``
and a machine-readable ``code``. ``fields`` follows marshmallow's
``ValidationError.messages`` shape: ``{field: [messages]}``.
"""

from __future__ import annotations

from typing import Any

from .messages import N_, Message


class PrefillError(Exception):
    """Root of every error Prefill reports to a client."""

    status: int = 500
    code: str = "internal_error"
    message: str = "Internal error."
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(
        self, message: str | None = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        self.message = message or type(self).message
        self.fields = fields
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class InvalidJSON(PrefillError):
    status, code, message = 400, "invalid_json", "The request body is not valid JSON."


class ValidationFailed(PrefillError):
    """A request's own fields are wrong (400)."""

    status, code, message = 400, "validation_failed", "The request is not valid."


class InvalidArguments(ValidationFailed):
    """A form's arguments do not load with its provider's ``args`` schema (400)."""

    def __init__(self, provider: str, fields: dict[str, list[str]]) -> None:
        super().__init__(f"The arguments of form {provider!r} are not valid.", fields)


class SubmissionInvalid(ValidationFailed):
    """Submitted values break the rules of the resolved form (422)."""

    status = 422
    message = "Some values do not fit the form."


class InvalidClientSchema(ValidationFailed):
    """An ad-hoc form's schema, written by the caller, breaks the format (400)."""

    code = "invalid_schema"

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("The form schema is not valid.", problems)


class CSRFFailed(PrefillError):
    status, code = 400, "csrf_failed"
    message = N_("The form expired or was not sent from this site; please try again.")


class IdentityUnverified(PrefillError):
    status, code, message = 401, "identity_unverified", "The identity could not be verified."


class IdentityRequired(PrefillError):
    """The form is only for signed-in (or verified) users."""

    status, code = 401, "identity_required"

    def __init__(self, requires: str) -> None:
        super().__init__(Message(N_("This form is only for a verified user; sign in first.")) if requires == "verified"
                         else Message(N_("This form is only for a signed-in user; sign in first.")))


class InvalidSession(PrefillError):
    status, code, message = 401, "invalid_session", "The session token names no live session."


class Unauthorized(PrefillError):
    status, code, message = 401, "unauthorized", "A valid admin API key is required."


class NotFound(PrefillError):
    status, code, message = 404, "not_found", "Not found."


class AdhocFormsOff(NotFound):
    code, message = "adhoc_forms_off", "Ad-hoc forms are off on this Prefill; the operator sets ADHOC_FORMS=1."


class UnknownForm(NotFound):
    code = "unknown_form"

    def __init__(self, name: str, registered: list[str]) -> None:
        names = ", ".join(sorted(registered)) or "(none)"
        super().__init__(f"unknown form {name!r}; registered: {names}")
        self.name = name


class Conflict(PrefillError):
    status, code = 409, "conflict"


class NotIdentified(Conflict):
    code, message = "not_identified", "The session has no user yet; call identify first."


class UserMismatch(Conflict):
    code, message = "user_mismatch", "userId is not the session's user."


class SessionRotated(Conflict):
    """A cookie's token that a sign-in or sign-out gave a new one moments ago."""

    code = "session_rotated"
    # Written for end users (an HTML page shows it): the browser already holds the new cookie.
    message = N_("You signed in or out in another tab, so this page's session was replaced. "
                 "Reload the page to continue.")


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    message = "This Idempotency-Key was already used with a different request."


class OriginNotAllowed(PrefillError):
    """A cookie-authenticated change from a page of another origin (CSRF)."""

    status, code = 403, "origin_not_allowed"
    message = "Requests from this origin are not allowed; add it to WIDGET_ORIGINS."


class UnsupportedMediaType(PrefillError):
    status, code, message = 415, "unsupported_media_type", "Send the body as Content-Type: application/json."


class RateLimited(PrefillError):
    status, code, message = 429, "rate_limited", "Too many requests; try again later."

    def __init__(self, retry_after: int = 1, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class StoreUnavailable(PrefillError):
    status, code, message = 503, "store_unavailable", "The database is not reachable; try again shortly."
    retry_after = 2


class MigrationsPending(PrefillError):
    status, code = 503, "migrations_pending"
    message = "The database schema is behind: run `flask --app app prefill migrate`."


class PayloadTooLarge(PrefillError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class MethodNotAllowed(PrefillError):
    status, code, message = 405, "method_not_allowed", "Method not allowed."


class ProviderFailed(PrefillError):
    status, code = 500, "provider_failed"

    def __init__(self, provider: str) -> None:
        super().__init__(f"The form provider {provider!r} failed.")


class ProviderUnavailable(PrefillError):
    """An HTTP provider failed: refused, unreachable, an error status, a
    redirect, a body too large or not JSON. Never says what the upstream said."""

    status, code = 502, "provider_unavailable"

    def __init__(self, provider: str) -> None:
        super().__init__(f"The form provider {provider!r} is unavailable.")


class ProviderTimeout(PrefillError):
    status, code = 504, "provider_timeout"

    def __init__(self, provider: str, seconds: float | None = None) -> None:
        within = f" within {seconds:g} s" if seconds else " in time"
        super().__init__(f"The form provider {provider!r} did not answer{within}.")


class SchemaError(PrefillError):
    """A provider returned a schema that breaks the format: an author's bug.

    The message names the provider, the field and the problem, never a value.
    """

    status, code = 500, "invalid_schema"

    def __init__(self, provider: str, problems: dict[str, list[str]]) -> None:
        parts = [f"{where}: {'; '.join(msgs)}" for where, msgs in problems.items()]
        super().__init__(
            f"provider {provider!r} returned an invalid schema: " + " | ".join(parts)
        )
        self.provider = provider
        self.problems = problems


class FileTooLarge(PrefillError):
    """An upload passed its limit: refused as soon as it did, the rest unread (413)."""

    status, code, message = 413, "file_too_large", "The file is too large."


class FileRefused(SubmissionInvalid):
    """A file whose content is not what the field takes, or did not pass the scan (422)."""

    code, message = "file_refused", "The file is not accepted."


class UploadBudgetExceeded(RateLimited):
    code = "upload_budget_exceeded"
    message = "This session has uploaded as much as it may this hour; try again later."


class StorageUnavailable(PrefillError):
    status, code, message = 503, "storage_unavailable", "The file storage is not reachable; try again shortly."
    retry_after = 5


class LinkInvalid(PrefillError):
    """A file link that was not signed by this Prefill, or names no file (any more)."""

    status, code, message = 404, "link_invalid", "This link is not valid."


class LinkExpired(PrefillError):
    status, code, message = 410, "link_expired", "This link has expired; ask for a new one."
