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


def test_no_module_of_preserve_imports_one_that_imports_it_back() -> None:
    # The group imports the commands and the commands import the console, never the reverse:
    # in a circle, which module is loaded first decides which names exist yet.
    graph = grimp.build_graph("preserve", cache_dir=None)
    circles = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    )
    assert circles == []
    assert graph.find_modules_directly_imported_by("preserve.cli.console").isdisjoint(
        graph.find_children("preserve.cli") | {"preserve.cli"}
    )
