"""The shape STYLE.md asks for, checked on every run: small modules, no import circle."""

from __future__ import annotations

import grimp

from .conftest import ROOT

MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    lines = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "preserve").rglob("*.py")
    }
    assert len(lines) > 40
    assert {path: n for path, n in lines.items() if n > MAX_LINES} == {}


def circles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Return every group of modules that import each other in a circle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(edges.get(module, ())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(group)

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_circles_are_found() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_between_preserve_s_modules() -> None:
    # Imports made only for type checking are left out: they never run.
    graph = grimp.build_graph("preserve", exclude_type_checking_imports=True)
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert len(edges) > 40
    assert circles(edges) == []
