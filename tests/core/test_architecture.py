"""The layering the code promises (docs/architecture.md), read from the imports themselves:
every import statement counts, at module level or inside a function."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("exams", "grader", "rubrics", "worker", "config")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module of this project that ``path`` imports (``from a.b import c`` names a.b
    and, when it is a module, a.b.c)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {n for n in names if n.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
             if "migrations" not in p.parts]
    modules = {_module(p): p for p in files}
    return {name: {n for n in _imports(path) if n in modules and n != name}
            for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_anywhere():
    assert _cycles(_graph()) == []


def test_the_core_knows_nothing_of_django_or_the_app():
    for path in (ROOT / "grader").rglob("*.py"):
        imported = {n.split(".")[0] for n in _imports(path)}
        text = path.read_text()
        assert not imported & {"exams", "rubrics", "worker", "config"}, path
        assert "import django" not in text and "from django" not in text, path


def test_services_never_import_the_task_module():
    graph = _graph()
    for name in ("exams.services", "exams.grading", "exams.review", "exams.api"):
        assert "exams.tasks" not in graph[name], name
    # The tasks reach the grading path through the services only.
    assert graph["exams.tasks"] - {"exams"} <= {"exams.grading", "exams.services"}
