"""How a result shows itself in a REPL or a notebook: a few lines, not a dataclass dump (docs/api.md).

Every experiment's result class sets ``__repr__ = short_repr``: the command and seed, the headline numbers
(top-level scalars and small tables of counts from `to_dict()`), the names and sizes of the tables, and a
pointer to `to_dict()` (the `--json` output) for everything else.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

WIDTH = 100  # characters per line
SCALARS = 8  # headline numbers shown, at most


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, numbers.Number))


def _short(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    text = str(value)
    return repr(text if len(text) <= 40 else text[:39] + "…")


def short_repr(result: Any) -> str:
    """A few lines summarising `result.to_dict()`: headline numbers first, then the tables by size."""
    payload = result.to_dict()
    config = payload.get("config") or {}
    head = f"{type(result).__name__}: resnet-cli {payload.get('command', '?')}"
    if "seed" in config:
        head += f", seed {config['seed']}"
    numbers_, tables = [], []
    for key, value in payload.items():
        if key in ("command", "config"):
            continue
        if _scalar(value):
            numbers_.append(f"{key}={_short(value)}")
        elif isinstance(value, dict) and 0 < len(value) <= 6 and all(_scalar(v) for v in value.values()):
            numbers_.append(f"{key}={{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}")
        elif hasattr(value, "__len__"):
            tables.append(f"{key} ({len(value)})")
    lines = [head]
    if numbers_:
        more = [f"… {len(numbers_) - SCALARS} more"] if len(numbers_) > SCALARS else []
        lines += _pack(numbers_[:SCALARS] + more)
    if tables:
        lines += _pack(tables, first="tables: ")
    lines.append("  .to_dict() holds everything (the --json output)")
    return "\n".join(lines)


def _pack(items: list[str], first: str = "") -> list[str]:
    """Items joined by ", " into indented lines of at most WIDTH characters, never splitting an item."""
    lines, line = [], "  " + first
    for item in items:
        piece = item if line.strip() in ("", first.strip()) else ", " + item
        if len(line) + len(piece) > WIDTH and line.strip() not in ("", first.strip()):
            lines.append(line + ",")
            line, piece = "  ", item
        line += piece
    return lines + [line]
