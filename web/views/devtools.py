"""``/dev/preview``: a form as two identities see it, side by side, with the
explanation of every field and the differences marked; given answers, what
the rules show and require for each, and what a submit would keep.

Only registered with ``PREFILL_DEV=1`` (``make run`` sets it): it renders any
form for any identity typed into the page, which is a tool for authors, never
for production. It reads nothing from and writes nothing to the database, and
sends no sensitive value back to the browser: the identities and answers typed
in come back with those values redacted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request

from forms.errors import PrefillError
from forms.explain import explain
from forms.explain_answers import as_json, explain_answers
from forms.identity import identity_from
from forms.sensitive import REDACTED, SensitiveKeys, redact
from web.render.pages import field_html
from web.state import state

bp = Blueprint("devtools", __name__, url_prefix="/dev")

SAMPLES: dict[str, dict[str, Any]] = {
    "Anonymous": {},
    "Pat (pro, signed)": {"userId": "demo-pro-1", "userMetadata": {"email": "pat@example.com", "name": "Pat Pro"},
                          "trusted": {"plan": "pro"}},
    "Erin (enterprise, signed)": {"userId": "demo-ent-1", "userMetadata": {"email": "erin@example.com"},
                                  "trusted": {"plan": "enterprise", "company": "Big Corp"}},
    "Cody (claims enterprise)": {"userId": "demo-claim-1", "verified": False,
                                 "userMetadata": {"Email": "cody@example.com", "plan": "enterprise"}},
}


def _json_object(text: str, what: str) -> dict[str, Any]:
    data = json.loads(text or "{}")
    if not isinstance(data, dict):
        raise ValueError(f"{what} is a JSON object")
    return data


def _side(form: str, text: str, args: dict[str, str], answers: dict[str, Any],
          secrets: frozenset[str]) -> dict[str, Any]:
    """One column: the form resolved for the identity in ``text`` and explained
    for ``answers`` (``secrets``, both identities' sensitive values, redacted), or the problem."""
    try:
        data = _json_object(text, "an identity")
    except ValueError as exc:
        return {"error": f"Not a JSON identity: {exc}"}
    st = state()
    identity = identity_from(data)
    try:
        schema, resolved = st.engine.resolve_with_schema(form, args, identity)
    except PrefillError as exc:
        return {"error": f"{exc.code}: {exc.message}"}
    html = dict(zip((f.name for f in resolved.fields), field_html(resolved), strict=True))
    decided = explain_answers(schema, resolved, answers, identity, st.sensitive, secrets)
    rows = [(note, answer, html.get(note.name))
            for note, answer in zip(explain(schema, resolved, identity, st.sensitive), decided.fields, strict=True)]
    kept = None if decided.submit.kept is None else json.dumps(decided.submit.kept, indent=2, ensure_ascii=False)
    return {"form": resolved, "rows": rows, "submit": decided.submit, "kept": kept}


def _secrets(sensitive: SensitiveKeys, *texts: str) -> frozenset[str]:
    """The sensitive values of the identities typed in (those that parse)."""
    found: set[str] = set()
    for text in texts:
        try:
            data = _json_object(text, "an identity")
        except ValueError:
            continue
        found |= sensitive.secret_values(data)
    return frozenset(found)


def _redacted(value: Any, sensitive: SensitiveKeys, secrets: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: REDACTED if sensitive.is_sensitive(str(k)) else _redacted(v, sensitive, secrets)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, sensitive, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and str(value) in secrets:
        return REDACTED
    return value


def _echo(text: str, sensitive: SensitiveKeys, secrets: frozenset[str]) -> str:
    """What the author typed, as the page shows it again: JSON with every
    sensitive value redacted; text that is not JSON only if it carries none."""
    try:
        data = json.loads(text)
    except ValueError:
        return redact(text, secrets)
    return json.dumps(_redacted(data, sensitive, secrets), indent=2, ensure_ascii=False)


def _differs(left: dict[str, Any], right: dict[str, Any]) -> set[str]:
    if "form" not in left or "form" not in right:
        return set()
    a = {f.name: f.to_json() for f in left["form"].fields}
    b = {f.name: f.to_json() for f in right["form"].fields}
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


@bp.route("/preview", methods=["GET", "POST"])
def preview() -> tuple[Response, int]:
    """The controls; with a POST (or a GET carrying identities or answers),
    both sides explained."""
    st = state()
    names = sorted(p.name for p in st.registry)
    samples = {label: json.dumps(data, indent=2) for label, data in SAMPLES.items()}
    values = request.form if request.method == "POST" else request.args
    form = values.get("form") or (names[0] if names else "")
    left_text = values.get("left", samples["Anonymous"])
    right_text = values.get("right", samples["Erin (enterprise, signed)"])
    answers_text = values.get("answers", "{}")
    args = dict(pair.split("=", 1) for pair in values.get("args", "").split("&") if "=" in pair)
    secrets = _secrets(st.sensitive, left_text, right_text)
    context: dict[str, Any] = {"names": names, "samples": samples, "form": form, "args": values.get("args", ""),
                               "left_text": _echo(left_text, st.sensitive, secrets),
                               "right_text": _echo(right_text, st.sensitive, secrets),
                               "answers_text": _echo(answers_text, st.sensitive, secrets),
                               "redacted": REDACTED, "as_json": as_json}
    status = 200
    asked = request.method == "POST" or any(k in values for k in ("left", "right", "answers"))
    if asked and form:
        try:
            answers = _json_object(answers_text, "the answers")
        except ValueError as exc:
            context["answers_error"] = f"Not JSON answers: {exc}"
            answers = {}
        left, right = (_side(form, text, args, answers, secrets) for text in (left_text, right_text))
        status = 400 if "error" in left or "error" in right or "answers_error" in context else 200
        context.update(left=left, right=right, differs=_differs(left, right))
    page = render_template("dev_preview.html", **context)
    return Response(page, mimetype="text/html"), status
