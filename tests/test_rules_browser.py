"""static/rules.js in real Chromium: the conformance corpus, and random rules over
random answers answered exactly as forms.rules answers them (and as json-logic-js,
loaded into the same page, answers them). The script is loaded into a blank page:
no server is needed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given

from forms.rules import apply
from tests.rules_cases import (
    BATCHES,
    CASES,
    CORPUS,
    REFERENCE_JS,
    RULES_JS,
    answered,
    canon,
    need_reference,
    round_trip,
)

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")

# Each case through PrefillRules.apply, and through jsonLogic.apply when the page has it.
RUN = """([text, withReference]) => JSON.stringify(JSON.parse(text).map(([rule, data]) => {
  const run = (fn) => {
    try { const value = fn(rule, data); return value === undefined ? {undefined: true} : {value}; }
    catch (e) { return {error: String(e && e.message)}; }
  };
  return [run(PrefillRules.apply), withReference ? run(jsonLogic.apply) : null];
}))"""


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    blank = context.new_page()
    blank.add_script_tag(content=RULES_JS.read_text("utf-8"))
    if REFERENCE_JS.exists():
        blank.add_script_tag(path=str(REFERENCE_JS))  # sets window.jsonLogic
    yield blank
    context.close()


def run(page: Any, cases: list[list[Any]], with_reference: bool = False) -> list[list[Any]]:
    return json.loads(page.evaluate(RUN, [json.dumps(cases), with_reference]))


def test_rules_js_is_a_plain_script(page):
    assert page.evaluate("Object.keys(window.PrefillRules).sort()") == ["apply", "truthy"]
    assert page.evaluate("[PrefillRules.truthy([]), PrefillRules.truthy([0]), PrefillRules.truthy('0')]") == \
        [False, True, True]
    assert page.evaluate("typeof apply + typeof operations + typeof lookup") == "undefinedundefinedundefined"
    assert page.evaluate("(() => { try { PrefillRules.apply({cat: []}); } catch (e) { return e.message; } })()") \
        == "unknown operator cat"


def test_corpus_in_chromium(page):
    answers = run(page, [case[:2] for case in CORPUS])
    wrong = [(case, got) for case, (got, _) in zip(CORPUS, answers, strict=True) if answered(got) != canon(case[2])]
    assert not wrong, "\n".join(f"{json.dumps(case)} -> rules.js {got}" for case, got in wrong)


def test_corpus_through_json_logic_js_in_chromium(page):
    need_reference()
    answers = run(page, [case[:2] for case in CORPUS], with_reference=True)
    assert [case for case, (_, got) in zip(CORPUS, answers, strict=True) if answered(got) != canon(case[2])] == []


def test_var_reads_own_keys_and_array_indexes_only(page):
    """As forms.rules does: no JavaScript property (length, constructor ...) is an answer."""
    data = {"a": "text", "tags": ["x"]}
    names = ["a.0", "a.length", "tags.length", "tags.01", "constructor", "__proto__", "toString", "tags.0"]
    answers = run(page, [[{"var": name}, data] for name in names])
    assert [got["value"] for got, _ in answers] == [apply({"var": name}, data) for name in names] == [None] * 7 + ["x"]


@BATCHES
@given(cases=CASES)
def test_random_rules_answer_alike_in_chromium(page, cases):
    cases = round_trip(cases)
    with_reference = REFERENCE_JS.exists()
    for (rule, data), (ours, reference) in zip(cases, run(page, cases, with_reference), strict=True):
        python = canon(apply(rule, data))
        assert answered(ours) == python, (rule, data, ours)
        assert not with_reference or answered(reference) == python, (rule, data, reference)
