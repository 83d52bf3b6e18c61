"""The conditional support form (``bench/providers_conditional.py``) written by
hand with Flask + WTForms + Jinja2, as a developer would without Prefill.

The page carries the same fields and markup as Prefill's (wrappers, labels,
the rules as plain ``data-`` attributes for a page script, counters, help).
The submit runs the same checks, written by hand: the visibility conditions
as Python ifs (a hidden field is dropped whatever was sent, and not
required), the required-if conditions, the option hidden by its condition,
each multi-select's values among its options and at most its maximum; the
locked email is the signed-in user's. WTForms parses the values and runs the
per-field checks (lengths, number, choices). One insert stores it, as in the
plain submit's baseline.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import Engine, text
from werkzeug.datastructures import MultiDict
from wtforms import (
    EmailField,
    FloatField,
    Form,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange
from wtforms.widgets import CheckboxInput

TABLE = ("CREATE TABLE IF NOT EXISTS bench_cond_submissions (id VARCHAR(40) PRIMARY KEY, email TEXT, "
         "subject TEXT, category TEXT, message TEXT, details TEXT)")
INSERT = text("INSERT INTO bench_cond_submissions (id, email, subject, category, message, details) "
              "VALUES (:id, :email, :subject, :category, :message, :details)")

CHOOSE = SelectChoice("", "Choose…")


def _choices(*pairs: str) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in zip(pairs[::2], pairs[1::2], strict=True)]


def _checkboxes(label: str, choices: list[SelectChoice]) -> SelectMultipleField:
    return SelectMultipleField(label, choices=choices, option_widget=CheckboxInput())


class ConditionalTicketForm(Form):
    email = EmailField("Email")
    subject = StringField("Subject", [Length(max=200)])
    category = SelectField("Category", choices=[CHOOSE, *_choices("question", "A question", "billing", "Billing",
                                                                  "bug", "Something is broken", "account",
                                                                  "My account")])
    products = _checkboxes("Products concerned", _choices("web", "Web app", "mobile", "Mobile app", "api", "API",
                                                          "desktop", "Desktop app"))
    invoice = StringField("Invoice number", [Length(max=40)])
    billing_issue = RadioField("What is wrong", choices=_choices("charge", "An unexpected charge", "refund",
                                                                 "I want a refund", "copy", "A copy of an invoice"))
    refund_reason = TextAreaField("Why a refund", [Length(max=2000)])
    amount = FloatField("Amount", [NumberRange(min=0)])
    severity = SelectField("Severity", choices=[
        CHOOSE, *_choices("low", "Low", "normal", "Normal", "high", "High"),
        SelectChoice("critical", "Critical", {"data-visible-if": '{"in":["api",{"var":"products"}]}'})])
    platforms = SelectMultipleField("Platforms", choices=_choices("windows", "Windows", "macos", "macOS", "linux",
                                                                  "Linux", "ios", "iOS", "android", "Android"))
    steps = TextAreaField("Steps to reproduce", [Length(max=5000)])
    browser = StringField("Browser", [Length(max=100)])
    api_version = SelectField("API version", choices=[CHOOSE, *_choices("v1", "v1", "v2", "v2", "v3", "v3")])
    error_code = StringField("Error code", [Length(max=64)])
    account_id = StringField("Account ID", [Length(max=40)])
    changes = _checkboxes("Changes wanted", _choices("email", "Change the email", "plan", "Change the plan", "owner",
                                                     "Transfer ownership", "delete", "Delete the account"))
    message = TextAreaField("Message", [Length(max=10000)])


ALWAYS = ("email", "subject", "category", "products", "message")
REQUIRED = {"email", "subject", "category", "invoice", "billing_issue", "severity", "account_id", "changes",
            "message"}
MAX_ITEMS = {"products": 3, "platforms": 3, "changes": 2}


def shown(values: dict[str, Any]) -> set[str]:
    """The visibility conditions. A hidden field counts as unanswered for the
    others: ``billing_issue`` is read only when billing shows it."""
    category, products = values.get("category"), values.get("products") or ()
    fields = set(ALWAYS)
    if category == "billing":
        fields |= {"invoice", "billing_issue"}
        issue = values.get("billing_issue")
        if issue == "refund":
            fields.add("refund_reason")
        if issue in ("charge", "refund"):
            fields.add("amount")
    elif category == "bug":
        fields |= {"severity", "platforms", "steps", "error_code"}
        if "web" in products:
            fields.add("browser")
        if "api" in products:
            fields.add("api_version")
    elif category == "account":
        fields |= {"account_id", "changes"}
    return fields


def required(name: str, values: dict[str, Any]) -> bool:
    """Required, or required by its condition (for a shown field)."""
    if name in REQUIRED:
        return True
    if name == "amount":
        return values.get("billing_issue") == "refund"
    if name == "steps":
        return values.get("severity") in ("high", "critical")
    if name == "api_version":
        return "api" in (values.get("products") or ())
    if name == "error_code":
        return values.get("severity") == "critical"
    return False


def check(values: dict[str, Any], email: str | None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(the values to store, errors by field)."""
    form = ConditionalTicketForm(MultiDict(values))
    errors = {name: ["Unknown field."] for name in values if name not in form._fields}
    visible = shown(values)
    clean: dict[str, Any] = {}
    for name, field in form._fields.items():
        if name not in visible:
            continue  # hidden: not required, not checked, not stored
        if name == "email":  # locked: the signed-in user's, whatever was sent
            clean[name] = email
            if not email:
                errors[name] = ["This field is required but no value is on file."]
            continue
        data = field.data
        if data is None or data == "" or data == []:
            if required(name, values):
                errors[name] = ["This field is required."]
            clean[name] = [] if name in MAX_ITEMS else None
            continue
        if not field.validate(form):
            errors[name] = list(field.errors)
        elif name in MAX_ITEMS and len(data) > MAX_ITEMS[name]:
            errors[name] = [f"Choose at most {MAX_ITEMS[name]}."]
        elif name == "severity" and data == "critical" and "api" not in (values.get("products") or ()):
            errors[name] = ["Not a valid choice."]
        clean[name] = data
    return clean, errors


# The same markup Prefill serves for this form, written by hand.
PAGE = (Path(__file__).parent / "baseline_conditional.html").read_text()
KINDS = {"email": "email", "subject": "text", "category": "select", "products": "checkboxes", "invoice": "text",
         "billing_issue": "radio", "refund_reason": "textarea", "amount": "number", "severity": "select",
         "platforms": "select", "steps": "textarea", "browser": "text", "api_version": "select",
         "error_code": "text", "account_id": "text", "changes": "checkboxes", "message": "textarea"}
MULTIPLE = ("products", "platforms", "changes")
ATTRS = {"email": {"readonly": True, "required": True, "autocomplete": "email", "class": "locked", "data-known": "1",
                   "aria-describedby": "email-source"},
         "subject": {"required": True, "maxlength": 200}, "category": {"required": True},
         "invoice": {"maxlength": 40}, "refund_reason": {"maxlength": 2000}, "amount": {"min": 0},
         "steps": {"maxlength": 5000, "aria-describedby": "steps-help"},
         "browser": {"maxlength": 100}, "error_code": {"maxlength": 64}, "account_id": {"maxlength": 40},
         "message": {"required": True, "maxlength": 10000}}
_BILLING = '{"==":[{"var":"category"},"billing"]}'
_BUG = '{"==":[{"var":"category"},"bug"]}'
_ACCOUNT = '{"==":[{"var":"category"},"account"]}'
RULES = {
    "products": {"data-multiple": ""},
    "invoice": {"data-visible-if": _BILLING, "data-reads": "category", "data-required": ""},
    "billing_issue": {"data-visible-if": _BILLING, "data-reads": "category", "data-required": ""},
    "refund_reason": {"data-visible-if": '{"==":[{"var":"billing_issue"},"refund"]}', "data-reads": "billing_issue"},
    "amount": {"data-visible-if": '{"in":[{"var":"billing_issue"},["charge","refund"]]}',
               "data-reads": "billing_issue", "data-required-if": '{"==":[{"var":"billing_issue"},"refund"]}'},
    "severity": {"data-visible-if": _BUG, "data-reads": "category products", "data-required": ""},
    "platforms": {"data-multiple": "", "data-visible-if": _BUG, "data-reads": "category"},
    "steps": {"data-visible-if": _BUG, "data-reads": "category",
              "data-required-if": '{"in":[{"var":"severity"},["high","critical"]]}'},
    "browser": {"data-visible-if": '{"and":[' + _BUG + ',{"in":["web",{"var":"products"}]}]}',
                "data-reads": "category products"},
    "api_version": {"data-visible-if": '{"and":[' + _BUG + ',{"in":["api",{"var":"products"}]}]}',
                    "data-reads": "category products", "data-required-if": '{"in":["api",{"var":"products"}]}'},
    "error_code": {"data-visible-if": _BUG, "data-reads": "category",
                   "data-required-if": '{"==":[{"var":"severity"},"critical"]}'},
    "account_id": {"data-visible-if": _ACCOUNT, "data-reads": "category", "data-required": ""},
    "changes": {"data-multiple": "", "data-visible-if": _ACCOUNT, "data-reads": "category", "data-required": ""},
}


def register(app: Flask, db: Engine, user: Callable[[], dict[str, Any]]) -> None:
    """``GET /cond-form`` and ``POST /cond-submit`` on ``app``; ``user()`` is the
    app's own lookup of the signed-in user's profile."""
    page = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be

    @app.get("/cond-form")
    def conditional_form() -> str:
        data = user()
        wtform = ConditionalTicketForm(data={"email": data.get("email")})
        return page.render(form=wtform, attrs=ATTRS, kinds=KINDS, rules=RULES, required=REQUIRED,
                           multiple=MULTIPLE, known=["email"] if data.get("email") else [],
                           csrf=secrets.token_hex(20), key=secrets.token_urlsafe(16))

    @app.post("/cond-submit")
    def conditional_submit() -> Any:
        values = request.get_json()["values"]
        clean, errors = check(values, user().get("email"))
        if errors:
            return jsonify({"error": errors}), 422
        sid = "sub_" + secrets.token_hex(12)
        fixed = {name: clean.pop(name) for name in ("email", "subject", "category", "message")}
        with db.begin() as conn:
            conn.execute(INSERT, {"id": sid, **fixed, "details": json.dumps(clean)})
        return jsonify({"id": sid, "values": {**fixed, **clean}}), 201
