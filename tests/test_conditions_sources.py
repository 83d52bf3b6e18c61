"""Every kind of provider takes the same rules: declared (YAML) forms and HTTP
providers' answers, beside Python providers and ad-hoc forms (test_conditions)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

RULED = [
    {"name": "category", "type": "select", "options": [{"label": "Billing", "value": "billing"},
                                                        {"label": "Bug", "value": "bug"}]},
    {"name": "invoice", "required": True, "visibleIf": {"==": [{"var": "category"}, "billing"]}},
    {"name": "products", "type": "checkboxes", "maxItems": 1, "visibleIf": {"==": [{"var": "category"}, "bug"]},
     "options": [{"label": "App", "value": "app"}, {"label": "API", "value": "api"}]},
    {"name": "company", "saveToProfile": True},
    {"name": "role", "saveToProfile": True},
]

YAML = """
forms:
  ruled:
    title: Ruled
    progressive: {fields: [company, role], max: 1}
    fields:
      - {name: category, type: select, options: [{label: Billing, value: billing}, {label: Bug, value: bug}]}
      - name: invoice
        required: true
        visibleIf: {"==": [{var: category}, billing]}
      - name: products
        type: checkboxes
        maxItems: 1
        visibleIf: {"==": [{var: category}, bug]}
        options: [{label: App, value: app}, {label: API, value: api}]
      - {name: company, saveToProfile: true}
      - {name: role, saveToProfile: true}
"""


def check_rules_apply(c, form):
    names = [f["name"] for f in c.get(f"/api/forms/{form}").json["fields"]]
    assert names[:3] == ["category", "invoice", "products"]
    r = c.post(f"/api/forms/{form}/submissions", json={"values": {"category": "billing"}})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["invoice"]
    r = c.post(f"/api/forms/{form}/submissions",
               json={"values": {"category": "bug", "invoice": "dropped", "products": ["api"]}})
    assert r.status_code == 201 and "invoice" not in r.json["values"] and r.json["values"]["products"] == ["api"]
    r = c.post(f"/api/forms/{form}/submissions", json={"values": {"category": "bug", "products": ["api", "app"]}})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["products"]


def test_a_declared_form_takes_rules_multi_selects_and_profile_questions(make_app, tmp_path):
    path = tmp_path / "forms.yaml"
    path.write_text(YAML)
    c = make_app(PREFILL_CONFIG=str(path)).test_client()
    check_rules_apply(c, "ruled")
    assert [f["name"] for f in c.get("/api/forms/ruled").json["fields"]][3:] == ["company"]  # max: 1


def test_a_declared_rule_naming_no_field_stops_start_up(make_app, tmp_path):
    path = tmp_path / "forms.yaml"
    path.write_text(YAML.replace("{var: category}, billing", "{var: categry}, billing"))
    with pytest.raises(Exception, match=r"ruled.*invoice.*categry"):
        make_app(PREFILL_CONFIG=str(path))


@pytest.fixture
def upstream():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            payload = json.dumps({"title": "Remote", "fields": RULED}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_an_http_providers_answer_takes_the_same_rules(make_app, tmp_path, upstream):
    forms = {"remote": {"allowHosts": ["127.0.0.1"],
                        "http": {"url": f"http://127.0.0.1:{upstream.server_port}/forms/remote"}}}
    path = tmp_path / "forms.json"
    path.write_text(json.dumps({"forms": forms}))
    c = make_app(PREFILL_CONFIG=str(path)).test_client()
    check_rules_apply(c, "remote")
