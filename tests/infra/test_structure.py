"""The layout rules of docs/architecture.md, checked on the source text.

- engine layers (experiments, models, spectrum, data, config, descent, rng, vocabulary) import no
  CLI library (typer, click, rich): notebooks and scripts use them without a terminal;
- a command module never imports another command module, and a command function's body (signature
  excluded) stays under 40 lines: commands parse, call, render;
- seeds become generators only in resnet_cli/rng.py;
- tests import no other test module and edit no sys.path.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "resnet_cli"
ENGINE = ["experiments", "models", "spectrum.py", "data.py", "config.py", "descent.py", "rng.py",
          "vocabulary.py"]
CLI_LIBRARIES = {"typer", "click", "rich"}
SUPPORT = {"__init__.py", "options.py", "shell.py"}  # commands/ modules that are not commands


def _modules(*names: str) -> list[Path]:
    files = []
    for name in names:
        path = PACKAGE / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else ([path] if path.exists() else [])
    return files


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("path", _modules(*ENGINE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_engine_layers_import_no_cli_library(path):
    bad = {name for name in _imports(path) if name.split(".")[0] in CLI_LIBRARIES}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


COMMANDS = [p for p in sorted((PACKAGE / "commands").glob("*.py")) if p.name not in SUPPORT]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: p.stem)
def test_commands_are_thin_and_independent(path):
    others = {f"resnet_cli.commands.{p.stem}" for p in COMMANDS if p != path}
    imported = _imports(path)
    assert not (imported & others), f"{path.name} imports {sorted(imported & others)}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "command" in functions, f"{path.name} has no `command`"
    body = functions["command"].body
    first = body[1] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else body[0]
    lines = body[-1].end_lineno - first.lineno + 1
    assert lines < 40, f"{path.name}: command body is {lines} lines"


def test_seeds_become_generators_only_in_rng():
    offenders = []
    for path in _modules("."):
        if path.name == "rng.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "default_rng(" in text or "SeedSequence(" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_tests_import_no_test_module_and_edit_no_path():
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "bench" in path.parts or "golden" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for name in _imports(path):
            if name.split(".")[0].startswith("test_") or name.split(".")[0] in ("helpers", "conftest"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
        if "sys.path" in text and path.name != "test_structure.py":
            offenders.append(f"{path.relative_to(ROOT)} edits sys.path")
    assert not offenders, offenders
