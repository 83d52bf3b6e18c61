"""The hand-written support form, one definition for both baselines: the
gunicorn bench's app (``bench/baseline_wsgi.py``) and the in-process one
(``bench/baseline.py``). The fields of Prefill's built-in ``support_ticket``
(schema_providers/builtin.py) as a WTForms class, the page Prefill serves a
verified user written by hand (``bench/baseline_support.html``), and the JSON
document Prefill answers, built from the same data; the priorities follow the
user's trusted plan, and a known value is marked as from the account
(trusted) or the sign-in (claimed), as Prefill does.

The bench users (``bench.gunicorn_bench.seed``, ``bench/run.py``) are verified
users on the enterprise plan with the profile :func:`bench_profile` gives."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import Template
from sqlalchemy import text
from wtforms import EmailField, FileField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from bench.baseline_conditional import CHOOSE, _checkboxes, _choices

HERE = Path(__file__).resolve().parent
STANDARD_PRIORITIES = _choices("high", "High", "normal", "Normal", "low", "Low")
ENTERPRISE_PRIORITIES = _choices("critical", "Critical", "high", "High", "normal", "Normal")


def bench_profile(k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the sign-in claims, what is trusted) of bench user ``k``."""
    return {"email": f"u{k}@example.com", "name": f"User {k}"}, {"email": f"u{k}@example.com", "plan": "enterprise"}


# The user's (claims, trusted) by a session's token hash: a hand-written identity lookup.
LOOKUP = text("SELECT u.claimed, u.trusted FROM sessions s JOIN users u ON u.user_id = s.user_id "
              "WHERE s.token_hash = :h")


class SupportForm(Form):
    """The fields of the built-in ``support_ticket`` (schema_providers/builtin.py)."""

    email = EmailField("Email")
    name = StringField("Name")
    company = StringField("Company")
    subject = StringField("Subject", [Length(max=200)])
    category = SelectField("Category", choices=[CHOOSE, *_choices("question", "A question", "billing", "Billing",
                                                                  "bug", "Something is broken")], default="")
    invoice = StringField("Invoice number", [Length(max=40)])
    affected = _checkboxes("Affected products", _choices("web", "Web app", "mobile", "Mobile app", "api", "API"))
    steps = TextAreaField("Steps to reproduce", [Length(max=5000)])
    priority = SelectField("Priority", choices=[], default="")  # by the user's plan, per request
    message = TextAreaField("Message", [Length(max=10000)])
    screenshot = FileField("Screenshot")


# The same markup Prefill serves for a verified user (head, badges, ARIA,
# rules as data- attributes, counters, help, the file field's drop zone,
# scripts), written by hand: tests/test_bench_smoke.py holds them equal.
PAGE = (HERE / "baseline_support.html").read_text()
TITLE = "Contact support"
DESCRIPTION = "Tell us what went wrong; we answer within one business day."
SUBMIT_LABEL = "Send ticket"
KINDS = {"email": "email", "name": "text", "company": "text", "subject": "text", "category": "select",
         "invoice": "text", "affected": "checkboxes", "steps": "textarea", "priority": "select",
         "message": "textarea", "screenshot": "file"}
ATTRS = {"email": {"required": True, "autocomplete": "email"}, "name": {"autocomplete": "name"},
         "company": {"autocomplete": "organization"}, "subject": {"required": True, "maxlength": 200},
         "invoice": {"maxlength": 40}, "steps": {"maxlength": 5000, "aria-describedby": "steps-help"},
         "priority": {"required": True}, "message": {"required": True, "maxlength": 10000},
         "screenshot": {"accept": "image/png,image/jpeg,image/gif,image/webp",
                        "aria-describedby": "screenshot-limits screenshot-help"}}
LOCKED = {"readonly": True, "class": "locked", "data-known": "1"}  # the known email
_BILLING = '{"==":[{"var":"category"},"billing"]}'
_BUG = '{"==":[{"var":"category"},"bug"]}'
RULES = {"invoice": {"data-visible-if": _BILLING, "data-reads": "category", "data-required": ""},
         "affected": {"data-multiple": "", "data-visible-if": _BUG, "data-reads": "category"},
         "steps": {"data-visible-if": _BUG, "data-reads": "category",
                   "data-required-if": '{"in":["api",{"var":"affected"}]}'}}
REQUIRED = {"email", "subject", "invoice", "priority", "message"}
REQUIRED_IF = ("steps",)
MULTIPLE = ("affected",)
HELPS = {"steps": "Required for API problems.", "screenshot": "A picture of what you see helps us help you."}
KNOWN = ("email", "name", "company")  # prefilled from the profile: a trusted value first, then the sign-in's claim
NOTES = {"trusted": "From your account", "claimed": "From your sign-in"}
# Linked with a content version, as Prefill links them (computed once at start).
THEME_CSS = ":root{--prefill-accent:#1f4fd1;--prefill-accent-text:#ffffff;--prefill-radius:6px}\n"
ASSETS = ("prefill.css", "favicon.svg", "form.js", "uploads.js", "rules.js", "conditions.js")


def _version(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


VERSIONS = {**{name: _version((HERE.parent / "static" / name).read_bytes()) for name in ASSETS},
            "theme.css": _version(THEME_CSS.encode())}


def compile_page(app: Flask) -> Template:
    """The page with Prefill's Jinja settings; compiled once, as a template file would be."""
    return app.jinja_env.overlay(trim_blocks=True, lstrip_blocks=True).from_string(PAGE)


def known(claimed: dict[str, Any], trusted: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """(value, where it is from) of each field the profile fills."""
    found = {}
    for name in KNOWN:
        for source, values in (("trusted", trusted), ("claimed", claimed)):
            if values.get(name):
                found[name] = (values[name], source)
                break
    return found


def priorities(trusted: dict[str, Any]) -> list[Any]:
    return ENTERPRISE_PRIORITIES if trusted.get("plan") == "enterprise" else STANDARD_PRIORITIES


def render_page(page: Template, claimed: dict[str, Any], trusted: dict[str, Any], subject: str | None) -> str:
    """The support page for this profile; ``subject`` from the query."""
    values: dict[str, Any] = {"subject": subject}
    attrs = {**ATTRS}
    notes = {}
    for name, (value, source) in known(claimed, trusted).items():
        values[name], notes[name] = value, NOTES[source]
        attrs[name] = {**ATTRS[name], "aria-describedby": f"{name}-source"}
    if "email" in notes:
        attrs["email"] = {**attrs["email"], **LOCKED}
    wtform = SupportForm(data=values)
    wtform.priority.choices = [CHOOSE, *priorities(trusted)]
    return page.render(form=wtform, attrs=attrs, kinds=KINDS, rules=RULES, required=REQUIRED,
                       required_if=REQUIRED_IF, multiple=MULTIPLE, known=notes, helps=HELPS, v=VERSIONS,
                       csrf=secrets.token_hex(20), key=secrets.token_urlsafe(16))


def _options(choices: list[Any]) -> list[dict[str, str]]:
    return [{"label": c.label, "value": c.value} for c in choices if c.value]


# What the JSON document says of each field beyond the page's data.
_JSON_EXTRAS: dict[str, dict[str, Any]] = {
    "affected": {"multiple": True, "minItems": None, "maxItems": 3},
    "screenshot": {"accept": ATTRS["screenshot"]["accept"].split(","), "maxSize": 5 * 1024 * 1024, "maxFiles": 1},
}


def _json_field(field: Any) -> dict[str, Any]:
    """A field of the JSON document, from the same definition as the page."""
    name, attrs, rules = field.name, ATTRS.get(field.name, {}), RULES.get(field.name, {})
    options = _options(getattr(field, "choices", None) or [])
    out = {"name": name, "label": field.label.text, "type": KINDS[name], "required": name in REQUIRED,
           "value": None, "disabled": False, "options": options or None, "placeholder": None,
           "help": HELPS.get(name), "minLength": None,
           "maxLength": attrs.get("maxlength"), "min": None, "max": None, "pattern": None, "patternMessage": None,
           "autocomplete": attrs.get("autocomplete"), "source": None, **_JSON_EXTRAS.get(name, {})}
    for key, attr in (("visibleIf", "data-visible-if"), ("requiredIf", "data-required-if")):
        if attr in rules:
            out[key] = json.loads(rules[attr])
    return out


JSON_FIELDS = [_json_field(f) for f in SupportForm()]  # the parts no user changes


def support_json(claimed: dict[str, Any], trusted: dict[str, Any], subject: str | None) -> dict[str, Any]:
    """The document Prefill's ``GET /api/forms/support_ticket`` answers this profile."""
    fill = {name: {"value": value, "source": source} for name, (value, source) in known(claimed, trusted).items()}
    if "email" in fill:
        fill["email"]["disabled"] = True  # locked when known
    if subject:
        fill["subject"] = {"value": subject, "source": "default"}
    fill["priority"] = {"options": _options(priorities(trusted))}
    return {"name": "support_ticket", "title": TITLE, "description": DESCRIPTION, "submitLabel": SUBMIT_LABEL,
            "fields": [{**f, **fill[f["name"]]} if f["name"] in fill else f for f in JSON_FIELDS]}
