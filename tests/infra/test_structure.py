"""The layout rules of docs/architecture.md, checked on the source text.

- engine layers (experiments, models, spectrum, data, config, descent, rng, vocabulary) import no
  CLI library (typer, click, rich): notebooks and scripts use them without a terminal;
- a command module never imports another command module, and a command function's body (signature
  excluded) stays under 40 lines: commands parse, call, render;
- seeds become generators only in resnet_cli/rng.py;
- tests import no other test module and edit no sys.path;
- arrows run one way: every module sits in one layer of `LAYERS` (docs/architecture.md, "The layers") and
  imports nothing from a layer above its own (lazy imports inside functions count too);
- no module over 600 lines, no function over 60 lines unless its docstring says why in a line that starts
  with "Long because" (files being reworked are listed in `LENGTH_EXEMPT`, each with its reason).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "resnet_cli"
ENGINE = ["experiments", "models", "spectrum.py", "eigen.py", "inertia.py", "data.py", "config.py", "descent.py", "rng.py",
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


# The layers, top first: a module may import its own layer and the layers below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("edge", ("__main__", "edge", "cli")),
    ("commands", ("commands",)),
    ("reproductions", ("reproductions",)),
    ("presentation", ("render", "plots", "report", "api")),
    ("experiments", ("experiments",)),
    ("running", ("executor", "budget")),
    ("models", ("models",)),
    ("basic", ("descent", "eigen", "inertia", "spectrum", "data", "config", "rng", "vocabulary", "outputs", "resources", "spelling",
               "signals", "errors", "presets")),
]


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(name: str) -> int | None:
    """The rank of a module name relative to the package ("" is the package itself), or None."""
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
            return rank
    return None


def test_every_module_has_a_layer():
    assert _layer("") is None  # the package's own __init__ (its version) sits below every layer
    missing = [_name(p) for p in _modules(".") if _name(p) and _layer(_name(p)) is None]
    assert not missing, f"declare these modules in LAYERS (and docs/architecture.md): {missing}"


def _upward(module: str, imported: set[str]) -> list[str]:
    """The names in `imported` that come from a layer above `module`'s."""
    rank = _layer(module)
    inside = [name[len("resnet_cli."):] for name in imported if name.startswith("resnet_cli.")]
    return sorted(name for name in inside if (_layer(name) if _layer(name) is not None else len(LAYERS)) < rank)


@pytest.mark.parametrize("path", [p for p in _modules(".") if _name(p)], ids=_name)
def test_no_import_from_a_layer_above(path):
    upward = _upward(_name(path), _imports(path))
    assert not upward, f"{_name(path)} ({LAYERS[_layer(_name(path))][0]}) imports from above: {upward}"


def test_the_layer_rule_catches_an_upward_import():
    """The rule is not vacuous: a model importing an experiment or a command is refused, the other way round
    is not."""
    assert _upward("models.shortcut", {"resnet_cli.experiments.hessian", "resnet_cli.rng"}) == ["experiments.hessian"]
    assert _upward("models.shortcut", {"resnet_cli.commands.options.METHODS"}) == ["commands.options.METHODS"]
    assert _upward("commands.options", {"resnet_cli.models.two_layer.methods", "resnet_cli.config"}) == []


# Beside the layers: presentation takes a payload (documented keys, docs/architecture.md) and the options
# are a vocabulary; neither reaches into an experiment.
FORBIDDEN = {"render": ("experiments", "reproductions"), "plots": ("experiments", "reproductions"),
             "commands.options": ("experiments",)}


@pytest.mark.parametrize("path", _modules("render", "plots", "commands/options.py"), ids=lambda p: _name(p))
def test_presentation_and_options_import_no_experiment(path):
    module = _name(path)
    banned = next(v for k, v in FORBIDDEN.items() if module == k or module.startswith(k + "."))
    bad = sorted(n for n in _imports(path) if any(n.startswith(f"resnet_cli.{b}") for b in banned))
    assert not bad, f"{module} imports {bad}"


MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
REASON = "Long because"
# Modules (a file without .py, or a package) being reworked while this rule lands; each line says why, and
# the list only shrinks.
LENGTH_EXEMPT: dict[str, str] = {}  # empty: every module follows the rule


def _relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _exempt(path: Path) -> bool:
    name = _relative(path)
    return any(name == key + ".py" or name.startswith(key + "/") for key in LENGTH_EXEMPT)


def test_exemptions_name_existing_modules():
    gone = [key for key in LENGTH_EXEMPT if not (PACKAGE / (key + ".py")).exists() and not (PACKAGE / key).is_dir()]
    assert not gone, f"no such module, drop it from LENGTH_EXEMPT: {gone}"


@pytest.mark.parametrize("path", [p for p in _modules(".") if not _exempt(p)], ids=_relative)
def test_modules_and_functions_are_short(path):
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_relative(path)} has {lines} lines (at most {MAX_MODULE_LINES})"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if length > MAX_FUNCTION_LINES and not any(line.strip().startswith(REASON) for line in doc.splitlines()):
                long.append(f"{node.name} ({length} lines)")
    assert not long, f"{_relative(path)}: over {MAX_FUNCTION_LINES} lines without '{REASON} …' in the docstring: {long}"


# Settings are data: fields, `check()` (cross-field rules) and nothing else; what a run does with them (cost,
# draws, schedules) is a function of the experiment or model that owns it. Classes still being converted
# (empty: every settings class is data):
NOT_YET_DATA: set[str] = set()


def _settings_classes() -> list[type]:
    import resnet_cli.api  # noqa: F401  (imports every experiment)
    from resnet_cli.config import Settings

    found, stack = [], [Settings]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub.__module__.startswith("resnet_cli.") and sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def test_settings_are_frozen_data():
    from resnet_cli.config import Settings

    behaviour = {}
    for cls in _settings_classes():
        assert cls.__dataclass_params__.frozen, f"{cls.__name__} is not a frozen dataclass"
        if cls.__name__ in NOT_YET_DATA:
            continue
        own = {name for klass in cls.__mro__ if klass not in (Settings, object) and klass.__module__.startswith("resnet_cli.")
               for name, value in vars(klass).items() if callable(value) and not name.startswith("__")}
        if own - {"check"}:
            behaviour[cls.__name__] = sorted(own - {"check"})
    assert not behaviour, f"settings with behaviour (make it a function of the experiment): {behaviour}"
    gone = NOT_YET_DATA - {c.__name__ for c in _settings_classes()}
    assert not gone, f"no such settings class, drop it from NOT_YET_DATA: {sorted(gone)}"


def test_every_command_settings_has_its_experiment():
    from resnet_cli import api

    commands = {cls for cls in _settings_classes() if cls.COMMAND and not cls.__name__.startswith("Demo")}
    assert commands <= set(api.EXPERIMENTS), sorted(c.__name__ for c in commands - set(api.EXPERIMENTS))


def test_every_module_is_named_in_the_architecture_page():
    """docs/architecture.md names every module (its file name) and every package (`name/`)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [_relative(p) for p in _modules(".")
               if (p.name != "__init__.py" and p.name not in text)
               or (p.name == "__init__.py" and p.parent != PACKAGE and f"{p.parent.name}/" not in text)]
    assert not missing, f"name these in docs/architecture.md: {missing}"


def test_one_run_signature():
    """Every experiment runs as `run(settings, progress=None)` and estimates as `cost(settings)`."""
    import inspect

    from resnet_cli import api

    odd = {}
    for kind, experiment in api.EXPERIMENTS.items():
        params = list(inspect.signature(experiment.run).parameters.values())
        if len(params) != 2 or params[1].name != "progress" or params[1].default is not None:
            odd[kind.__name__] = str(inspect.signature(experiment.run))
        if len(inspect.signature(experiment.cost).parameters) != 1:
            odd[kind.__name__ + " cost"] = str(inspect.signature(experiment.cost))
    assert not odd, odd
