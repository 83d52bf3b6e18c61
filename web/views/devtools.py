"""``/dev/preview``: a form as two identities see it, side by side, with the
explanation of every field and the differences marked.

Only registered with ``PREFILL_DEV=1`` (``make run`` sets it): it renders any
form for any identity typed into the page, which is a tool for authors, never
for production. It reads nothing from and writes nothing to the database.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template, request

from forms.errors import PrefillError
from forms.explain import explain
from forms.identity import identity_from
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


def _side(form: str, text: str, args: dict[str, str]) -> dict[str, Any]:
    """One column: the form resolved for the identity in ``text``, or the problem."""
    try:
        data = json.loads(text or "{}")
        if not isinstance(data, dict):
            raise ValueError("an identity is a JSON object")
    except ValueError as exc:
        return {"error": f"Not a JSON identity: {exc}"}
    st = state()
    identity = identity_from(data)
    try:
        schema, resolved = st.engine.resolve_with_schema(form, args, identity)
    except PrefillError as exc:
        return {"error": f"{exc.code}: {exc.message}"}
    with_html = dict(zip((f.name for f in resolved.fields), field_html(resolved), strict=True))
    notes = {n.name: n for n in explain(schema, resolved, identity, st.sensitive)}
    return {"form": resolved, "html": with_html, "notes": notes}


def _differs(left: dict[str, Any], right: dict[str, Any]) -> set[str]:
    if "form" not in left or "form" not in right:
        return set()
    a = {f.name: f.to_json() for f in left["form"].fields}
    b = {f.name: f.to_json() for f in right["form"].fields}
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


@bp.route("/preview", methods=["GET", "POST"])
def preview() -> tuple[Response, int]:
    names = sorted(p.name for p in state().registry)
    samples = {label: json.dumps(data, indent=2) for label, data in SAMPLES.items()}
    values = request.form if request.method == "POST" else request.args
    form = values.get("form") or (names[0] if names else "")
    left_text = values.get("left", samples["Anonymous"])
    right_text = values.get("right", samples["Erin (enterprise, signed)"])
    args = dict(pair.split("=", 1) for pair in values.get("args", "").split("&") if "=" in pair)
    context: dict[str, Any] = {"names": names, "samples": samples, "form": form, "left_text": left_text,
                               "right_text": right_text, "args": values.get("args", "")}
    status = 200
    if request.method == "POST" and form:
        left, right = _side(form, left_text, args), _side(form, right_text, args)
        status = 400 if "error" in left or "error" in right else 200
        context.update(left=left, right=right, differs=_differs(left, right))
    page = render_template("dev_preview.html", **context)
    return Response(page, mimetype="text/html"), status
