"""What the rule tests share: the conformance corpus, json-logic-js run in node,
a comparison that tells ``1`` from ``true``, and hypothesis strategies for rules
of the supported subset over random answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from app import ROOT

CORPUS = [case for case in json.loads((ROOT / "tests" / "data" / "rules_corpus.json").read_text("utf-8"))
          if isinstance(case, list)]  # strings are section headings
RULES_JS = ROOT / "static" / "rules.js"
REFERENCE_JS = ROOT / "node_modules" / "json-logic-js" / "logic.js"
NODE = shutil.which("node")


def need_reference() -> None:
    """Skip without node and json-logic-js (``npm ci``), unless ``make test`` promised them."""
    if NODE and REFERENCE_JS.exists():
        return
    if os.environ.get("PREFILL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"node and {REFERENCE_JS} are required (npm ci)")
    pytest.skip("node or json-logic-js not installed (npm ci; make test installs it)")


class Reference:
    """json-logic-js in one node process (starting node takes a quarter of a second
    here), answering batches of ``[rule, data]`` cases."""

    def __init__(self) -> None:
        need_reference()
        self.node = subprocess.Popen([NODE, str(ROOT / "tests" / "rules_reference.js")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def __call__(self, cases: list[list[Any]]) -> list[dict[str, Any]]:
        self.node.stdin.write(json.dumps(cases) + "\n")  # ASCII: no raw line break inside
        self.node.stdin.flush()
        line = self.node.stdout.readline()
        assert line, "tests/rules_reference.js stopped"
        return json.loads(line)

    def close(self) -> None:
        self.node.stdin.close()
        self.node.wait(timeout=10)
        self.node.stdout.close()


def canon(value: Any) -> Any:
    """``value`` as JSON sees it, with types kept apart (Python has ``True == 1 == 1.0``)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return type(value).__name__, value
    if isinstance(value, int | float):
        return "number", float(value)  # as JavaScript holds it: 2**53 + 1 is 2**53
    if isinstance(value, list):
        return "array", tuple(canon(item) for item in value)
    if isinstance(value, dict):
        return "object", tuple(sorted((key, canon(item)) for key, item in value.items()))
    return "other", repr(value)


def answered(result: dict[str, Any]) -> Any:
    """The canonical value of one JavaScript answer ({value} / {undefined} / {error})."""
    return canon(result["value"]) if "value" in result else ("js", json.dumps(result, sort_keys=True))


def round_trip(case: Any) -> Any:
    """The case as JavaScript will see it: no object shared between two places."""
    return json.loads(json.dumps(case))


# Answers: four fields and one never answered ("z"); "tags" holds a list (a multi-select) or null.
FIELDS = ["a", "b", "c", "tags", "z"]
NAMES = st.sampled_from([*FIELDS, "tags.0", "tags.1"])
STRINGS = st.sampled_from(["", " ", "0", "-0", "1", "1.0", " 1 ", "01", "1e3", "0x10", "10", "9", "Infinity", "abc",
                           "a", "b", "Ab", "true", "false", "null", "a,b", "1,2", "é", "😀", "\uffff"]) \
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=3)
NUMBERS = st.integers(-3, 20) | st.sampled_from([0.5, -0.0, 1.0, -1.5, 100, 1e3, 1e21, 1e-7, 2**53 + 1, 0.1])
SCALARS = st.none() | st.booleans() | NUMBERS | STRINGS
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.lists(st.lists(SCALARS, max_size=2), max_size=2)
ANSWERS = st.fixed_dictionaries({}, optional={
    "a": VALUES, "b": VALUES, "c": VALUES, "tags": st.none() | st.lists(SCALARS, max_size=3)})

_LEAVES = (SCALARS
           | NAMES.map(lambda name: {"var": name})
           | st.tuples(NAMES, SCALARS).map(lambda pair: {"var": list(pair)})
           | st.lists(NAMES, min_size=1, max_size=3).map(lambda names: {"missing": names})
           | st.lists(NAMES, max_size=3).map(lambda names: {"missing": [names]}))


def _operations(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def op(names: list[str], *args: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.tuples(st.sampled_from(names), *args).map(lambda t: {t[0]: list(t[1:])})

    many = st.lists(children, min_size=1, max_size=4)
    return st.one_of(
        op(["==", "!=", "===", "!==", "<", "<=", ">", ">=", "in"], children, children),
        op(["<", "<="], children, children, children),  # between
        op(["!", "!!"], children),
        st.tuples(st.sampled_from(["!", "!!"]), children)  # the unary shorthand, {"!": {"var": "a"}}
        .map(lambda t: {t[0]: [t[1]] if isinstance(t[1], list) else t[1]}),
        st.tuples(st.sampled_from(["and", "or"]), many).map(lambda t: {t[0]: t[1]}),
        st.lists(children, min_size=2, max_size=7).map(lambda args: {"if": args}),
        st.lists(children, max_size=3),  # an array literal
        st.tuples(NAMES, children).map(lambda t: {"var": list(t)}),  # a computed default
    )


RULES = st.recursive(_LEAVES, _operations, max_leaves=12)
CASES = st.lists(st.tuples(RULES, ANSWERS).map(list), min_size=60, max_size=60)
# Batches of 60 cases, one node or page call each. No shrinking: it would re-run
# JavaScript for minutes, and the failing assertion already names the one case.
BATCHES = settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
