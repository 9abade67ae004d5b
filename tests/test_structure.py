"""The house's structure, read from the code's imports (every import, inside functions and TYPE_CHECKING too).

The rule, top to bottom: the page (``streamlit_app.py``) -> its helpers (``ui/``) -> the core (``tapeapp/``). Nothing
under ``tapeapp/`` imports ``streamlit`` or ``ui``; nothing under ``ui/`` imports the page. Inside the core, the
layers are folders (``FOLDERS``): a module imports only its own folder (without a circle) and the folders below it,
so a path says what a file may import. Data flows one way: bytes -> data -> features -> train (yields updates) ->
judge -> explain -> keep / report -> the command line; a ``Run`` (train) never imports what reads it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BASE = {"words", "errors", "config", "version", "_tf"}  # tapeapp/*.py: words, settings, plain helpers
FOLDERS: dict[str, set[str]] = {  # a folder of tapeapp/ -> the folders its modules may import (and its own)
    "base": set(),
    "data": {"base"},
    "features": {"base", "data"},
    "train": {"base", "data", "features"},
    "judge": {"base", "data", "features", "train"},
    "explain": {"base", "data", "features", "train", "judge"},
    "keep": {"base", "data", "features", "train", "judge", "explain"},
    "report": {"base", "data", "features", "train", "judge", "explain"},
    "cli": {"base", "data", "features", "train", "judge", "explain", "keep", "report"},
}


def folder_of(module: str) -> str | None:
    """``tapeapp.train.run`` -> ``train``; a top-level module -> ``base`` or ``cli``; None: not placed."""
    parts = module.split(".")[1:]
    if len(parts) >= 2 or (parts and parts[0] in FOLDERS and parts[0] not in ("base", "cli")):
        return parts[0] if parts[0] in FOLDERS else None
    if parts and parts[0] in ("cli", "__main__"):
        return "cli"
    return "base" if parts and parts[0] in BASE else None


def _files(root: Path, packages: tuple[str, ...]) -> list[Path]:
    """Every module of ``packages``, in subfolders too (the reproduce.py template is a script, not a module)."""
    return [p for package in packages for p in sorted((root / package).rglob("*.py")) if "templates" not in p.parts]


def _name(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def imports(root: Path, packages: tuple[str, ...] = ("tapeapp", "ui")) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` (and ``streamlit``) it imports, anywhere in its file."""
    graph: dict[str, set[str]] = {}
    files = _files(root, packages) + [p for p in (root / "streamlit_app.py",) if p.exists()]
    known = {_name(root, p) for p in _files(root, packages)} | set(packages)
    for path in files:
        name = _name(root, path)
        found: set[str] = set()
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
                    while target not in known and "." in target:
                        target = target.rsplit(".", 1)[0]
                    found.add(target)
        found.discard(name)
        graph[name] = found
    return graph


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


def _package(module: str) -> bool:
    """``tapeapp`` (the public facade) or a folder's ``__init__`` (``tapeapp.train``)."""
    return module == "tapeapp" or (module.count(".") == 1 and module.split(".")[1] in FOLDERS.keys() - {"base", "cli"})


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
            elif module.startswith("tapeapp") and target.startswith("tapeapp"):
                if _package(module) and target.startswith(module + "."):
                    continue  # a package names what its own modules define
                if _package(target) and folder_of(module) != "cli":  # the command line uses the public names
                    wrong.append(f"{module} -> {target} (the core imports modules, not a package's public names)")
                    continue
                mine, theirs = folder_of(module), folder_of(target)
                if mine is None or theirs is None:
                    wrong.append(f"{module} -> {target} (a module outside the folders of FOLDERS)")
                elif theirs != mine and theirs not in FOLDERS[mine]:
                    wrong.append(f"{module} -> {target} (tapeapp/{mine} may import only "
                                 f"{', '.join(sorted(FOLDERS[mine])) or 'nothing else'})")
    return wrong


def test_the_page_its_helpers_and_the_core_import_downwards_only():
    graph = imports(ROOT)
    assert not arrows_up(graph), "\n".join(arrows_up(graph))


def test_there_is_no_circle_of_imports():
    assert not circles(imports(ROOT))


def test_every_core_module_lies_in_a_folder_with_rules():
    modules = {_name(ROOT, p) for p in _files(ROOT, ("tapeapp",))}
    unplaced = sorted(m for m in modules if not _package(m) and folder_of(m) is None)
    assert not unplaced, f"place these in a folder of FOLDERS (or BASE): {unplaced}"


def test_the_checks_find_a_planted_circle_and_an_arrow_up(tmp_path):
    """The checks themselves, on a small house: a circle inside a folder, then a run that imports its observer."""
    package = tmp_path / "tapeapp"
    for folder in ("data", "train", "judge", "report"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text("from tapeapp.errors import TapeError\n")
    (package / "errors.py").write_text("")
    (package / "data" / "table.py").write_text("from tapeapp.data import schema\n")
    (package / "data" / "schema.py").write_text("def f():\n    from tapeapp.data.table import Table\n")
    (package / "train" / "run.py").write_text("from tapeapp.config import TrainConfig\n"
                                              "from tapeapp.data.table import T\n")
    (package / "judge" / "advice.py").write_text("from tapeapp.train.run import Run\n")
    (tmp_path / "ui").mkdir()
    graph = imports(tmp_path)
    assert circles(graph) == [["tapeapp.data.schema", "tapeapp.data.table"]]
    assert not arrows_up(graph)
    (package / "train" / "run.py").write_text("from tapeapp.config import TrainConfig\n"
                                              "from tapeapp.judge.advice import diagnose\n")
    graph = imports(tmp_path)
    assert any(arrow.startswith("tapeapp.train.run -> tapeapp.judge.advice (tapeapp/train may import only")
               for arrow in arrows_up(graph))
    assert ["tapeapp.judge.advice", "tapeapp.train.run"] in circles(graph)
    (package / "data" / "table.py").write_text("from tapeapp.train import run\n")
    assert "tapeapp.data.table -> tapeapp.train.run (tapeapp/data may import only base)" in arrows_up(imports(tmp_path))
    (package / "train" / "run.py").write_text("import tapeapp\n")
    assert any("not a package's public names" in arrow for arrow in arrows_up(imports(tmp_path)))
    (package / "report" / "charts.py").write_text("import streamlit as st\n")
    assert "tapeapp.report.charts -> streamlit (the core never draws)" in arrows_up(imports(tmp_path))
    (package / "stray").mkdir()
    (package / "stray" / "thing.py").write_text("from tapeapp.config import X\n")
    assert "tapeapp.stray.thing -> tapeapp.config (a module outside the folders of FOLDERS)" in \
        arrows_up(imports(tmp_path))


def _stub_names(package: Path) -> dict[str, str]:
    """A package's public names, as its ``__init__.pyi`` lists them: name -> the module it comes from."""
    names = {}
    for node in ast.parse((package / "__init__.pyi").read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names.update({alias.name: node.module or alias.name for alias in node.names})
    return names


PACKAGES = ["tapeapp", *(f"tapeapp.{folder}" for folder in FOLDERS if folder not in ("base", "cli"))]


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_lists_its_public_names_once(package):
    """The stub is the one list: the loader hands out exactly its names, each the object its module defines."""
    import importlib

    module = importlib.import_module(package)
    folder = ROOT / Path(*package.split("."))
    listed = _stub_names(folder)
    assert set(module.__all__) - {"warm_up"} == set(listed)
    for name, home in listed.items():
        value = getattr(module, name)
        if home != name:
            assert value is getattr(importlib.import_module(f"{package}.{home}"), name)
    assert "_EXPORTS" not in (folder / "__init__.py").read_text()


def test_the_page_and_the_command_line_use_public_names_only():
    """The page, its helpers and the CLI import ``tapeapp``, a folder or a base module, and only names they list."""
    public = {package: set(importlib_all(package)) for package in PACKAGES}
    base = {f"tapeapp.{name}" for name in BASE - {"_tf"}}
    wrong = []
    for path in [*sorted((ROOT / "ui").glob("*.py")), ROOT / "streamlit_app.py", ROOT / "tapeapp" / "cli.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                wrong += [f"{path.name}: import {a.name}" for a in node.names
                          if a.name.startswith("tapeapp.") and a.name not in base and a.name not in public]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("tapeapp"):
                if node.module in base:
                    continue
                if node.module not in public:
                    wrong.append(f"{path.name}: from {node.module} import ... (not a public package)")
                    continue
                wrong += [f"{path.name}: {node.module}.{a.name} (not listed in its __init__.pyi)"
                          for a in node.names if a.name not in public[node.module] | base_names(node.module)]
    assert not wrong, "\n".join(wrong)


def importlib_all(package: str) -> list[str]:
    import importlib

    return importlib.import_module(package).__all__


def base_names(package: str) -> set[str]:
    """``from tapeapp import words``: a base module named from the top package."""
    return {name for name in BASE - {"_tf"}} if package == "tapeapp" else set()
