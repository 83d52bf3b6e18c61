"""Prefill on every Python it supports (hardening round 3, defect 15): ``make``
finds a Python 3.11 or later whatever it is called, and a deep body gets the
same answer on 3.11 and 3.13 (3.13's json parsed 5,000 levels where 3.11 ran
out of recursion: ``validation_failed`` there, ``invalid_json`` here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib

import pytest

from web.schemas.bodies import MAX_DEPTH, PARSE_MAX_DEPTH, nests_deeper

from .test_crash import ROOT


def nested(depth: int) -> str:
    """An identify body nested ``depth`` levels deep in all."""
    inner = depth - 2  # the body, then userMetadata
    return '{"userId": "u", "userMetadata": {"a": ' + "[" * inner + "]" * inner + "}}"


@pytest.mark.parametrize("depth,status,code", [
    (MAX_DEPTH, 200, None), (MAX_DEPTH + 1, 400, "validation_failed"), (PARSE_MAX_DEPTH, 400, "validation_failed"),
    (PARSE_MAX_DEPTH + 1, 400, "invalid_json"), (900, 400, "invalid_json"), (5000, 400, "invalid_json"),
    (20000, 400, "invalid_json"), (200000, 400, "invalid_json")])
def test_a_deep_body_gets_one_answer_on_every_python(client, depth, status, code):
    r = client.post("/api/identify", data=nested(depth), content_type="application/json")
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    if code:
        assert r.json["error"]["code"] == code and "levels deep" in r.json["error"]["message"]


def test_brackets_inside_strings_are_not_nesting(client):
    text = "[{" * 400 + '\\"]' + "\\\\" + "[" * 600  # within the 16 KiB of metadata
    body = json.dumps({"userId": "u", "userMetadata": {"note": text, "list": [[1], {"a": "}"}]}})
    assert client.post("/api/identify", data=body, content_type="application/json").status_code == 200
    assert client.get("/api/me").json["userMetadata"]["note"] == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le"])
def test_a_deep_body_in_utf16_or_32_is_invalid_json_too(client, encoding):
    r = client.post("/api/identify", data=nested(5000).encode(encoding), content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("text,deeper", [
    ("[" * 513 + "]" * 513, True), ("[" * 512 + "]" * 512, False),
    ("[" * 600, True),  # unclosed: still too deep to parse
    ('"' + "[" * 600 + '"', False), ('["\\"' + "[" * 600 + '"]', False),  # an escaped quote does not end it
    ('["\\\\"' + ", []" * 600 + "]", False),  # an escaped backslash does not escape the quote after it
    ('["\\\\", ' + "[" * 600 + "]" * 600 + "]", True),
    ("[]" * 10_000, False), ("{" * 300 + "[" * 300, True), ('"' + "[" * 600, True),  # an unclosed string
])
def test_nests_deeper(text, deeper):
    assert nests_deeper(text, 512) is deeper


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        nests_deeper(text)
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.parametrize("make", [
    lambda n: "[" * n, lambda n: "[]" * (n // 2), lambda n: '["' + "\\" * n + '"]', lambda n: '"' + '\\"' * (n // 2),
    lambda n: "[" + '"a",' * (n // 4) + "1]", lambda n: '"' + "[" * n,
])
def test_the_depth_check_is_linear(make):
    small, large = _seconds(make(10_000)), _seconds(make(1_000_000))
    assert large < max(small * 1000, 0.05), (small, large)  # 100x the input: ~100x the time, quadratic ~10,000x


# -- make: which Python --------------------------------------------------------------
def which_python(tmp_path, **pythons: str) -> subprocess.CompletedProcess:
    """``make which-python`` with only ``pythons`` (name -> a script or a real Python) on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in pythons.items():
        path = bin_dir / name
        if target.startswith("#!"):
            path.write_text(target)
            path.chmod(0o755)
        else:
            path.symlink_to(target)
    env = {k: v for k, v in os.environ.items() if k not in ("PY", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = str(bin_dir)
    return subprocess.run([shutil.which("make") or "/usr/bin/make", "-s", "--no-print-directory", "which-python"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


OLD = "#!/bin/sh\nexit 1\n"  # what a Python older than 3.11 answers the probe
SHIM = "#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n"  # a pyenv shim of no active version


@pytest.mark.skipif(not shutil.which("make"), reason="make not installed")
@pytest.mark.parametrize("pythons,chosen", [
    ({"python3": "real"}, "python3"),  # 3.12 or 3.13 called python3: no python3.11 needed
    ({"python3.13": "real", "python3.11": "real", "python3": "real"}, "python3.13"),
    ({"python3.13": SHIM, "python3.12": "real", "python3": "real"}, "python3.12"),
    ({"python3": OLD}, ""),
])
def test_make_finds_a_python_whatever_it_is_called(tmp_path, pythons, chosen):
    real = {name: sys.executable if target == "real" else target for name, target in pythons.items()}
    r = which_python(tmp_path, **real)
    assert r.returncode == 0 and r.stdout.strip() == chosen, r.stderr


def test_make_says_when_there_is_no_python(tmp_path):
    env = {**os.environ, "PATH": "/usr/bin:/bin", "PY": ""}
    r = subprocess.run(["make", "-s", f"VENV={tmp_path / 'venv'}", f"STAMP={tmp_path / 'venv' / '.installed'}",
                        f"BIN={tmp_path / 'venv' / 'bin'}", "PY=", str(tmp_path / "venv" / ".installed")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "No Python 3.11 or later found" in r.stderr
    assert not (tmp_path / "venv").exists()


def test_pyproject_says_which_pythons_are_supported():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    versions = [c.rsplit(" ", 1)[-1] for c in project["classifiers"]
                if c.startswith("Programming Language :: Python :: 3.")]
    assert versions == ["3.11", "3.12", "3.13"]
    makefile = (ROOT / "Makefile").read_text()  # CI's second run covers the same range
    assert "SUPPORTED := (3, 11) <= sys.version_info[:2] <= (3, 13)" in makefile


@pytest.mark.parametrize("depth", [40, 900, 5000])
def test_a_deep_schema_posted_to_the_panel_is_a_400_on_every_python(make_app, depth):
    """The panel's ad-hoc render parses a form field: a RecursionError there was a 500 on 3.11 (a 400 on 3.13)."""
    c = make_app(ADHOC_FORMS=True).test_client()
    token = c.post("/api/session", json={}).json["sessionToken"]
    schema = '{"fields": [{"name": "a", "x": ' + "[" * depth + "]" * depth + "}]}"
    r = c.post("/widget/adhoc/render", data={"prefill_schema": schema}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
