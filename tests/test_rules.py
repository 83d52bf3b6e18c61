"""Rules for conditional fields (forms.rules): the conformance corpus, proved to be
json-logic-js's answers; the schema checks; and random rules over random answers,
where the Python evaluator must answer exactly as json-logic-js does in node.
(static/rules.js in Chromium: tests/test_rules_browser.py.)"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.jsvalues import to_number, to_string
from forms.rules import MAX_DEPTH, MAX_NODES, OPERATIONS, RuleError, apply, check_rule, find_cycle, variables
from tests.rules_cases import BATCHES, CASES, CORPUS, FIELDS, Reference, answered, canon, round_trip


@pytest.fixture(scope="module")
def reference():
    """json-logic-js in node (skips without it, as the browser tests skip without Chromium)."""
    node = Reference()
    yield node
    node.close()


@pytest.mark.parametrize(("rule", "data", "expected"), CORPUS, ids=[json.dumps(c[0])[:60] for c in CORPUS])
def test_corpus(rule, data, expected):
    assert canon(apply(rule, data)) == canon(expected)


def test_corpus_is_json_logic_js(reference):
    """The corpus's expectations are the reference's answers, case for case."""
    answers = reference([case[:2] for case in CORPUS])
    wrong = [(case, got) for case, got in zip(CORPUS, answers, strict=True) if answered(got) != canon(case[2])]
    assert not wrong, "\n".join(f"{json.dumps(case)} -> json-logic-js {got}" for case, got in wrong)


def test_corpus_covers_every_operation():
    def ops(node):
        if isinstance(node, list):
            return set().union(*map(ops, node)) if node else set()
        if isinstance(node, dict):
            return set(node).union(*map(ops, node.values()))
        return set()

    assert set(OPERATIONS) <= ops([case[0] for case in CORPUS])
    assert len(CORPUS) >= 400


@BATCHES
@given(CASES)
def test_random_rules_answer_as_json_logic_js(reference, cases):
    cases = round_trip(cases)
    for rule, _ in cases:
        assert check_rule(rule, FIELDS) == []  # the generator stays inside the checked subset
    answers = reference(cases)
    for (rule, data), got in zip(cases, answers, strict=True):
        assert canon(apply(rule, data)) == answered(got), (rule, data, got)


FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**25), 10**25) \
    | st.sampled_from([1e21, 1e-6, 1e-7, 123e-20, 2**53 + 1, 5e-324, 1.7976931348623157e308])
NUMERIC_TEXT = st.from_regex(r"\A[ \t\n\u00a0\ufeff]?[+-]?([0-9]{0,4}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?"
                             r"|0[xXoObB][0-9a-fA-F]{1,4}|Infinity|inf|NaN|1_0)[ \u2028\u3000\x1c]?\Z")
BIGGEST = 1.7976931348623157e308


@BATCHES
@given(st.lists(FLOATS, min_size=40, max_size=40), st.lists(NUMERIC_TEXT | st.text(max_size=4), min_size=40,
                                                           max_size=40))
def test_conversions_are_javascripts(reference, numbers, texts):
    """String(number) and Number(string), checked through rules json-logic-js must find true."""
    cases = [[{"==": [[n], to_string(n)]}, None] for n in numbers]
    for text in texts:
        n = to_number(text)
        if math.isnan(n):
            cases.append([{"!": {"or": [{"<": [text, 0]}, {">=": [text, 0]}]}}, None])
        elif math.isinf(n):
            cases.append([{"<": [text, -BIGGEST]} if n < 0 else {">": [text, BIGGEST]}, None])
        else:
            cases.append([{"<=": [n, text, n]}, None])
    answers = reference(cases)
    assert [case for case, got in zip(cases, answers, strict=True) if got != {"value": True}] == []


@pytest.mark.parametrize(("rule", "problems"), [
    ({"==": [{"var": "category"}, "billing"]}, []),
    ({"if": [{"missing": ["email", "tags.0"]}, True, {"in": ["x", {"var": ["tags", []]}]}]}, []),
    ({"<=": [1, {"var": "qty"}, 10]}, []),
    ({"var": "colour"}, ["var reads unknown field 'colour'; fields: category, email, qty, tags"]),
    ({"var": ["colour.0", 1]}, ["var reads unknown field 'colour'; fields: category, email, qty, tags"]),
    ({"missing": ["email", "phone"]}, ["missing reads unknown field 'phone'; fields: category, email, qty, tags"]),
    ({"missing": [["phone"]]}, ["missing reads unknown field 'phone'; fields: category, email, qty, tags"]),
    ({"var": 3}, ["var needs field names as literal non-empty strings, got 3"]),
    ({"var": ""}, ["var needs field names as literal non-empty strings, got ''"]),
    ({"var": {"var": "email"}}, ["var needs field names as literal non-empty strings, got {'var': 'email'}"]),
    ({"missing": [["email"], "qty"]}, ["missing needs field names as literal non-empty strings, got ['email']"]),
    ({"foo": [1]}, ["operator 'foo' is not supported; supported: var, missing, if, and, or, ==, !=, ===, !==, "
                    "<, <=, >, >=, !, !!, in"]),
    ({"+": [1, 2]}, ["operator '+' is not supported; supported: var, missing, if, and, or, ==, !=, ===, !==, "
                     "<, <=, >, >=, !, !!, in"]),
    ({"==": [1]}, ["'==' takes 2 arguments, got 1"]),
    ({"in": "x"}, ["'in' takes 2 arguments, got 1"]),
    ({"<": [1, 2, 3, 4]}, ["'<' takes 2 to 3 arguments, got 4"]),
    ({">": [1, 2, 3]}, ["'>' takes 2 arguments, got 3"]),
    ({"!": [1, 2]}, ["'!' takes 1 argument, got 2"]),
    ({"and": []}, ["'and' takes at least 1 argument, got 0"]),
    ({"if": [True]}, ["'if' takes at least 2 arguments, got 1"]),
    ({"var": []}, ["'var' takes 1 to 2 arguments, got 0"]),
    ({"category": "billing", "x": 1}, ["an object in a rule must have exactly one key, its operator; "
                                       "this one has 'category', 'x'"]),
    ({}, ["an object in a rule must have exactly one key, its operator; this one has none"]),
    ({"==": [math.nan, 1]}, ["nan is not a JSON number"]),
    ({"==": [{1, 2}, 1]}, ["set is not a JSON value"]),
    ({"and": [{"var": "colour"}, {"var": "colour"}, {"nope": 1}]},
     ["var reads unknown field 'colour'; fields: category, email, qty, tags",
      "operator 'nope' is not supported; supported: var, missing, if, and, or, ==, !=, ===, !==, <, <=, >, >=, !, "
      "!!, in"]),
])
def test_check_rule(rule, problems):
    assert check_rule(rule, ["email", "category", "qty", "tags"]) == problems


def nested(levels):
    rule = {"var": "a"}
    for _ in range(levels):
        rule = {"!": [rule]}
    return rule


def test_depth_cap_is_the_same_for_check_rule_and_apply():
    deepest = nested(MAX_DEPTH - 1)  # its "a" sits at depth MAX_DEPTH
    assert check_rule(deepest, ["a"]) == []
    assert apply(deepest, {"a": 1}) is (MAX_DEPTH % 2 == 1)
    assert check_rule(nested(MAX_DEPTH), ["a"]) == [f"rule nests deeper than {MAX_DEPTH} levels"]
    with pytest.raises(RuleError, match="deeper than 32"):
        apply(nested(MAX_DEPTH), {"a": 1})
    assert check_rule(nested(20_000), ["a"]) == [f"rule nests deeper than {MAX_DEPTH} levels"]  # no RecursionError


def test_size_cap():
    assert check_rule([1] * (MAX_NODES - 1), []) == []
    assert check_rule([1] * MAX_NODES, []) == [f"rule has more than {MAX_NODES} operators and values"]
    assert check_rule({"and": [{"var": "nope"}] * 10**6}, ["a"])[-1] == \
        f"rule has more than {MAX_NODES} operators and values"


def test_apply_refuses_what_it_does_not_know():
    with pytest.raises(RuleError, match="unknown operator 'cat'"):
        apply({"cat": ["a", "b"]})
    assert apply({"or": [True, {"cat": []}]}) is True  # not reached, as in json-logic-js


def test_var_reads_own_keys_and_array_indexes_only():
    """Where json-logic-js reads JavaScript properties, Prefill answers null on both sides."""
    data = {"a": "text", "tags": ["x"]}
    names = ["a.0", "a.length", "tags.length", "tags.01", "constructor", "__proto__", "toString"]
    assert [apply({"var": name}, data) for name in names] == [None] * len(names)


@pytest.mark.parametrize(("rule", "names"), [
    ({"==": [{"var": "category"}, "billing"]}, {"category"}),
    ({"and": [{"var": "a"}, {"missing": ["b", "c.d"]}, {"var": ["e", {"var": "f"}]}]}, {"a", "b", "c", "e", "f"}),
    ({"missing": [["x", "y"]]}, {"x", "y"}),
    ({"missing": "x"}, {"x"}),
    ({"var": {"var": "a"}}, {"a"}),
    ({"if": [True, [{"var": "a"}], {"!": {"var": "b"}}]}, {"a", "b"}),
    ({"==": [1, 1]}, set()),
    ("var", set()),
])
def test_variables(rule, names):
    assert variables(rule) == names


@pytest.mark.parametrize(("deps", "cycle"), [
    ({}, None),
    ({"a": set()}, None),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, None),  # a diamond is no circle
    ({"a": {"a"}}, ["a", "a"]),
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": set(), "x": {"y"}, "y": {"z"}, "z": {"y"}}, ["y", "z", "y"]),
    ({"a": {"unknown"}}, None),
])
def test_find_cycle(deps, cycle):
    assert find_cycle(deps) == cycle


def test_find_cycle_is_iterative():
    chain = {f"f{i}": {f"f{i + 1}"} for i in range(20_000)}
    assert find_cycle(chain) is None
    chain["f20000"] = {"f0"}
    assert len(find_cycle(chain)) == 20_002
