"""Rendering and writing results: rich tables and progress (stderr), JSON/CSV writers.

Files are written atomically (a temp file in the same folder, then `os.replace`), so an interrupted run
never leaves half a file behind (DESIGN.md §1).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from rich.console import Console

from resnet_cli import outputs
from resnet_cli.errors import ConfigError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and dataclasses into JSON-ready python objects.

    Non-finite floats become the strings "nan", "inf", "-inf" so the output stays valid JSON.
    """
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(payload: Any) -> str:
    """Stable JSON text of a payload (sorted keys are NOT used: the payload's order is the reader's)."""
    return json.dumps(to_jsonable(payload), indent=2)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` atomically (resnet_cli/outputs.py: temp file + rename, through symlinks, umask modes)."""
    outputs.write_atomic(path, text)


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of flat dict rows; the header is the union of keys in first-seen order."""
    header: list[str] = []
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: to_jsonable(v) for k, v in row.items()})
    return buf.getvalue()


def check_out_path(path: str | None, allowed: tuple[str, ...] = (".json", ".csv"), flag: str = "--out") -> None:
    """An output path's suffix, and that it can be written, checked before any work is done."""
    if not path:
        return
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise ConfigError(f"{flag} {path}: the file name must end in {' or '.join(allowed)}")
    outputs.check_writable(path, flag)


def write_output(path: str, payload: Any, rows: list[dict[str, Any]]) -> None:
    """Write the result: JSON (the whole payload) or CSV (the flat rows), by the file's extension."""
    check_out_path(path)
    if Path(path).suffix.lower() == ".json":
        write_atomic(path, dumps(payload) + "\n")
    else:
        write_atomic(path, rows_to_csv(rows))


def print_json(payload: Any) -> None:
    """Machine-readable result on stdout, and nothing else there."""
    sys.stdout.write(dumps(payload) + "\n")
    sys.stdout.flush()


def fmt(x: Any, digits: int = 4) -> str:
    """Compact number formatting for tables (general format, nan/inf spelled out)."""
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.{digits}g}"
    return f"{v:.{max(digits - 1, 1)}e}"


@contextlib.contextmanager
def progress_bar(quiet: bool = False, description: str = "working") -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr; silent when `quiet` or when stderr is not a terminal.

    Yields `update(completed, total, description=None)`.
    """
    if quiet or not err_console.is_terminal:
        def noop(completed: float = 0, total: float = 1, description: str | None = None) -> None:
            return None

        yield noop
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=1.0)

        def update(completed: float = 0, total: float = 1, description: str | None = None) -> None:
            kwargs: dict[str, Any] = {"completed": completed, "total": total}
            if description is not None:
                kwargs["description"] = description
            progress.update(task, **kwargs)

        yield update
