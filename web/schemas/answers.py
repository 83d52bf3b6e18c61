"""What the JSON API answers, as marshmallow schemas: they document the API
(``/openapi.json``) and schemathesis checks every answer against them."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable, e.g. validation_failed."})
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Per field (or header, or _schema): its problems."})


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class SessionAnswer(Schema):
    sessionToken = fields.String(required=True, metadata={"description": "Send as Authorization: Bearer."})
    visitorId = fields.String(required=True)
    warnings = fields.List(fields.String(), required=True)


class Me(Schema):
    visitorId = fields.String(allow_none=True, required=True)
    userId = fields.String(allow_none=True, required=True)
    verified = fields.Boolean(required=True)
    userMetadata = fields.Dict(required=True, metadata={"description": "Sensitive keys removed."})
    trustedKeys = fields.List(fields.String(), required=True)
    sessionMetadata = fields.Dict(required=True)


class IdentityAnswer(Me):
    success = fields.Boolean(required=True)
    warnings = fields.List(fields.String(), required=True)


class EmbedSessionAnswer(IdentityAnswer):
    sessionToken = fields.String(required=True, metadata={"description": "Send as Authorization: Bearer."})


class FormSummary(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)


class FormList(Schema):
    forms = fields.List(fields.Nested(FormSummary), required=True)


RULE = {"description": "A JSON Logic rule over the form's answers (see docs/providers.md)."}


class Option(Schema):
    label = fields.String(required=True)
    value = fields.String(required=True)
    visibleIf = fields.Raw(metadata={**RULE, "description": "Shown, and a valid choice, only while true."})


class Field(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True)
    required = fields.Boolean(required=True)
    value = fields.Raw(allow_none=True, required=True, metadata={"description": "Pre-filled or default value."})
    disabled = fields.Boolean(required=True, metadata={"description": "Locked: the server keeps its value."})
    options = fields.List(fields.Nested(Option), allow_none=True, required=True)
    placeholder = fields.String(allow_none=True, required=True)
    help = fields.String(allow_none=True, required=True)
    minLength = fields.Integer(allow_none=True, required=True)
    maxLength = fields.Integer(allow_none=True, required=True)
    min = fields.Raw(allow_none=True, required=True)
    max = fields.Raw(allow_none=True, required=True)
    pattern = fields.String(allow_none=True, required=True)
    patternMessage = fields.String(allow_none=True, required=True)
    autocomplete = fields.String(allow_none=True, required=True)
    source = fields.String(allow_none=True, required=True, metadata={
        "enum": ["trusted", "claimed", "default", "template", None],
        "description": "Where the value came from: trusted (signed or admin-set), claimed (the browser's claim), "
                       "default (the provider's defaultValue), template, or null."})
    # Only where they apply (a form without them answers as before they existed).
    multiple = fields.Boolean(metadata={"description": "The value is a list of option values."})
    minItems = fields.Integer(allow_none=True)
    maxItems = fields.Integer(allow_none=True)
    visibleIf = fields.Raw(metadata={**RULE, "description": "Shown only while true; hidden, it is not "
                                      "required and its value is dropped at submit."})
    requiredIf = fields.Raw(metadata={**RULE, "description": "Required while true (when shown)."})
    knownHidden = fields.Boolean(metadata={"description": "Not asked: its value is known (hideKnown, or a "
                                           "profile question answered before). Rules still see its value."})
    accept = fields.List(fields.String(), allow_none=True, metadata={
        "description": "A file field's accepted MIME types (image/png, image/*) and extensions (.log); null: any."})
    maxSize = fields.Integer(allow_none=True, metadata={
        "description": "A file field's bytes per file, after the operator's UPLOAD_MAX_BYTES."})
    maxFiles = fields.Integer(allow_none=True, metadata={
        "description": "A file field's files, after the operator's UPLOAD_MAX_FILES."})


class Upload(Schema):
    id = fields.String(required=True, metadata={"description": "Send it as the file field's value (upl_…)."})
    name = fields.String(required=True, metadata={"description": "The file's name, normalised, for display."})
    size = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"description": "Detected from the content."})


class Form(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    submitLabel = fields.String(required=True)
    fields = fields.List(fields.Nested(Field), required=True)


class SubmissionCreated(Schema):
    id = fields.String(required=True)
    form = fields.String(required=True)
    values = fields.Dict(required=True)
    createdAt = fields.String(required=True)
    adhoc = fields.Boolean(metadata={"description": "Only on ad-hoc forms' submissions: always true."})


class Submission(SubmissionCreated):
    args = fields.Dict(required=True)
    userId = fields.String(allow_none=True, required=True)
    visitorId = fields.String(required=True)
    verified = fields.Boolean(required=True)
    prefilled = fields.List(fields.String(), required=True)
    changed = fields.List(fields.String(), required=True)
    sources = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "Per field, where the value shown came from."})
    schema = fields.Dict(metadata={"description": "Only on ad-hoc submissions: the schema they were made against."})


class SubmissionPage(Schema):
    items = fields.List(fields.Nested(Submission), required=True)
    nextCursor = fields.String(allow_none=True, required=True)


class Delivery(Schema):
    id = fields.String(required=True)
    submissionId = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    lastError = fields.String(allow_none=True, required=True)
    nextAttemptAt = fields.String(allow_none=True, required=True)
    deliveredAt = fields.String(allow_none=True, required=True)


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(Delivery), required=True)
    nextCursor = fields.String(allow_none=True, required=True)


class AdminUser(Schema):
    userId = fields.String(required=True)
    userMetadata = fields.Dict(required=True)
    trustedKeys = fields.List(fields.String(), required=True)


class Health(Schema):
    status = fields.String(required=True)
