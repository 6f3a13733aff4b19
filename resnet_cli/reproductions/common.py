"""What every reproduction shares: where it writes, how it runs its cells, its run record, its marked section.

A reproduction (one module of this package) is declared as data — the runs it makes (presets and flags, as a
user would type them), the files it writes under a docs folder and the marked section of `reproductions.md`
it owns — plus two functions: `build(ctx)` runs it (through `executor.run_cells`, so `--jobs`, `--dask`,
`--cache` and Ctrl-C work as in every sweep) and writes `data/*.json`, `section(docs)` renders its section
from those files alone (`--render-only`). What a section says about the run itself (date, seconds, machine)
is kept in the run record `data/reproduce-NAME.json`, written by `build`, so a re-render is byte-identical.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from resnet_cli.errors import UserError
from resnet_cli.report import dumps, from_jsonable, write_atomic

TITLE = "# Reproductions\n\nPaper's claims beside our numbers, with the command and seed that made ours.\n"


@dataclass(frozen=True)
class Execution:
    """Where the cells run (`--jobs`, `--dask`, `--cache`) and how big the run is (`--quick`)."""

    jobs: int | None = None
    dask: str | None = None
    cache: str | None = None
    quick: bool = False
    only: tuple[str, ...] = ()

    def workers(self, default: int = 2) -> int:
        return self.jobs if self.jobs is not None else min(default, os.cpu_count() or 1)

    def cells(self) -> dict[str, Any]:
        """The keyword arguments of `executor.run_cells`."""
        return {"jobs": self.workers(), "dask": self.dask, "cache": self.cache}


@dataclass
class Context:
    """One `reproduce` call: the docs folder, the execution, and a log line writer (stderr)."""

    docs: Path
    execution: Execution = field(default_factory=Execution)
    log: Callable[[str], None] = lambda message: None

    def data(self, stem: str) -> Path:
        return self.docs / "data" / f"{stem}.json"

    def figure(self, stem: str) -> Path:
        return self.docs / "figures" / f"{stem}.png"


@dataclass(frozen=True)
class Reproduction:
    """One reproduction: its name, what it runs and writes, and its two functions."""

    name: str
    summary: str
    begin: str | None                   # markers of its section in reproductions.md (None: a page of its own)
    end: str | None
    build: Callable[[Context], None]
    section: Callable[[Path], str | None]
    draw: Callable[[Path], None] = lambda docs: None
    after: str | None = None            # a new section goes right after this marker
    parts: tuple[str, ...] = ()         # what --only may choose
    quick: bool = False                 # has a --quick size
    part_data: str | None = None        # the stem of a part's data file ("li2017-{}"), which keeps its wall_seconds


def flag_text(flag: str, value: Any) -> list[str]:
    """The tokens a user types for one setting: `--stage2-steps 5000`, `--p 2,8,16`, `--online`."""
    name = "--" + flag.replace("_", "-")
    if value is True:
        return [name]
    if isinstance(value, (list, tuple)):
        return [name, ",".join(str(v) for v in value)]
    return [name, str(value)]


def command_line(command: str, flags: dict[str, Any], *extra: str) -> str:
    """`resnet-cli COMMAND --flag value ...` in the order the flags are declared."""
    tokens = [tok for flag, value in flags.items() for tok in flag_text(flag, value)]
    return " ".join(["resnet-cli", command, *tokens, *extra])


# --- the run record ------------------------------------------------------------------------------------------


def record_path(docs: Path, name: str) -> Path:
    return docs / "data" / f"reproduce-{name}.json"


def write_record(docs: Path, name: str, **facts: Any) -> None:
    """What the section says about the run (date, seconds, machine), next to its data."""
    facts = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cores": os.cpu_count(), **facts}
    write_atomic(record_path(docs, name), dumps(facts) + "\n")


def read_record(docs: Path, name: str) -> dict[str, Any]:
    path = record_path(docs, name)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def record_or_empty(docs: Path, name: str) -> dict[str, Any]:
    """The run record, or {} where it is missing or damaged (what a run writes does not depend on it)."""
    try:
        record = read_record(docs, name)
    except (OSError, ValueError, RecursionError):  # (a JSON array nested 100,000 deep: RecursionError)
        return {}
    return record if isinstance(record, dict) else {}


def full_results(docs: Path) -> list[str]:
    """The run records in DIR/data of runs made at full size (every record not marked ``quick``: those of
    reproductions run before the mark was kept count as full), which a --quick run must not overwrite."""
    folder = docs / "data"
    if not folder.is_dir():
        return []
    return [path.name for path in sorted(folder.glob("reproduce-*.json"))
            if not record_or_empty(docs, path.name[len("reproduce-"):-len(".json")]).get("quick")]


def record_run(docs: Path, name: str, before: dict[str, Any], **facts: Any) -> None:
    """After a build: its run record gets `facts` (the run's wall and CPU seconds), except those the build has
    just written itself (the record then differs from `before`, read before the build); a record the build did
    not write is this run's from the date on."""
    now = record_or_empty(docs, name)
    base = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cores": os.cpu_count()}
    record = {**base, **facts, **now} if now != before else {**now, **base, **facts}
    write_atomic(record_path(docs, name), dumps(record) + "\n")


def recorded_wall(docs: Path, rep: Reproduction) -> float | None:
    """The wall seconds the last recorded run of `rep` in `docs` took, or None where nothing (readable) records
    it: the sum of its parts' `wall_seconds` (each part's data file keeps its own, so a run of some parts stays
    right), else the record's `wall` (its build's, or `reproduce`'s), else the sum of its per-command
    `seconds`; None after a run with --cache. Never raises: a missing or damaged file only means no number."""

    def number(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    try:
        record = record_or_empty(docs, rep.name)
        if record.get("cache"):
            return None  # a run with --cache: the cells it read took no time (its parts' times are too short)
        if rep.part_data is not None:
            walls = [number(read_json(docs / "data" / f"{rep.part_data.format(part)}.json").get("wall_seconds"))
                     for part in rep.parts]
            return None if any(w is None for w in walls) else float(sum(walls))  # type: ignore[arg-type]
        if number(record.get("wall")) is not None:
            return number(record["wall"])
        seconds = record.get("seconds")
        parts = [number(v) for v in seconds.values()] if isinstance(seconds, dict) and seconds else [None]
        return None if any(v is None for v in parts) else float(sum(parts))  # type: ignore[arg-type]
    except (UserError, AttributeError, TypeError):  # (read_json: a missing or damaged file is a UserError)
        return None


def record_machine(record: dict[str, Any]) -> str:
    """"x86_64, 2 cores": the machine a record's run was made on (as `write_record` stored it), and ", load
    average 4.3 at the start" when the record has its `load` (the machine is shared)."""
    load = f", load average {record['load']} at the start" if "load" in record else ""
    return f"{record.get('machine', '?')}, {record.get('cores', '?')} cores{load}"


def cpu_seconds() -> float:
    """CPU time of this process, its joined children and the live workers of `pool.shared_workers`."""
    from resnet_cli.executor.pool import worker_cpu_seconds

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system + worker_cpu_seconds()


def stored(docs: Path, prefix: str, names) -> "Iterator[tuple[str, Path]]":
    """(name, path) of each docs/data/{prefix}{name}.json that a run has written, in the order of `names` (a
    run of some parts, --only, writes some); none at all is refused, not a section without its figures."""
    paths = [(name, docs / "data" / f"{prefix}{name}.json") for name in names]
    found = [(name, path) for name, path in paths if path.exists()]
    if not found:
        raise UserError(f"{docs / 'data'}: none of {', '.join(str(p.name) for _, p in paths)} (run the "
                        "reproduction first, without --render-only)")
    yield from found


def load_average() -> float:
    """The 1-minute load average now, to one decimal: a run's record keeps it from its start (the machine may
    be shared, and the section says how busy it was)."""
    return round(os.getloadavg()[0], 1)


def timed_payload(compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """compute()'s JSON payload with what its run cost: `wall_seconds`, `cpu_seconds` (this process and its
    joined pool workers) and `load_average` at the start (the machine may be shared)."""
    start, cpu, load = time.perf_counter(), cpu_seconds(), load_average()
    payload = compute()
    payload["wall_seconds"] = time.perf_counter() - start
    payload["cpu_seconds"] = cpu_seconds() - cpu
    payload["load_average"] = load
    return payload


def run_tasks(ctx: "Context", fn: Callable[[Any], Any], tasks: list[Any], weights: list[float],
              what: str = "runs") -> tuple[list[Any], float, float]:
    """A reproduction's tasks as cells of `executor.run_cells` (ctx's --jobs/--dask/--cache), logged:
    (results in task order, wall seconds, CPU seconds of this process and its joined children)."""
    from resnet_cli.executor import run_cells

    start, cpu = time.perf_counter(), cpu_seconds()
    ctx.log(f"{len(tasks)} {what}, {ctx.execution.workers()} at a time")
    results = run_cells(fn, tasks, weights=weights, **ctx.execution.cells())
    return results, time.perf_counter() - start, cpu_seconds() - cpu


def read_json(path: Path) -> dict[str, Any]:
    try:
        return from_jsonable(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UserError(f"{path}: missing (run the reproduction first, without --render-only)") from None
    except (ValueError, OSError, RecursionError) as exc:  # JSON errors, non-UTF-8 bytes; nesting too deep
        raise UserError(f"{path}: cannot be read as JSON ({type(exc).__name__}); run the reproduction again") from None


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dumps(payload) + "\n")


# --- the marked section --------------------------------------------------------------------------------------


def write_marked_section(path: str | os.PathLike, section: str, begin: str, end: str, *, after: str | None = None,
                         title: str = "# Reproductions\n") -> None:
    """Put `section` (which starts with the marker `begin` and ends with `end`) into a Markdown file: in place
    of the text between the markers if the file has them, else right after the marker `after` if given and
    present, else at the end (a new file starts with `title`). Each reproduction owns one part of
    reproductions.md this way and rewrites only it; the file is replaced atomically."""
    target = Path(path)
    old = check_markers(target, begin, end, title)
    body = section.rstrip("\n")
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + body + rest.split(end, 1)[1]
    elif after is not None and after in old:
        head, rest = old.split(after, 1)
        new = head + after + "\n\n" + body + rest
    else:
        new = old.rstrip("\n") + "\n\n" + body + "\n"
    write_atomic(target, new)


def check_markers(target: Path, begin: str, end: str, title: str = "# Reproductions\n") -> str:
    """The page's text (`title` for a page not yet written), refused unless it is UTF-8 and holds the markers
    as one pair or not at all: run before a reproduction computes, and again when it writes."""
    try:
        old = target.read_text(encoding="utf-8") if target.exists() else title
    except UnicodeDecodeError as exc:
        raise UserError(f"{target}: not UTF-8 text (byte {exc.start}); fix or remove it") from None
    if (begin in old) != (end in old) or old.count(begin) > 1 or old.count(end) > 1:
        raise UserError(f"{target}: its markers {begin} … {end} are not one pair (one is missing or repeated); "
                        "fix the page, the section goes between them")
    return old


def marked_section(text: str, begin: str, end: str) -> str | None:
    """The part of `text` from `begin` to `end` (both included), or None."""
    if begin not in text or end not in text:
        return None
    head, rest = text.split(begin, 1)
    return begin + rest.split(end, 1)[0] + end


def check_parts(rep: Reproduction, only: Sequence[str]) -> list[str]:
    """The parts of `rep` that --only chooses (all by default)."""
    if not only:
        return list(rep.parts)
    bad = [p for p in only if p not in rep.parts]
    if bad:
        choices = ", ".join(rep.parts) if rep.parts else "none: it runs as a whole"
        raise UserError(f"--only {','.join(only)}: {rep.name} has no part {bad[0]!r} (parts: {choices})")
    return list(only)
