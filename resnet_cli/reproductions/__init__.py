"""`resnet-cli reproduce NAME|all`: the papers' reproductions, each declared as data in one module here.

A reproduction runs its presets through the experiments (their cells through `executor.run_cells`, so
`--jobs`, `--dask`, `--cache` and Ctrl-C work as in every sweep), writes data/*.json and figures/*.png under
a docs folder (`--docs DIR`, docs/ of a checkout by default) and rewrites only its own marked section of
DIR/reproductions.md (`common.write_marked_section`). `--render-only` rebuilds sections and figures from
the stored data without running anything. docs/reproductions.md is what they wrote.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from resnet_cli.config import require_not_blank
from resnet_cli.errors import UserError
from resnet_cli.reproductions import (du2018, hardt2017, li2017, li2017_training, liu2019_beyond, liu2019_success,
                                      stride_landscape, yun2019, zhou2019)
from resnet_cli.reproductions.common import (TITLE, Context, Execution, Reproduction, check_markers, check_parts,
                                             cpu_seconds, full_results, record_or_empty, record_run, recorded_wall,
                                             write_marked_section)
from resnet_cli.resources import format_duration

#: In the order `all` runs them (li2017-training's section goes after li2017's).
REPRODUCTIONS: dict[str, Reproduction] = {
    m.REPRODUCTION.name: m.REPRODUCTION for m in (liu2019_success, liu2019_beyond, li2017, li2017_training, yun2019,
                                                hardt2017, zhou2019, du2018, stride_landscape)
}

__all__ = ["REPRODUCTIONS", "Execution", "check_request", "chosen", "reproduce"]


def chosen(name: str) -> list[Reproduction]:
    """The reproductions NAME stands for (`all`: every one)."""
    if name == "all":
        return list(REPRODUCTIONS.values())
    if name not in REPRODUCTIONS:
        raise UserError(f"reproduce {name}: no such reproduction (choose from all, {', '.join(REPRODUCTIONS)})")
    return [REPRODUCTIONS[name]]


def check_request(name: str, execution: Execution = Execution(), *, render_only: bool = False) -> list[Reproduction]:
    """The reproductions NAME stands for, once what was asked is possible without looking at any folder: one
    reproduction for --only, parts it has, a quick size for --quick, a --cache that can be a folder (the
    command checks this before it creates --docs)."""
    reps = chosen(name)
    if execution.only and len(reps) != 1:
        raise UserError("--only: name one reproduction, not all")
    for rep in reps:
        check_parts(rep, execution.only)
    if execution.quick and not render_only:
        for rep in reps:
            if not rep.quick:
                raise UserError(f"--quick: {rep.name} has no quick size (reproductions with one: "
                                + ", ".join(r.name for r in REPRODUCTIONS.values() if r.quick) + ")")
    for flag, value in (("--cache", execution.cache), ("--dask", execution.dask)):
        require_not_blank(flag, value)
    if execution.cache and Path(execution.cache).exists() and not Path(execution.cache).is_dir():
        raise UserError(f"--cache {execution.cache}: exists and is not a folder")
    return reps


def reproduce(name: str, docs: Path, execution: Execution = Execution(), *, render_only: bool = False,
              log: Callable[[str], None] = lambda message: None) -> list[Path]:
    """Run (or, with `render_only`, re-render) NAME into `docs`; the files written to the page(s)."""
    reps = check_request(name, execution, render_only=render_only)  # before anything is said or run
    for rep in reps:
        if rep.begin is not None and rep.end is not None:
            check_markers(docs / "reproductions.md", rep.begin, rep.end)
    if execution.quick and not render_only:
        full = full_results(docs)
        if full:
            raise UserError(f"--quick: {docs} holds the results of full runs ({', '.join(full[:3])}"
                            f"{', …' if len(full) > 3 else ''}); give --docs another folder (e.g. /tmp/repro)")
    if not render_only:
        log(recorded_line(name, docs, reps))
    from resnet_cli.executor.pool import shared_workers

    # one crew of local workers for every sweep of the run (a worker's start-up, ~1 s, paid once)
    with shared_workers(execution.workers() if execution.dask is None and not render_only else 1):
        return _run_each(reps, docs, execution, render_only, log)


def _run_each(reps: list[Reproduction], docs: Path, execution: Execution, render_only: bool,
              log: Callable[[str], None]) -> list[Path]:
    """Build (unless `render_only`) and render every reproduction of `reps` in turn; the pages written."""
    written = []
    for rep in reps:
        ctx = Context(docs=docs, execution=execution,
                      log=lambda message, n=rep.name: log(f"[{n}] {_in_folder(message, docs)}"))
        if not render_only:
            before, start, cpu = record_or_empty(docs, rep.name), time.perf_counter(), cpu_seconds()
            rep.build(ctx)
            took = time.perf_counter() - start
            # the whole run's time, for the next run's line (a build's own stays; --only runs a part: no time),
            # and whether it was a --quick run (whose folder another --quick run may overwrite)
            timing = {} if execution.only else {"wall": took, "cpu": cpu_seconds() - cpu}
            # cache: cells read from --cache took no time here, so its times are not the run's (recorded_wall)
            record_run(docs, rep.name, before, **timing, quick=execution.quick, cache=bool(execution.cache))
            ctx.log(f"done in {format_duration(took)}")
        elif rep.begin is None:
            log(f"[{rep.name}] nothing to render: its page is the output of its runs (run it without --render-only)")
            continue
        text = _quick_mark(_render(rep, docs, stored=render_only), record_or_empty(docs, rep.name))
        if text is not None and rep.begin is not None and rep.end is not None:
            write_marked_section(docs / "reproductions.md", text, rep.begin, rep.end, after=rep.after, title=TITLE)
            written.append(docs / "reproductions.md")
    return written


def recorded_line(name: str, docs: Path, reps: list[Reproduction]) -> str:
    """What a run is to expect, from the wall time of the last recorded runs in `docs` (`recorded_wall`):
    "[all] the last recorded runs took 14 min 35 s (wall clock, docs/data); not recorded: yun2019"."""
    walls = {rep.name: recorded_wall(docs, rep) for rep in reps}
    known = [w for w in walls.values() if w is not None]
    missing = [n for n, w in walls.items() if w is None]
    where = docs / "data"
    if not known:
        return f"[{name}] no recorded run in {where} to say how long this takes"
    what = "the last recorded runs" if len(reps) > 1 else "the last recorded run"
    line = f"[{name}] {what} took {format_duration(sum(known))} (wall clock, {where})"
    return line + (f"; not recorded: {', '.join(missing)}" if missing else "")


def _render(rep: Reproduction, docs: Path, stored: bool) -> str | None:
    """Draw `rep`'s figures and render its section from DIR/data. Data a user kept (`stored`: --render-only)
    may be damaged or of another shape: anything that breaks the render then is one line naming the folder,
    not an internal error."""
    try:
        rep.draw(docs)
        return rep.section(docs)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 -- only for stored data, see above
        if not stored:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        raise UserError(f"reproduce {rep.name} --render-only: the data in {docs / 'data'} do not render "
                        f"({type(exc).__name__}: {first}); run it again without --render-only") from None


def _quick_mark(text: str | None, record: dict) -> str | None:
    """A section made by a --quick run says so under its heading: its sizes are not the reproduction's."""
    if text is None or not record.get("quick"):
        return text
    lines = text.split("\n")
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("#")), 1)
    note = ("> **A `--quick` run**: reduced sizes, for a check of the pipeline; the numbers below are not the "
            "reproduction's (run it without `--quick` for those).")
    return "\n".join(lines[:at] + ["", note] + lines[at:])


def _in_folder(message: str, docs: Path) -> str:
    """A log line as true for this run: the commands a section shows write to docs/…; a run into another
    --docs folder writes there."""
    if docs.resolve() == Path("docs").resolve():
        return message
    return message.replace(" docs/", f" {docs}/")

