"""Configuration without a CLI library: typed settings, presets and TOML files, one resolution rule.

Each experiment declares ONE settings dataclass (a subclass of `Settings`) whose fields hold every default,
range and choice once, through `setting(...)`; the field name is the flag (``lr_a`` ⇔ ``--lr-a``) and the
TOML key (``lr-a`` or ``lr_a``). `Settings.resolve(source, overrides)` merges

    the dataclass defaults  <  the command's table of a TOML file or packaged preset  <  explicit overrides

(what the user typed; None means "not given"), coerces each value to its field's type (TOML arrays stay
arrays; the strings a shell passes — "4:100:x2", "1e-3,1e-2", "logspace:-4:0:9" — are parsed), and
validates every field with `check_scalar` (after scikit-learn's `utils.validation.check_scalar`), so each
range error has the same shape: ``--trials 0: must be at least 1``. Nothing here imports typer, click or
rich: notebooks and scripts build the same configs (`SuccessSettings.resolve("liu2019-success")`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import sys
import types
import typing
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

from resnet_cli.errors import ConfigError
from resnet_cli.vocabulary import SECTIONS, rename_values, renamed_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESET_PACKAGE = "resnet_cli.presets"
IGNORED_KEYS = ("command", "description")


INT_MAX = 2**63 - 1  # whole numbers must fit numpy's int64


def as_float(x: numbers.Real, name: str) -> float:
    """`float(x)`, or a ConfigError where `x` is an integer beyond any float (a TOML file or a script may hold
    one: 10**400)."""
    try:
        return float(x)
    except OverflowError:
        digits = str(abs(x))
        raise ConfigError(f"{name} {'-' if x < 0 else ''}{digits[:6]}… ({len(digits)} digits): too large for a "
                          "number") from None


def flag_of(name: str) -> str:
    """The command-line flag of a settings field: ``lr_a`` → ``--lr-a`` (the one spelling rule: messages,
    refusals and config keys all go through it)."""
    return "--" + name.replace("_", "-")


def setting(
    default: Any,
    *,
    min: float | None = None,
    max: float | None = None,
    open_min: bool = False,
    choices: tuple[str, ...] | None = None,
    shown: str | None = None,
) -> Any:
    """A settings field: its default and its valid values, written once.

    `min`/`max` bound a number (or every element of a list; `open_min` excludes the bound); `choices`
    restricts a string (or every element of a list); `shown` is how `--help` shows a default computed
    later (e.g. ``"Theorem 1"`` for a step size whose default is None).
    """
    meta = {"min": min, "max": max, "open_min": open_min, "choices": choices, "shown": shown}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def check_scalar(
    x: Any,
    name: str,
    target_type: type | tuple[type, ...],
    min_val: float | None = None,
    max_val: float | None = None,
    open_min: bool = False,
) -> Any:
    """Check type and range of one value; raise ConfigError ``NAME VALUE: must be ...`` otherwise."""
    targets = target_type if isinstance(target_type, tuple) else (target_type,)
    if float in targets and isinstance(x, numbers.Real) and not isinstance(x, bool):
        x = as_float(x, name)
        if not math.isfinite(x):
            raise ConfigError(f"{name} {x}: must be a finite number")
    elif int in targets and (isinstance(x, bool) or not isinstance(x, numbers.Integral)):
        shown = str(x).lower() if isinstance(x, bool) else repr(x)  # TOML's spelling of a boolean
        raise ConfigError(f"{name} {shown}: must be a whole number")
    elif int in targets and not -INT_MAX - 1 <= x <= INT_MAX:
        raise ConfigError(f"{name} {x}: too large (at most {INT_MAX})")
    elif not isinstance(x, targets):
        kinds = " or ".join(t.__name__ for t in targets)
        raise ConfigError(f"{name} {x!r}: must be of type {kinds}")
    if min_val is not None and (x < min_val or (open_min and x == min_val)):
        word = "greater than" if open_min else "at least"
        raise ConfigError(f"{name} {x}: must be {word} {_num(min_val)}")
    if max_val is not None and x > max_val:
        raise ConfigError(f"{name} {x}: must be at most {_num(max_val)}")
    return x


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


# ---------------------------------------------------------------------------------------------------------
# Lists as a shell passes them
# ---------------------------------------------------------------------------------------------------------

MAX_LIST = 100_000  # longer lists are refused before they are built (a range like 1:3000000000)


def _items(text: str, name: str) -> list[str]:
    """The comma-separated items of `text`, stripped; an empty item (`4,,9`, `4,9,`) is refused, not skipped:
    it is more likely a lost value than a wish."""
    if not text.strip():
        raise ConfigError(f"{name}: the list is empty")
    parts = [p.strip() for p in text.split(",")]
    if any(not p for p in parts):
        raise ConfigError(f"{name} {text}: an item of the list is empty")
    return parts


def parse_int_list(text: str | int | list, name: str = "list") -> list[int]:
    """Parse "4,9,16", "1:5" (inclusive range), "2:32:x2" (geometric), "1:9:2" (step) or mixtures, into ints."""
    if isinstance(text, bool):
        raise ConfigError(f"{name}: cannot read {text!r} as an integer")
    if isinstance(text, int):
        return [text]
    if isinstance(text, list):
        if all(isinstance(t, int) and not isinstance(t, bool) for t in text):
            if not text:
                raise ConfigError(f"{name}: the list is empty")
            return list(text)
        text = ",".join(str(t) for t in text)
    values: list[int] = []
    for part in _items(str(text), name):
        try:
            pieces = part.split(":")
            if len(pieces) == 1:
                values.append(int(part))
            elif len(pieces) == 2 or (len(pieces) == 3 and not pieces[2].startswith("x")):
                lo, hi = int(pieces[0]), int(pieces[1])
                step = int(pieces[2]) if len(pieces) == 3 else 1
                if step < 1:
                    raise ValueError
                if (hi - lo) // step + 1 > MAX_LIST:
                    raise ConfigError(f"{name} {part}: more than {MAX_LIST:,} values")
                values.extend(range(lo, hi + 1, step))
            elif len(pieces) == 3:
                lo, hi, factor = int(pieces[0]), int(pieces[1]), int(pieces[2][1:])
                if factor < 2 or lo < 1:
                    raise ValueError
                v = lo
                while v <= hi:
                    values.append(v)
                    v *= factor
            else:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{name}: cannot read {part!r} as an integer, a range a:b, a:b:step or a:b:xF") from None
        if len(values) > MAX_LIST:
            raise ConfigError(f"{name}: more than {MAX_LIST:,} values")
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    return values


def parse_float_list(text: str | float | list, name: str = "list") -> list[float]:
    """Parse "1e-3,1e-2,0.1" or "logspace:-4:0:9" (9 points, 10^-4 .. 10^0) into finite floats."""
    numeric = lambda t: isinstance(t, (int, float)) and not isinstance(t, bool)  # noqa: E731
    if numeric(text) or isinstance(text, list) and all(numeric(t) for t in text):
        values = [as_float(t, name) for t in (text if isinstance(text, list) else [text])]
    else:
        if isinstance(text, list):
            text = ",".join(str(t) for t in text)
        text = str(text).strip()
        try:
            if text.startswith("logspace:"):
                _, lo, hi, num = text.split(":")
                n = int(num)
                if not 1 <= n <= MAX_LIST:
                    raise ValueError
                lo_f, hi_f = float(lo), float(hi)
                if not (abs(lo_f) <= 300 and abs(hi_f) <= 300):
                    raise ConfigError(f"{name} {text}: exponents must lie in [-300, 300]")
                values = [10 ** (lo_f + (hi_f - lo_f) * i / max(n - 1, 1)) for i in range(n)]
            else:
                values = [float(p) for p in _items(text, name)]
        except ValueError:
            raise ConfigError(f"{name}: cannot read {text!r} as numbers (e.g. 1e-3,1e-2 or logspace:-4:0:9)") from None
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    if any(not math.isfinite(v) for v in values):
        raise ConfigError(f"{name}: values must be finite")
    return values


def parse_str_list(text: str | list, name: str = "list") -> list[str]:
    """Parse "cnn,resnet" or a TOML array of strings into a list of names."""
    if isinstance(text, list):
        values = [str(t).strip() for t in text]
        if any(not v for v in values):
            raise ConfigError(f"{name}: an item of the list is empty")
    else:
        values = _items(str(text), name)
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    return values


# ---------------------------------------------------------------------------------------------------------
# Files and presets
# ---------------------------------------------------------------------------------------------------------


def preset_names() -> list[str]:
    """Names of the packaged presets (`resnet_cli/presets/*.toml`)."""
    folder = resources.files(PRESET_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_toml(source: str) -> dict[str, Any]:
    """Load a TOML file by path, or a packaged preset by name; every failure is one ConfigError line."""
    path = Path(source)
    if path.suffix == ".toml" or path.exists() or "/" in source:
        if path.is_dir():
            raise ConfigError(f"--config {source}: is a folder, not a TOML file")
        if not path.is_file():
            raise ConfigError(f"--config {source}: " + ("not a regular file" if path.exists() else "file not found"))
        try:
            text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")  # (a BOM some editors write)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"--config {source}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise ConfigError(f"--config {source}: cannot read it ({exc.strerror or exc})") from None
        where = str(path)
    else:
        names = preset_names()
        if source not in names:
            raise ConfigError(f"--config {source!r}: not a file, and not a preset ({', '.join(names) or 'none'})")
        text = resources.files(PRESET_PACKAGE).joinpath(f"{source}.toml").read_text(encoding="utf-8")
        where = f"preset {source}"
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {where}: malformed TOML ({str(exc).splitlines()[0]})") from None
    except RecursionError:  # the parser recurses per nested array or inline table
        raise ConfigError(f"--config {where}: nested too deeply (arrays or tables inside each other)") from None
    except ValueError as exc:  # Python's limit on integer digits (4300): a number no option could take
        raise ConfigError(f"--config {where}: a number too long to read ({type(exc).__name__}: more digits than "
                          "Python converts)") from None


def command_table(data: dict[str, Any], section: str, source: str) -> dict[str, Any]:
    """The keys of a TOML file that apply to the command whose table is `section`.

    A file holds either flat keys (for whichever command reads it) or tables named after commands; a file
    with tables for other commands only is refused (a preset meant for another command).
    """
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    flat = [k for k, v in data.items() if not isinstance(v, dict) and k not in IGNORED_KEYS]
    if tables and flat:  # they were dropped without a word: which table they were meant for is not known
        raise ConfigError(f"--config {source}: flat keys ({', '.join(flat)}) beside tables "
                          f"({', '.join(f'[{t}]' for t in tables)}) are not read; move them into a table")
    if section in tables:
        return dict(tables[section])
    if tables:
        command_of = {table: command for command, table in SECTIONS.items()}
        # ([reproduce] is what `reproduce` reads from a preset: no command takes such a file)
        meant = ", ".join(sorted(command_of.get(name, name) for name in tables if name != "reproduce"))
        mine = command_of.get(section, section)
        if not meant:
            raise ConfigError(f"--config {source}: this file holds only a [reproduce] table (what `resnet-cli "
                              f"reproduce` reads from a preset), no settings of `{mine}`")
        raise ConfigError(f"--config {source}: this file is for `{meant}`, not `{mine}`")
    return {k: v for k, v in data.items() if not isinstance(v, dict)}


# ---------------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------------


def _strip_optional(tp: Any) -> Any:
    """X for Optional[X] (a setting whose default is None takes X's values), else the type itself."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        return next(a for a in args if a is not type(None))
    return tp


def _check_resolve_arguments(source: Any, overrides: Any) -> None:
    """`resolve`'s arguments from Python: a path (or None) and a mapping of option names (or None)."""
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"--config {source!r}: must be a file name or a preset name")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(f"the overrides {type(overrides).__name__}: must be a mapping of option names to values")
    for key in overrides or {}:
        if not isinstance(key, str):
            raise ConfigError(f"option {key!r}: option names are strings (as 'trials' or 'lr-a')")


def _plain(value: Any) -> Any:
    """An override from Python as the plain values a TOML file holds: numpy numbers as Python ones, tuples and
    arrays as lists (the settings' constructor takes all of them)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # a numpy number or array
        value = value.tolist()
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _scalar(name: str, tp: Any, value: Any) -> Any:
    """One value as `tp` (int, float, bool, str): numpy numbers become Python ones; anything else is an error."""
    boolean = isinstance(value, bool) or type(value).__name__ == "bool"  # (numpy's bool: not imported here)
    if tp is bool:
        if boolean:
            return bool(value)
        raise ConfigError(f"{name} {value!r}: must be true or false")
    if tp is int:  # check_scalar says what is wrong with anything else (a bool in TOML's spelling)
        return check_scalar(int(value) if isinstance(value, numbers.Integral) and not boolean else value, name, int)
    if tp is float:
        if isinstance(value, numbers.Real) and not boolean:
            return as_float(value, name)
        raise ConfigError(f"{name} {value!r}: must be a number")
    if tp is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if tp is str and not isinstance(value, str):
        raise ConfigError(f"{name} {value!r}: must be a string")
    return value


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of every experiment's settings dataclass (see the module docstring)."""

    COMMAND: ClassVar[str] = ""  # e.g. "success-rate"; its TOML table is SECTIONS[COMMAND]

    # --- the resolution rule -------------------------------------------------------------------------
    @classmethod
    def resolve(
        cls,
        source: str | None = None,
        overrides: dict[str, Any] | None = None,
        *,
        notify: Callable[[str], None] | None = None,
    ):
        """defaults < the command's table in `source` (file or preset) < `overrides` (None = not given)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        names = set(fields)
        values: dict[str, Any] = {}
        _check_resolve_arguments(source, overrides)
        if source is not None:
            require_not_blank("--config", os.fspath(source))
            source = os.fspath(source)
        notes: list[str] = []  # deprecation notices, printed once the settings are valid (an error stays one line)
        if source:
            spelled: dict[str, str] = {}  # field -> the key of the file that set it
            section = SECTIONS.get(cls.COMMAND, cls.COMMAND.replace(" ", "-"))
            table = command_table(load_toml(source), section, source)
            for raw_key, value in table.items():
                if raw_key in IGNORED_KEYS:
                    continue
                key = renamed_key(cls.COMMAND, raw_key, notes.append)[2:].replace("-", "_")
                if key not in names:
                    known = ", ".join(sorted(n.replace("_", "-") for n in names))
                    raise ConfigError(f"--config {source}: unknown key {raw_key!r} (known: {known})")
                if key in spelled:
                    raise ConfigError(f"--config {source}: {spelled[key]!r} and {raw_key!r} both set {flag_of(key)}; "
                                      "keep one")
                spelled[key] = raw_key
                try:
                    values[key] = cls._coerce(key, value)
                    if (overrides or {}).get(key) is None:  # (a value the command line replaces may stay)
                        cls._check_field(fields[key], values[key])
                except ConfigError as exc:  # say which file holds the value
                    raise ConfigError(f"--config {source}: {exc}") from None
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            key = key.replace("-", "_") if isinstance(key, str) else key  # ("lr-a", as a TOML file spells it)
            if isinstance(key, str) and key not in names:  # an old spelling, as in a file (runs -> trials)
                old, new = flag_of(key), renamed_key(cls.COMMAND, key, notes.append, in_file=False)
                key = new[2:].replace("-", "_")
                if new != old and (key in (overrides or {}) or key.replace("_", "-") in (overrides or {})):
                    raise ConfigError(f"{old} and {new} both set {new}; keep one")
            if key not in names:
                raise ConfigError(f"{flag_of(key)}: not an option of {cls.COMMAND or cls.__name__}")
            values[key] = cls._coerce(key, _plain(value))
        settings = cls(**rename_values(cls.COMMAND, values, notes.append))
        settings.validate()
        for note in notes:  # (from Python without `notify`: as a DeprecationWarning, like settings built directly)
            notify(note) if notify is not None else warnings.warn(note, DeprecationWarning, stacklevel=2)
        return settings

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Field name -> default value (lists as new lists)."""
        out = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                out[f.name] = f.default_factory()  # type: ignore[misc]
        return out

    @classmethod
    def shown_defaults(cls) -> dict[str, str]:
        """Field name -> how `--help` shows a default computed later (the `shown` of `setting`)."""
        return {f.name: f.metadata["shown"] for f in dataclasses.fields(cls) if f.metadata.get("shown")}

    @classmethod
    def _field_type(cls, key: str) -> Any:
        return _type_hints(cls)[key]

    @classmethod
    def _coerce(cls, key: str, value: Any) -> Any:
        """A TOML or command-line value converted to the field's type (range checks come later)."""
        name = flag_of(key)
        tp = _strip_optional(cls._field_type(key))
        origin = typing.get_origin(tp)
        if origin is list:
            (item,) = typing.get_args(tp)
            if item is int:
                return parse_int_list(value, name)
            if item is float:
                return parse_float_list(value, name)
            return parse_str_list(value, name)
        if tp is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} {value!r}: must be true or false")
            return value
        if tp in (int, float):
            if isinstance(value, str):
                try:
                    value = tp(value)
                except ValueError:
                    raise ConfigError(f"{name} {value!r}: must be {'a whole number' if tp is int else 'a number'}") from None
            return check_scalar(value, name, tp)
        if tp is str:
            if isinstance(value, os.PathLike):  # (a pathlib.Path for --cache from Python)
                value = os.fspath(value)
            if not isinstance(value, str):  # (TOML's `cache = 7` is a number: as the Python API, not a folder '7')
                raise ConfigError(f"{name} {value!r}: must be a string")
            return value
        return value

    # --- validation -----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every field's type (settings built in Python skip the parsing of the command line: a string,
        None or numpy number where a count belongs; numpy numbers become Python ones), then its
        `setting(...)` metadata, then the cross-field rules of `check`."""
        old = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        # old values in settings built directly (`resolve` has renamed them already, with its notices)
        renamed = rename_values(self.COMMAND, old, lambda message: warnings.warn(message, DeprecationWarning, 3))
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, self._typed(f.name, renamed[f.name]))
            self._check_field(f, getattr(self, f.name))
        self.check()

    @classmethod
    def _typed(cls, key: str, value: Any) -> Any:
        """`value` as the field's type (int, float, bool, str, a list of one of them; None where Optional),
        or ConfigError naming the flag: "--trials '4': must be a whole number"."""
        name, hint = flag_of(key), cls._field_type(key)
        tp = _strip_optional(hint)
        if value is None:
            if tp is not hint:
                return None
            raise ConfigError(f"{name} None: must be given (leave it out for the default)")
        if typing.get_origin(tp) is list:
            (item,) = typing.get_args(tp)
            if hasattr(value, "tolist") and not isinstance(value, (list, tuple, str)):  # a numpy array
                value = value.tolist()
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{name} {value!r}: must be a list, e.g. [{value!r}]")
            if not value:
                raise ConfigError(f"{name} []: must list at least one value")
            return [_scalar(name, item, v) for v in value]
        return _scalar(name, tp, value)

    @staticmethod
    def _check_field(f: dataclasses.Field, value: Any) -> None:
        """One field's value against its `setting(...)` metadata: the seed, choices, type and range."""
        from resnet_cli.rng import check_seed

        name = flag_of(f.name)
        if f.name == "seed":
            check_seed(value)
            return
        if value is None:
            return
        meta = f.metadata
        require_not_blank(name, value)  # `--cache ""` is not "no cache" (flags, files, Python)
        for item in value if isinstance(value, list) else [value]:
            if meta.get("choices") is not None and item not in meta["choices"]:
                raise ConfigError(f"{name} {item!r}: choose from {', '.join(meta['choices'])}")
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                check_scalar(item, name, float if isinstance(item, float) else int,
                             meta.get("min"), meta.get("max"), meta.get("open_min", False))

    def check(self) -> None:
        """Cross-field rules of one experiment (override; raise ConfigError naming the flags)."""

    def to_dict(self) -> dict[str, Any]:
        """Every setting, JSON-ready (the `config` of a result; the seed lives here and only here)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless condition holds."""
    if not condition:
        raise ConfigError(message)


def require_not_blank(flag: str, value: Any) -> None:
    """ConfigError for a string value that is empty or only spaces (`--cache ""` is not "no cache": a variable
    that was meant to be set); anything else passes."""
    if isinstance(value, str) and not value.strip():
        raise ConfigError(f"{flag} {value!r}: must not be empty (leave the option out instead)")


def require_distinct(flag: str, values: Sequence[Any], key: Callable[[Any], Any] = lambda value: value) -> None:
    """ConfigError unless no value of a list option is given twice (`key`: what counts as the same, e.g. an
    alias and its name): "--k 4,4: 4 is listed twice"."""
    seen: set[Any] = set()
    for value in values:
        if key(value) in seen:
            shown = ",".join(str(v) for v in values)
            raise ConfigError(f"{flag} {shown}: {value} is listed twice" + (
                "" if key(value) == value else f" (as {key(value)})"))
        seen.add(key(value))


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """`typing.get_type_hints` of a settings class, evaluated once (a command's validation asks it for every
    field: ~0.1 s per run before)."""
    return typing.get_type_hints(cls)
