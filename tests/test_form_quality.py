"""Forms people can trust (issue 8) over HTTP: errors tied to their controls,
the thanks page, languages, the theme and brand, and the catalogues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app import ROOT

LANGS = ("de", "fr", "es")


def csrf_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(csrf_token|form_key)" value="([^"]+)"', html))


def post_empty(client, name="support_ticket", lang=None, **values):
    headers = {"Accept-Language": lang} if lang else {}
    page = client.get(f"/forms/{name}", headers=headers).get_data(as_text=True)
    return client.post(f"/forms/{name}", data={**csrf_of(page), **values}, headers=headers)


# -- errors people can act on ----------------------------------------------------------
def test_a_422_names_each_problem_at_its_control_and_in_a_summary(client):
    r = post_empty(client, email="not-an-email")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r"<title>Error: Contact support</title>", html)
    summary = re.search(r'<div class="notice error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert summary and "autofocus" in summary.group(0) and 'tabindex="-1"' in summary.group(0)
    links = re.findall(r'<a href="#(\w+)">([^<]+)</a>', summary.group(1))
    assert [anchor for anchor, _ in links] == ["email", "subject", "priority", "message"]
    assert ("email", "Email: Must be an email address.") in links
    for name in ("email", "subject", "priority", "message"):
        control = re.search(rf'<(input|select|textarea)[^>]*id="{name}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in control
        assert f"{name}-errors" in re.search(r'aria-describedby="([^"]+)"', control).group(1)
        assert f'<ul class="errors" id="{name}-errors">' in html
    name = re.search(r'<input[^>]*id="name"[^>]*>', html).group(0)
    assert "aria-invalid" not in name  # only the invalid ones


def test_an_invalid_radio_group_is_described_and_each_radio_marked(make_app):
    c = make_app(PREFILL_BUILTIN_FORMS=True).test_client()
    html = post_empty(c, "refund").get_data(as_text=True)
    assert re.search(r'<fieldset aria-describedby="[^"]*reason-errors', html)
    assert all('aria-invalid="true"' in r for r in re.findall(r'<input[^>]*name="reason"[^>]*>', html))
    assert '<a href="#reason-0">' in html  # the summary links to the first choice


# -- the thanks page ------------------------------------------------------------------------
def test_the_thanks_page_shows_what_was_sent_to_its_sender_only(client, app):
    page = client.get("/forms/support_ticket").get_data(as_text=True)
    r = client.post("/forms/support_ticket", data={**csrf_of(page), "email": "a@example.com", "subject": "Broken",
                                                   "priority": "high", "message": "It broke."})
    assert r.status_code == 303
    thanks = client.get(r.headers["Location"]).get_data(as_text=True)
    sent = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", thanks))
    assert sent == {"Email": "a@example.com", "Subject": "Broken", "Priority": "High", "Message": "It broke."}
    stranger = app.test_client().get(r.headers["Location"]).get_data(as_text=True)
    assert "Broken" not in stranger and "<dl" not in stranger and "Thank you" in stranger


def test_sensitive_and_hidden_fields_are_not_shown_on_the_thanks_page(client):
    page = client.get("/forms/localized").get_data(as_text=True)
    r = client.post("/forms/localized", data={**csrf_of(page), "message": "hi", "password": "hunter2",
                                               "count": "2000"})
    thanks = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "hi" in thanks and "2000" in thanks and "hunter2" not in thanks and "Password" not in thanks


# -- languages ---------------------------------------------------------------------------------
WORDS = {
    "de": ("Fehler:", "Dieses Feld ist erforderlich.", "Vielen Dank", "Weitere senden"),
    "fr": ("Erreur :", "Ce champ est obligatoire.", "Merci", "En envoyer une autre"),
    "es": ("Error:", "Este campo es obligatorio.", "Gracias", "Enviar otra"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_422_and_thanks_pages_are_translated(client, lang):
    error_title, required, thanks_title, again = WORDS[lang]
    html = post_empty(client, lang=lang).get_data(as_text=True)
    assert f'lang="{lang}"' in html and f"<title>{error_title} Contact support</title>" in html
    assert required in html and "This field is required." not in html
    page = client.get("/forms/support_ticket", headers={"Accept-Language": lang}).get_data(as_text=True)
    r = client.post("/forms/support_ticket", headers={"Accept-Language": lang}, data={
        **csrf_of(page), "email": "a@example.com", "subject": "S", "priority": "low", "message": "M"})
    thanks = client.get(r.headers["Location"], headers={"Accept-Language": lang}).get_data(as_text=True)
    assert thanks_title in thanks and again in thanks and "What you sent" not in thanks


def test_accept_language_de_for_an_anonymous_visitor(client):
    html = client.get("/forms/support_ticket", headers={"Accept-Language": "de-CH, en;q=0.5"}).get_data(as_text=True)
    assert 'lang="de"' in html and "Bitte wählen…" in html
    assert 'lang="en"' in client.get("/forms/support_ticket", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_the_users_locale_wins_and_providers_see_it(client):
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {"locale": "fr-CA"}})
    html = client.get("/forms/localized", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'lang="fr"' in html and ">Message<" in html
    client.post("/api/session/metadata", json={"metadata": {}})
    other = client.application.test_client()
    other.post("/api/identify", json={"userId": "u2"})
    other.post("/api/session/metadata", json={"metadata": {"language": "es"}})
    assert ">Mensaje<" in other.get("/forms/localized").get_data(as_text=True)
    anonymous = client.application.test_client()
    assert ">Nachricht<" in anonymous.get("/forms/localized", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert ">Message<" in anonymous.get("/forms/localized").get_data(as_text=True)  # one cache, two languages


def test_numbers_and_dates_in_messages_follow_the_locale(client):
    de = post_empty(client, "localized", lang="de", message="x", count="5").get_data(as_text=True)
    assert "Muss mindestens 1.000 sein." in de
    fr = post_empty(client, "all_types", lang="fr", date="2019-05-01", text="ab").get_data(as_text=True)
    assert "Doit être le 1 janv. 2020 ou après." in fr


def test_the_json_api_speaks_english_to_integrators(client):
    r = client.post("/api/forms/support_ticket/submissions", json={"values": {}}, headers={"Accept-Language": "de"})
    assert r.status_code == 422 and r.json["error"]["fields"]["subject"] == ["This field is required."]


def test_every_catalogue_translates_every_string_and_is_compiled():
    with open(ROOT / "translations" / "messages.pot", "rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    assert len(wanted) > 50
    for lang in LANGS:
        folder = ROOT / "translations" / lang / "LC_MESSAGES"
        with open(folder / "messages.po", "rb") as handle:
            po = {m.id: m.string for m in read_po(handle) if m.id}
        assert set(po) == wanted and all(po.values()), lang
        with open(folder / "messages.mo", "rb") as handle:
            mo = {m.id: m.string for m in read_mo(handle) if m.id}
        assert mo == po, f"{lang}: run pybabel compile -d translations"


def test_the_template_is_current():
    """Every marked string is in messages.pot (pybabel extract, as in babel.cfg)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "now.pot"
        subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract", "-F", "babel.cfg", "-k", "N_",
                        "--no-location", "--omit-header", "-o", str(out), "."], cwd=ROOT, check=True,
                       capture_output=True)
        with open(out, "rb") as handle:
            now = {m.id for m in read_po(handle) if m.id}
    with open(ROOT / "translations" / "messages.pot", "rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == now


# -- theme and brand ---------------------------------------------------------------------
def test_theme_css_takes_the_operators_and_the_embeds_accent(make_app):
    c = make_app(THEME_ACCENT="#aa2200", THEME_RADIUS="10px").test_client()
    css = c.get("/theme.css").get_data(as_text=True)
    assert "--prefill-accent:#aa2200" in css and "--prefill-radius:10px" in css
    assert "--prefill-accent:#00aa55" in c.get("/theme.css?accent=%2300aa55").get_data(as_text=True)
    assert "--prefill-accent-text:#1b1d22" in c.get("/theme.css?accent=%23ffee88").get_data(as_text=True)  # light
    for bad in ("red", "#12345", "#1234567", "url(x)", "#aa2200;}body{display:none"):
        assert "--prefill-accent:#aa2200" in c.get("/theme.css", query_string={"accent": bad}).get_data(as_text=True)
    html = c.get("/forms/support_ticket?embed=1&accent=%2300aa55&theme=dark").get_data(as_text=True)
    assert 'data-theme="dark"' in html and "/theme.css?accent=%2300aa55" in html
    assert "data-theme" not in c.get("/forms/support_ticket?embed=1&theme=blue").get_data(as_text=True)


def test_the_brand_replaces_the_product_bar(make_app):
    plain = make_app().test_client().get("/forms/support_ticket")
    assert 'class="brand"' not in plain.get_data(as_text=True)
    c = make_app(BRAND_NAME="Acme Support", BRAND_LOGO_URL="https://cdn.acme.example/logo.svg").test_client()
    r = c.get("/forms/support_ticket")
    html = r.get_data(as_text=True)
    assert '<header class="brand">' in html and "Acme Support" in html
    assert 'src="https://cdn.acme.example/logo.svg"' in html
    assert "img-src 'self' data: https://cdn.acme.example;" in r.headers["Content-Security-Policy"]
    assert 'class="brand"' not in c.get("/forms/support_ticket?embed=1").get_data(as_text=True)


def test_the_demo_names_the_active_user_and_what_differs(make_app):
    c = make_app(PREFILL_DEMO=True).test_client()
    html = c.get("/").get_data(as_text=True)
    assert re.search(r'id="current-user">Anonymous visitor<', html)
    assert "A signed enterprise plan unlocks the Critical priority." in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    c.post("/demo/persona", data={"csrf_token": csrf, "persona": "claims-enterprise"})
    html = c.get("/").get_data(as_text=True)
    assert re.search(r'id="current-user">Cody \(claims enterprise, unsigned plan\)<', html)
    assert re.search(r'aria-pressed="true">Cody', html)
