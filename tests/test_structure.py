"""The house's structure, read from the code's imports (every import, inside functions and TYPE_CHECKING too).

The rule, top to bottom: the page (``streamlit_app.py``) -> its helpers (``ui/``) -> the core (``tapeapp/``). Nothing
under ``tapeapp/`` imports ``streamlit`` or ``ui``; nothing under ``ui/`` imports the page. Inside the core, a module
imports only modules of a lower layer (``LAYERS``, a sentence each), or of its own layer without a circle: so a
``Run`` never imports the observers that read it (baselines, comparison, advice, insight, explain, export, ...),
and there is no circle anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[tuple[str, set[str]]] = [
    ("words, errors and plain helpers: no other module of tapeapp",
     {"errors", "words", "metrics", "dates", "_tf", "queueing", "version"}),
    ("settings and how text is laid out", {"config", "text_layout", "stopping"}),
    ("reading pieces: cleaning values, pandas per format, the memory budget", {"clean", "readers", "budget"}),
    ("a table read, its columns described, the built-in samples", {"table", "schema", "samples"}),
    ("the network and the layers that read dates and skewed numbers", {"model", "date_layer", "number_layer"}),
    ("preprocessing fitted on training rows, and the split", {"preprocess", "prepare"}),
    ("scores as data; the tape step, the compiled epoch and the epoch loop", {"scores", "loop"}),
    ("compiled epochs kept for reuse, and across devices", {"runners", "distributed"}),
    ("a run: config, prepared data, model and history in one object", {"run"}),
    ("a run kept and brought back: its record, and the store on disk", {"records", "store"}),
    ("observers: they read a Run and are never imported by it",
     {"evaluation", "estimator", "insight", "explain", "baselines", "comparison", "advice", "lr_find", "export",
      "reproduce_script", "charts", "cases", "shapley", "contributions", "explain_files", "project", "report"}),
    ("the command line, above everything", {"cli", "__main__"}),
]


def _layer_of(module: str) -> int | None:
    name = module.removeprefix("tapeapp.")
    return next((i for i, (_, members) in enumerate(LAYERS) if name in members), None)


def imports(root: Path, packages: tuple[str, ...] = ("tapeapp", "ui")) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` (and ``streamlit``) it imports, anywhere in its file."""
    graph: dict[str, set[str]] = {}
    files = [p for package in packages for p in sorted((root / package).glob("*.py"))]
    files += [p for p in (root / "streamlit_app.py",) if p.exists()]
    for path in files:
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        found: set[str] = set()
        known = _modules(root, packages)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                           for alias in node.names]
            for target in targets:
                top = target.split(".")[0]
                if top == "streamlit":
                    found.add("streamlit")
                elif top in packages:
                    found.add(target if target in known else top)
        found.discard(name)
        graph[name] = found
    return graph


def _modules(root: Path, packages: tuple[str, ...]) -> set[str]:
    """Every module name; a package's ``__init__`` is the package's own name (``tapeapp``: the public facade)."""
    names = {".".join(p.relative_to(root).with_suffix("").parts) for package in packages
             for p in (root / package).glob("*.py")}
    return {name.removesuffix(".__init__") for name in names} | set(packages)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import one another, round in a circle (Tarjan's strongly connected parts)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def arrows_up(graph: dict[str, set[str]]) -> list[str]:
    """Imports that break the rule, each as 'importer -> imported (why)'."""
    wrong = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if module.startswith("tapeapp") and target == "streamlit":
                wrong.append(f"{module} -> streamlit (the core never draws)")
            elif module.startswith("tapeapp") and target.startswith("ui"):
                wrong.append(f"{module} -> {target} (the core never uses the page's helpers)")
            elif module.startswith(("tapeapp", "ui")) and target == "streamlit_app":
                wrong.append(f"{module} -> streamlit_app (only the page imports its helpers)")
            elif module == "tapeapp" or target == "tapeapp":  # the facade: it names everything, lazily
                if module.startswith("tapeapp.") and target == "tapeapp":
                    wrong.append(f"{module} -> tapeapp (the core imports modules, not the public facade)")
            elif module.startswith("tapeapp") and target.startswith("tapeapp"):
                mine, theirs = _layer_of(module), _layer_of(target)
                if mine is None or theirs is None:
                    wrong.append(f"{module} -> {target} (a module not placed in LAYERS)")
                elif theirs > mine:
                    wrong.append(f"{module} -> {target} ('{LAYERS[mine][0]}' may not import "
                                 f"'{LAYERS[theirs][0]}')")
    return wrong


def test_the_page_its_helpers_and_the_core_import_downwards_only():
    graph = imports(ROOT)
    assert not arrows_up(graph), "\n".join(arrows_up(graph))


def test_there_is_no_circle_of_imports():
    assert not circles(imports(ROOT))


def test_every_core_module_has_its_layer():
    placed = {name for _, members in LAYERS for name in members}
    modules = {p.stem for p in (ROOT / "tapeapp").glob("*.py")} - {"__init__"}
    assert modules <= placed, f"place these in LAYERS: {sorted(modules - placed)}"


def test_the_checks_find_a_planted_circle_and_an_arrow_up(tmp_path):
    """The checks themselves, on a small house with one circle and a run that imports its observer."""
    package = tmp_path / "tapeapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text("from tapeapp import text_layout\n")
    (package / "text_layout.py").write_text("def f():\n    from tapeapp.config import X\n")
    (package / "run.py").write_text("from tapeapp.config import TrainConfig\n")
    (package / "advice.py").write_text("from tapeapp.run import Run\n")
    (tmp_path / "ui").mkdir()
    graph = imports(tmp_path)
    assert circles(graph) == [["tapeapp.config", "tapeapp.text_layout"]]
    assert not arrows_up(graph)
    (package / "run.py").write_text("from tapeapp.config import TrainConfig\nfrom tapeapp.advice import diagnose\n")
    graph = imports(tmp_path)
    assert any(arrow.startswith("tapeapp.run -> tapeapp.advice") for arrow in arrows_up(graph))
    assert ["tapeapp.advice", "tapeapp.run"] in circles(graph)
    (package / "charts.py").write_text("import streamlit as st\n")
    assert "tapeapp.charts -> streamlit (the core never draws)" in arrows_up(imports(tmp_path))


@pytest.mark.parametrize("name", ["__all__", "_EXPORTS"])
def test_the_public_names_are_one_list(name):
    import tapeapp

    assert sorted(tapeapp.__all__) == sorted(tapeapp._EXPORTS), name
    tree = ast.parse((ROOT / "tapeapp" / "__init__.py").read_text())
    typed = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module and node.module.startswith("tapeapp.") for alias in node.names}
    assert typed == set(tapeapp._EXPORTS), "the TYPE_CHECKING block names the same imports as the loader"
    for public, home in tapeapp._EXPORTS.items():
        assert getattr(tapeapp, public) is getattr(__import__(f"tapeapp.{home}", fromlist=[public]), public)
