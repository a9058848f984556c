"""Import rules over every module under app/, read from the source (AST), function-local imports included.

import-linter checks the layers contracts of pyproject.toml on the import graph it builds; this
test checks the same layers on each import statement (at module level, inside functions, and
``importlib.import_module("literal")`` calls), so a lazy import cannot hide an upward dependency,
and that every package of the backend has a place in the order. It also checks that no module
imports an underscore name from another package.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    package: str  # the package it belongs to
    line: int
    target: str  # the imported module (``from a.b import c`` gives a.b.c when c is a module)
    names: tuple[str, ...]  # names taken from ``target`` (empty for ``import x`` and module imports)


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(name: str, root: Path = REPO) -> bool:
    return (root.joinpath(*name.split(".")) / "__init__.py").is_file()


def is_module(name: str, root: Path = REPO) -> bool:
    return root.joinpath(*name.split(".")).with_suffix(".py").is_file() or is_package(name, root)


def package_of(name: str, root: Path = REPO) -> str:
    """The package a module belongs to: itself for a package, else its parent."""
    return name if is_package(name, root) else name.rpartition(".")[0]


def imports_of(source: str, module: str, root: Path = REPO) -> Iterator[Import]:
    """Every import in ``source`` (any depth), relative ones resolved against ``module``."""
    package = package_of(module, root)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, package, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            plain = []
            for alias in node.names:
                if is_module(f"{base}.{alias.name}", root):
                    yield Import(module, package, node.lineno, f"{base}.{alias.name}", ())
                else:
                    plain.append(alias.name)
            if plain:
                yield Import(module, package, node.lineno, base, tuple(plain))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(module, package, node.lineno, node.args[0].value, ())


def app_imports() -> list[Import]:
    found = []
    for path in sorted((REPO / "app").rglob("*.py")):
        found += imports_of(path.read_text(encoding="utf-8"), module_name(path))
    return found


def layers_contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]


def _member(name: str, container: str, layers: list[list[str]]) -> tuple[int, str] | None:
    """(layer index, sibling) of module ``name`` in ``container``'s layers (0 = top), or None."""
    if not name.startswith(container + "."):
        return None
    head = name[len(container) + 1 :].split(".")[0]
    for index, siblings in enumerate(layers):
        if head in siblings:
            return index, head
    return None


def layer_violations(imports: list[Import], container: str, layer_specs: list[str]) -> list[str]:
    layers = [[s.strip() for s in spec.replace(":", "|").split("|")] for spec in layer_specs]
    independent = ["|" in spec for spec in layer_specs]
    bad = []
    for imp in imports:
        src, dst = _member(imp.module, container, layers), _member(imp.target, container, layers)
        if src is None or dst is None or src[1] == dst[1]:
            continue
        if dst[0] < src[0] or (dst[0] == src[0] and independent[src[0]]):
            bad.append(f"{imp.module}:{imp.line} imports {imp.target} ({dst[1]} is not below {src[1]})")
    return bad


def private_name_violations(imports: list[Import]) -> list[str]:
    """Underscore names (or modules) of one ``app`` package imported by a module of another."""
    bad = []
    for imp in imports:
        if not imp.target.startswith("app."):
            continue
        if imp.names:
            home, private = package_of(imp.target), [n for n in imp.names if n.startswith("_")]
        else:
            home = imp.target.rpartition(".")[0]
            private = [imp.target] if imp.target.rpartition(".")[2].startswith("_") else []
        if private and home != imp.package:
            bad.append(f"{imp.module}:{imp.line} imports {', '.join(private)} from {imp.target}")
    return bad


@pytest.mark.parametrize("contract", layers_contracts(), ids=lambda c: c["name"][:40])
def test_layers_hold_for_every_import_statement(contract: dict) -> None:
    imports = app_imports()
    bad = [v for container in contract["containers"] for v in layer_violations(imports, container, contract["layers"])]
    assert bad == []


def test_every_backend_package_has_a_layer() -> None:
    (backend,) = [c for c in layers_contracts() if c["containers"] == ["app.backend"]]
    placed = {s.strip() for spec in backend["layers"] for s in spec.split("|")}
    present = {p.stem if p.is_file() else p.name for p in (REPO / "app" / "backend").iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert present - placed == set(), "place the new backend package in the layers contract of pyproject.toml"
    assert placed - present == set()


def test_no_module_imports_a_private_name_from_another_package() -> None:
    assert private_name_violations(app_imports()) == []


def test_the_checks_see_function_local_and_dynamic_imports(tmp_path: Path) -> None:
    """The rules catch what they are for (so the tests above can fail)."""
    source = (
        "import importlib\n"
        "def f():\n"
        "    from app.backend.engine.trainer import Trainer\n"
        "    from app.backend.vis.overlay import _box\n"
        "    return importlib.import_module('app.backend.capture.pseudo_label')\n"
    )
    found = list(imports_of(source, "app.backend.evaluation.threshold"))
    assert {i.target for i in found} >= {"app.backend.engine.trainer", "app.backend.capture.pseudo_label"}
    layers = ["capture | annotations", "engine", "evaluation", "vis"]
    bad = layer_violations(found, "app.backend", layers)
    assert len(bad) == 2 and all(":3 " in b or ":5 " in b for b in bad)  # the vis import (line 4) goes down
    assert private_name_violations(found) == ["app.backend.evaluation.threshold:4 imports _box from app.backend.vis.overlay"]
    same_package = list(imports_of("from app.backend.vis.overlay import _box\n", "app.backend.vis.boxes"))
    assert private_name_violations(same_package) == []
