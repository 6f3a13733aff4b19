"""Rendering and writing results: rich tables and progress (stderr), JSON/CSV writers.

Files are written atomically (a temp file in the same folder, then `os.replace`), so an interrupted run
never leaves half a file behind (docs/architecture.md, the flow of one command).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import decimal
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from rich.console import Console, RenderHook

from resnet_cli import outputs
from resnet_cli.errors import ConfigError
from resnet_cli.resources import format_duration
from resnet_cli.spelling import ascii_of

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class _AsciiHook(RenderHook):
    """A console whose stream cannot encode π, φ, λ, ‖ … gets the ASCII spellings (resnet_cli/spelling.py)
    before anything is laid out: replaced while the stream writes, they made cells wider than their columns
    (`| phi (rad) |` over a 9-wide column) and lines longer than the terminal."""

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [_spelled(r) for r in renderables]


def _spelled(item: Any) -> Any:
    """A str, Text or Table (its title, caption, headers and cells) in ASCII spellings; anything else as it is."""
    import copy

    from rich.table import Table
    from rich.text import Text

    if isinstance(item, str):  # markup first, then the text ("[π/2, π]" spelled "[pi/2, pi]" would read as a tag)
        return _spelled_text(Text.from_markup(item))
    if isinstance(item, Text):
        return _spelled_text(item)
    if isinstance(item, Table):
        table = copy.copy(item)
        table.title, table.caption = _spelled(item.title), _spelled(item.caption)
        table.columns = [dataclasses.replace(column, header=_spelled(column.header),
                                             _cells=[_spelled(cell) for cell in column._cells])
                         for column in item.columns]
        return table
    return item


def _spelled_text(text: Any) -> Any:
    """A rich Text in ASCII spellings, its style spans moved with the characters they cover."""
    from rich.text import Span, Text

    plain = text.plain
    if plain.isascii():
        return text
    starts, pieces, at = [], [], 0
    for ch in plain:
        starts.append(at)
        piece = ascii_of(ch)
        pieces.append(piece)
        at += len(piece)
    starts.append(at)
    spelled = Text("".join(pieces), style=text.style, justify=text.justify, overflow=text.overflow,
                   no_wrap=text.no_wrap, end=text.end)
    spelled.spans = [Span(starts[s.start], starts[s.end], s.style) for s in text.spans]
    return spelled


def _ascii_only(target: Console) -> bool:
    try:
        "πφλ‖".encode(target.encoding)
        return False
    except (UnicodeEncodeError, LookupError):
        return True


for _console in (console, err_console):
    if _ascii_only(_console):
        _console.push_render_hook(_AsciiHook())


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and dataclasses into JSON-ready python objects.

    Non-finite floats become the strings "nan", "inf", "-inf" so the output stays valid JSON.
    """
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


NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def from_jsonable(obj: Any) -> Any:
    """The inverse of `to_jsonable` for numbers: the strings "nan", "inf", "-inf" become floats again
    (a saved result read back plots and renders like the fresh one)."""
    if isinstance(obj, dict):
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    if isinstance(obj, str):
        return NON_FINITE.get(obj, obj)
    return obj


def dumps(payload: Any) -> str:
    """Stable JSON text of a payload (sorted keys are NOT used: the payload's order is the reader's)."""
    return json.dumps(to_jsonable(payload), indent=2)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` atomically (resnet_cli/outputs.py: temp file + rename, through symlinks, umask modes)."""
    outputs.write_atomic(path, text)


def rows_to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = ()) -> str:
    """CSV text of flat dict rows; the header is `columns`, then the other keys in first-seen order (a file
    of no rows still names its columns)."""
    header: list[str] = list(columns)
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
    if str(path).endswith(("/", "/.", os.sep)):  # Path() drops the trailing slash: od/x.json/ names a folder
        raise ConfigError(f"{flag} {path}: names a folder (ends in /); give a file name")
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


def fmt_bound(x: float, digits: int, upper: bool, max_digits: int = 17) -> str:
    """`fmt` of a bound met by measured values: an upper bound never prints below x, a lower one never above.
    More digits where `digits` would round across (1 + 1.8e-13 as an upper bound is 1.0000000000002, not 1,
    which reads as meeting M = 1), up to `max_digits`; there it is rounded outward (1.01 with max_digits 3)."""
    if not math.isfinite(x) or x == 0:
        return fmt(x, digits)

    def valid(text: str) -> bool:
        return float(text) >= x if upper else float(text) <= x

    for d in range(digits, max_digits + 1):
        text = fmt(x, d)
        if valid(text):
            return text
    exact = decimal.Decimal(float(x))  # (repr of a numpy float is "np.float64(…)")
    step = decimal.Decimal(1).scaleb(exact.adjusted() - max_digits + 1)
    outward = exact.quantize(step, rounding=decimal.ROUND_CEILING if upper else decimal.ROUND_FLOOR)
    return fmt(float(outward), max_digits)


def rate_text(x: float) -> str:
    """A rate to 3 decimals, with more where 3 would round a failure or a success away (2999 of 3000 is 0.9997,
    not 1.000; 1 of 3000 is 0.0003, not 0.000)."""
    digits, text = 3, f"{x:.3f}"
    while 0 < x < 1 and float(text) in (0.0, 1.0) and digits < 9:
        digits += 1
        text = f"{x:.{digits}f}"
    return text


#: Seconds between the plain progress lines printed when stderr is not a terminal.
PLAIN_EVERY = 10.0


def plain_progress(description: str, every: float | None = None, write: Callable[[str], None] | None = None,
                   clock: Callable[[], float] | None = None) -> Callable[..., None]:
    """`update(completed, total)` that writes one plain line every `every` seconds (logs, CI, Makefiles):
    "success rate: 43% (1 min 12 s elapsed, ~1 min 36 s left)". Nothing during the first `every` seconds.
    The time left comes from the work done since the first call: work already done then (cells a --cache
    held) took no time here and would make it look too short."""
    import time

    if every is None:
        try:
            every = float(os.environ.get("RESNET_CLI_PROGRESS_EVERY", PLAIN_EVERY))
        except ValueError:
            every = PLAIN_EVERY
    clock = clock or time.monotonic
    write = write or (lambda line: (sys.stderr.write(line + "\n"), sys.stderr.flush()))
    start = clock()
    state: dict[str, Any] = {"next": start + every, "base": None}

    def update(completed: float = 0, total: float = 1, description_now: str | None = None, **_: Any) -> None:
        now = clock()
        fraction = min(max(completed / total, 0.0), 1.0) if total else 0.0
        if state["base"] is None:
            state["base"] = fraction
        if now < state["next"]:
            return
        state["next"] = now + every
        elapsed = now - start
        rate = (fraction - state["base"]) / elapsed if elapsed > 0 else 0.0
        remaining = (1 - fraction) / rate if rate > 0 else None
        write(f"{description}: {fraction:.0%} ({progress_times(elapsed, remaining)})")

    return update


def progress_times(elapsed: float | None, remaining: float | None) -> str:
    """The times of a progress display, each labelled: "1 min 12 s elapsed, ~1 min 36 s left"
    (`resources.format_duration`, the one duration format)."""
    text = f"{format_duration(elapsed or 0.0)} elapsed"
    return text + (f", ~{format_duration(remaining)} left" if remaining is not None else "")


def times_column():
    """A rich progress column with the elapsed and the remaining time, labelled (`progress_times`)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class TimesColumn(ProgressColumn):
        def render(self, task) -> Text:
            elapsed = task.finished_time if task.finished else task.elapsed
            remaining = None if task.finished else task.time_remaining
            return Text(progress_times(elapsed, remaining), style="progress.elapsed")

    return TimesColumn()


@contextlib.contextmanager
def progress_bar(quiet: bool = False, description: str = "working") -> Iterator[Callable[..., None]]:
    """Progress on stderr: a rich bar with its times labelled ("12 s elapsed, ~30 s left") on a terminal, a plain line every ~10 s elsewhere
    (`plain_progress`), nothing when `quiet`.

    Yields `update(completed, total, description=None)`; engines call it per inner step (optimizer steps,
    Hessians), `executor.run_cells` also from inside running cells.
    """
    if quiet:
        def noop(completed: float = 0, total: float = 1, description: str | None = None) -> None:
            return None

        yield noop
        return
    if not err_console.is_terminal:
        yield plain_progress(description)
        return
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        times_column(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=1.0)

        def update(completed: float = 0, total: float = 1, description: str | None = None) -> None:
            kwargs: dict[str, Any] = {"completed": completed, "total": total or 1.0}
            if description is not None:
                kwargs["description"] = description
            progress.update(task, **kwargs)

        yield update

