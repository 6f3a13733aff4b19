"""The one path every command takes: parse → settings → `experiment.run(settings, progress=…)` → render.

A command module declares its options (`commands/options.py`), names its settings class, its experiment's
`run` and its `View`, and calls `run_command`. Everything between — which flags were typed, the config
file, validation, output checks before any work, the progress bar, JSON / CSV / figure output — happens
here once (docs/architecture.md, "The flow of one command").
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import typer
from click.core import ParameterSource

from resnet_cli import api, budget
from resnet_cli.commands.options import OUTPUT_PARAMS
from resnet_cli.config import flag_of, require_not_blank
from resnet_cli.experiments.inert import inert_notices
from resnet_cli.errors import ConfigError, OutputError, quiet_floating_point
from resnet_cli.executor.blas import one_thread
from resnet_cli.outputs import real_target
from resnet_cli.report import check_out_path, console, print_json, progress_bar, write_output

PLOT_SUFFIXES = (".png", ".pdf", ".svg")
LONG_RUN_SECONDS = 10.0  # a run this long gets a hint when its output cannot be written


@dataclass(frozen=True)
class View:
    """How one command shows its result: `render(payload)` prints tables (`render(payload, detail=True)` the
    secondary ones too, for commands with --detail); `rows(payload)` gives the flat rows
    of `--out x.csv`; `plot(payload, path)` draws `--plot`; `files` maps other output flags (e.g.
    ``eigenvalues``) to `(suffixes, writer(payload, path))`. With `arrays`, `plot` and the `files` writers
    get `result.to_dict(arrays=True)`: the payload and the arrays kept out of the JSON (e.g. spectra)."""

    render: Callable[[dict[str, Any]], None]
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    plot: Callable[[dict[str, Any], str], None] | None = None
    label: str = "working"
    files: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any], str], None]]] = field(default_factory=dict)
    arrays: bool = False


def notify(message: str) -> None:
    """One line on stderr (deprecation notices, warnings)."""
    sys.stderr.write(message + "\n")


def typed_settings(ctx: typer.Context) -> dict[str, Any]:
    """The settings the user typed on the command line (not defaults): the explicit overrides."""
    return {
        name: value
        for name, value in ctx.params.items()
        if name not in OUTPUT_PARAMS and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }


#: Notices on old spellings in the command line (`cli.run` fills it): printed with the run's other notes.
pending_notices: list[str] = []


def run_command(ctx: typer.Context, settings_cls: type, run: Callable[..., Any], view: View) -> Any:
    """Resolve the settings, check the outputs, run the experiment with progress, emit the result."""
    params = ctx.params
    typed = typed_settings(ctx)
    notes = list(dict.fromkeys(pending_notices))  # the command line's old spellings, then the file's
    settings = settings_cls.resolve(params.get("config"), typed, notify=notes.append)
    out, plot = params.get("out"), params.get("plot")
    check_outputs({"--out": out, "--plot": plot, "--cache": params.get("cache"),  # (a folder: no file there)
                   **{"--" + name.replace("_", "-"): params.get(name) for name in view.files}})
    check_out_path(out)
    if plot:
        if view.plot is None:
            raise ConfigError("--plot: this command draws no figure")
        check_out_path(plot, PLOT_SUFFIXES, "--plot")
        require_matplotlib()
    for name, (suffixes, _) in view.files.items():
        check_out_path(params.get(name), suffixes, flag_of(name))
    # The notes (old spellings, flags without effect) wait for the run's first progress (or its end): a refusal
    # raised while the run loads its data or builds its network stays the one line on stderr.
    notes += inert_notices(settings, typed)
    if params.get("detail") and params.get("json_out"):
        notes.append("note: --detail has no effect with --json (the JSON holds the data of every table)")
    quiet = bool(params.get("quiet"))
    announce_cost(settings, quiet, bool(plot))
    started = time.monotonic()
    # one BLAS thread for the run's own part too (its cells have one): BLAS's summation order, and so the last
    # bits of what the parent computes (data, L_min, training), followed the core count or OPENBLAS_NUM_THREADS
    with progress_bar(quiet, view.label) as update, one_line_warnings(), quiet_floating_point(), one_thread():
        result = run(settings, progress=_after_notes(notes, update))
    _after_notes(notes, None)
    payload = result.to_dict()
    emit(payload, view, drawn=result.to_dict(arrays=True) if view.arrays else payload, out=out, plot=plot, json_out=bool(params.get("json_out")),
         files={name: params.get(name) for name in view.files},
         hint=long_run_hint(settings, time.monotonic() - started),
         render_options={"detail": bool(params["detail"])} if "detail" in params else {})
    return result


def _after_notes(notes: list[str], update: Callable[..., None] | None) -> Callable[..., None] | None:
    """`update` that first prints the pending `notes` (emptied, so once); with None, print them now."""
    def flush() -> None:
        while notes:
            notify(notes.pop(0))

    if update is None:
        flush()
        return None

    def first(*args: Any, **kwargs: Any) -> None:
        flush()
        update(*args, **kwargs)

    return first


def check_outputs(paths: dict[str, str | None]) -> None:
    """Refuse an empty output name (`--out ""` is not "no file") and two outputs naming one file (the second
    write would replace the first: a result lost without a word)."""
    seen: dict[str, str] = {}
    for flag, path in paths.items():
        if path is None:
            continue
        require_not_blank(flag, str(path))
        target = os.fspath(real_target(path))
        if target in seen:
            raise ConfigError(f"{seen[target]} and {flag} name the same path {path}: give each its own")
        seen[target] = flag


def announce_cost(settings: Any, quiet: bool, plot: bool = False) -> None:
    """One stderr line before a long run: the estimate of the experiment's `cost` (resnet_cli/budget.py)."""
    cost = None if quiet else api.command_cost(settings)
    if cost is None:
        return
    line = budget.announcement(cost, plot)
    if line:
        notify(line)


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Warnings of the run (e.g. an ignored --cache entry) as one stderr line each: "warning: ..."."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        previous = warnings.showwarning
        warnings.showwarning = lambda message, *args, **kwargs: notify(f"warning: {message}")
        try:
            yield
        finally:
            warnings.showwarning = previous


def require_matplotlib() -> None:
    """A one-line error when the optional `plot` extra is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install 'resnet-cli[plot]'") from None


def emit(payload: dict[str, Any], view: View, *, drawn: dict[str, Any] | None = None, out: str | None, plot: str | None, json_out: bool,
         files: dict[str, str | None], hint: str = "", render_options: dict[str, Any] | None = None) -> None:
    """Table (or JSON) on stdout, then the --out file, the figure and any other requested files.
    `render_options` go to `view.render` (``detail`` for commands with `--detail`).

    A file that cannot be written (full disk, I/O error) leaves nothing behind (its temp file is removed) and
    does not stop the others nor the table, so the result is not lost; the first failure is then raised as
    one `OutputError` (exit 74, with `hint`). A failing stdout is an `OutputError` too; a closed pipe
    (`| head -1`) is a BrokenPipeError, a quiet success at the edge."""
    written, failed = [], []
    drawn = payload if drawn is None else drawn  # what plot and files draw from (View.arrays)
    jobs = [("--out", out, lambda path: write_output(path, payload, view.rows(payload) if view.rows else [payload])),
            ("--plot", plot, lambda path: view.plot(drawn, path))]
    jobs += [("--" + name.replace("_", "-"), path, lambda path, name=name: view.files[name][1](drawn, path))
             for name, path in files.items()]
    for flag, path, write in jobs:
        if not path:
            continue
        try:
            write(path)
            written.append(path)
        except OSError as exc:
            failed.append(OutputError(f"{flag} {path}", exc, hint))
    try:
        if json_out:
            print_json(payload)
        else:
            view.render(payload, **(render_options or {}))
            for path in written:
                console.print(f"[dim]wrote {path}[/dim]")
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        failed.append(OutputError("standard output", exc, hint if not written else ""))
    if failed:
        raise failed[0]


def long_run_hint(settings: Any, seconds: float) -> str:
    """What to say when the output of a run that took `seconds` could not be written."""
    if seconds < LONG_RUN_SECONDS:
        return ""
    if hasattr(settings, "cache"):
        if getattr(settings, "cache", None):
            return f"the cells are kept in --cache {settings.cache}: a re-run only writes"
        return "re-run with --cache DIR to keep the cells"
    return f"it took {seconds:.0f} s; the result is printed above"
