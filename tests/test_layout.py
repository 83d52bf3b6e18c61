"""The shape of ``web/``: five groups, no import circles, no imports hidden in
functions to get around one (they hid two circles before the grouping)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
GROUPS = {"views", "plumbing", "render", "identity", "schemas", "uploads"}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _web_imports(tree: ast.AST) -> list[ast.ImportFrom]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("web")]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in WEB.rglob("*.py"):
        deps: set[str] = set()
        for node in _web_imports(ast.parse(path.read_text())):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                deps.add(full if (ROOT / (full.replace(".", "/") + ".py")).exists() else node.module)
        graph[_module(path)] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep):], dep]
            if dep in graph and not state.get(dep) and (found := visit(dep)):
                return found
        state[name] = 2
        stack.pop()
        return None

    for name in sorted(graph):
        if not state.get(name) and (found := visit(name)):
            return found
    return None


def test_web_is_grouped():
    flat = sorted(p.name for p in WEB.glob("*.py") if p.name not in {"__init__.py", "state.py"})
    assert flat == []
    assert {p.name for p in WEB.iterdir() if p.is_dir() and p.name != "__pycache__"} == GROUPS


def test_no_import_circles_in_web():
    assert _cycle(_graph()) is None


def test_the_check_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_web_import_inside_a_function():
    hidden = []
    for path in WEB.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden += [f"{_module(path)}:{n.lineno}" for n in _web_imports(func)]
    assert hidden == []
