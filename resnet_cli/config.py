"""Configuration: packaged presets and TOML files merged under command-line flags.

Precedence (DESIGN.md §1): a parameter's default < its value in the `--config` file or preset < a flag
given on the command line. Unknown keys and values of the wrong type raise `ConfigError`.
"""

from __future__ import annotations

import math
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from resnet_cli.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESET_PACKAGE = "resnet_cli.presets"


def preset_names() -> list[str]:
    """Names of the packaged presets (`resnet_cli/presets/*.toml`)."""
    folder = resources.files(PRESET_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_toml(source: str) -> dict[str, Any]:
    """Load a TOML file by path, or a packaged preset by name."""
    path = Path(source)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file not found: {source}")
        text = path.read_text(encoding="utf-8")
        where = str(path)
    else:
        names = preset_names()
        if source not in names:
            raise ConfigError(
                f"unknown config {source!r}: not a file, and not a preset ({', '.join(names) or 'none'})"
            )
        text = resources.files(PRESET_PACKAGE).joinpath(f"{source}.toml").read_text(encoding="utf-8")
        where = f"preset {source}"
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML in {where}: {exc}") from None


def _kind(param: Any) -> str:
    """The value kind a config key must have: from the parameter's default, else from its declared type
    (options whose default is None, e.g. ``--eta-a`` or ``--out``, still have one)."""
    default = param.default
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    return {"boolean": "bool", "integer": "int", "float": "float"}.get(getattr(param.type, "name", ""), "str")


def _coerce(key: str, value: Any, kind: str, where: str) -> Any:
    """Check a config value against the kind of the parameter it sets."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: key {key!r} must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: key {key!r} must be an integer, got {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: key {key!r} must be a number, got {value!r}")
        return float(value)
    # String-typed options (lists like "4,9,16", paths, choices) also accept TOML arrays and numbers.
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{where}: key {key!r} has a value of the wrong type: {value!r}")


def resolve(ctx: Any, config: str | None, section: str) -> dict[str, Any]:
    """Merge defaults < config file/preset < command-line flags for the command behind `ctx`.

    `ctx` is the click/typer context of the running command; `section` is the command's table name in
    a TOML file (e.g. ``"train-two-layer"``). A file may hold flat keys, or tables named after commands;
    flat keys apply to the command only when the file has no table for it. Keys may use dashes or
    underscores. Returns every parameter of the command (without ``config``) as a dict.
    """
    params = {k: v for k, v in ctx.params.items() if k != "config"}
    if not config:
        return params
    data = load_toml(config)
    where = f"config {config}"
    if section in data and isinstance(data[section], dict):
        table = data[section]
        where = f"config {config} [{section}]"
    else:
        table = {k: v for k, v in data.items() if not isinstance(v, dict)}
    kinds = {p.name: _kind(p) for p in ctx.command.params}
    from click.core import ParameterSource

    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key == "command" or key == "description":
            continue
        if key not in params or key == "config":
            known = ", ".join(sorted(k.replace("_", "-") for k in params))
            raise ConfigError(f"{where}: unknown key {raw_key!r} (known: {known})")
        source = ctx.get_parameter_source(key)
        if source == ParameterSource.COMMANDLINE:
            continue
        params[key] = _coerce(raw_key, value, kinds.get(key, "str"), where)
    return params


def parse_int_list(text: str | int | list, name: str = "list") -> list[int]:
    """Parse "4,9,16", "1:5" (inclusive range), "2:32:x2" (geometric) or mixtures, into ints."""
    if isinstance(text, int):
        return [text]
    if isinstance(text, list):
        text = ",".join(str(t) for t in text)
    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                pieces = part.split(":")
                if len(pieces) == 2:
                    lo, hi = int(pieces[0]), int(pieces[1])
                    values.extend(range(lo, hi + 1))
                elif len(pieces) == 3 and pieces[2].startswith("x"):
                    lo, hi, factor = int(pieces[0]), int(pieces[1]), int(pieces[2][1:])
                    if factor < 2 or lo < 1:
                        raise ValueError
                    v = lo
                    while v <= hi:
                        values.append(v)
                        v *= factor
                elif len(pieces) == 3:
                    lo, hi, step = int(pieces[0]), int(pieces[1]), int(pieces[2])
                    if step < 1:
                        raise ValueError
                    values.extend(range(lo, hi + 1, step))
                else:
                    raise ValueError
            else:
                values.append(int(part))
        except ValueError:
            raise ConfigError(f"{name}: cannot read {part!r} as an integer, a range a:b or a:b:step") from None
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    return values


def parse_float_list(text: str | float | list, name: str = "list") -> list[float]:
    """Parse "1e-3,1e-2,0.1" or "logspace:-4:0:9" (9 points, 10^-4 .. 10^0) into floats."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [float(text)]
    if isinstance(text, list):
        text = ",".join(str(t) for t in text)
    text = str(text).strip()
    values: list[float] = []
    try:
        if text.startswith("logspace:"):
            _, lo, hi, num = text.split(":")
            n = int(num)
            if n < 1:
                raise ValueError
            lo_f, hi_f = float(lo), float(hi)
            values = [10 ** (lo_f + (hi_f - lo_f) * i / max(n - 1, 1)) for i in range(n)]
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ConfigError(f"{name}: cannot read {text!r} as numbers (e.g. 1e-3,1e-2 or logspace:-4:0:9)") from None
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    if any(not math.isfinite(v) for v in values):
        raise ConfigError(f"{name}: values must be finite")
    return values


def parse_choices(text: str, allowed: list[str], name: str) -> list[str]:
    """Parse a comma list of names, each one of `allowed`."""
    values = [p.strip() for p in str(text).split(",") if p.strip()]
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    for v in values:
        if v not in allowed:
            raise ConfigError(f"{name}: unknown value {v!r} (choose from {', '.join(allowed)})")
    return values


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless condition holds."""
    if not condition:
        raise ConfigError(message)


def one_of(value: str, allowed: tuple[str, ...] | list[str], name: str) -> str:
    """Check that a single option value is one of `allowed` (ConfigError otherwise)."""
    if value not in allowed:
        raise ConfigError(f"{name}: unknown value {value!r} (choose from {', '.join(allowed)})")
    return value
