"""Options every subcommand shares, and the standard way a command emits its result (DESIGN.md §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer


from resnet_cli.errors import ConfigError
from resnet_cli.report import check_out_path, console, print_json, write_output

ConfigOpt = Annotated[
    Optional[str],
    typer.Option("--config", help="TOML file or packaged preset name; flags given on the command line win."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of numpy.random.Generator: same seed, same numbers.")]
OutOpt = Annotated[
    Optional[str], typer.Option("--out", help="Write the result to a .json or .csv file (atomically).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (and nothing else).")]
PlotOpt = Annotated[
    Optional[str], typer.Option("--plot", help="Save a figure to this .png/.pdf/.svg file (needs extra 'plot').")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def check_outputs(out: str | None, plot: str | None) -> None:
    """Validate --out and --plot paths before any computation starts."""
    check_out_path(out)
    if plot:
        if Path(plot).suffix.lower() not in (".png", ".pdf", ".svg"):
            raise ConfigError(f"--plot {plot}: the file name must end in .png, .pdf or .svg")
        folder = Path(plot).parent
        if str(folder) and not folder.is_dir():
            raise ConfigError(f"--plot {plot}: folder {folder} does not exist")


def require_matplotlib() -> None:
    """Raise a one-line ConfigError when the optional `plot` extra is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install 'resnet-cli[plot]'") from None


def save_figure(fig: Any, path: str) -> None:
    """Save a matplotlib figure atomically (temp file + rename) and close it."""
    import os
    import tempfile

    import matplotlib.pyplot as plt

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, target)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def emit(
    payload: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    json_out: bool,
    out: str | None,
    plot: str | None,
    render_fn: Callable[[dict[str, Any]], None],
    plot_fn: Callable[[dict[str, Any], str], None] | None = None,
) -> None:
    """Standard output handling: table (or JSON) on stdout, --out file, --plot figure."""
    if out:
        write_output(out, payload, rows)
    if plot:
        if plot_fn is None:
            raise ConfigError("this command has no plot")
        require_matplotlib()
        plot_fn(payload, plot)
    if json_out:
        print_json(payload)
    else:
        render_fn(payload)
        if out:
            console.print(f"[dim]wrote {out}[/dim]")
        if plot:
            console.print(f"[dim]wrote {plot}[/dim]")
