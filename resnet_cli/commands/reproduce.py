"""`resnet-cli reproduce NAME|all`: run a paper's reproduction and write its part of DIR/reproductions.md."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from resnet_cli.commands import options as o
from resnet_cli.reproductions import REPRODUCTIONS, Execution, check_request, reproduce

NAMES = ", ".join(["all", *REPRODUCTIONS])
Name = Annotated[str, typer.Argument(help=f"Which reproduction: {NAMES}.", metavar="NAME|all")]
Docs = Annotated[str, typer.Option("--docs", help="Folder of reproductions.md, data/ and figures/ (created if "
                                   "missing).", rich_help_panel=o.OUTPUT, metavar="DIR")]
RenderOnly = Annotated[bool, typer.Option("--render-only", help="Rewrite the section(s) and figures from DIR/data "
                                          "without running anything.", rich_help_panel=o.OUTPUT)]
Quick = Annotated[bool, typer.Option("--quick", help="Tiny sizes (seconds): a smoke test of the path, not a "
                                     "reproduction; use another --docs.")]
Only = Annotated[Optional[str], typer.Option("--only", help="Some parts of one reproduction (li2017: fig5,fig9,"
                                             "fig10; li2017-training: fig3,fig7,fig8).", metavar="PART,PART,..")]


def command(
    name: Name, *, docs: Docs = "docs", render_only: RenderOnly = False, quick: Quick = False, only: Only = None,
    jobs: o.Jobs = None, dask: o.Dask = None, cache: o.Cache = None, quiet: o.Quiet = False,
) -> None:
    """Run a paper's reproduction (or all) and write its section of DIR/reproductions.md, data and figures."""
    from resnet_cli.config import check_scalar, require_distinct
    from resnet_cli.errors import UserError

    if jobs is not None:
        check_scalar(jobs, "--jobs", int, 1)  # the same words as every command's --jobs

    parts = tuple(p.strip() for p in only.split(",")) if only is not None else ()
    if only is not None and (not parts or any(not p for p in parts)):
        raise UserError(f"--only {only}: an empty item")
    require_distinct("--only", parts)
    execution = Execution(jobs=jobs, dask=dask, cache=cache, quick=quick, only=parts)
    check_request(name, execution, render_only=render_only)  # before --docs is created
    created = not Path(docs).exists() if docs else False
    folder = _docs_folder(docs, render_only)
    log = (lambda message: None) if quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    from resnet_cli.commands.shell import one_line_warnings
    from resnet_cli.errors import quiet_floating_point

    from resnet_cli.executor.blas import one_thread

    # as every command: a library's warning is one line, BLAS on one thread (commands/shell.py)
    try:
        with one_line_warnings(), quiet_floating_point(), one_thread():
            pages = reproduce(name, folder, execution, render_only=render_only, log=log)
    except BaseException:  # a run that stops before writing anything leaves no --docs folder it created
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # (only if still empty)
        raise
    for page in dict.fromkeys(pages):
        print(f"wrote {page}")


def _docs_folder(docs: str, render_only: bool) -> Path:
    """--docs checked before anything runs: a folder (created with its parents if missing, for a run), one that
    holds data/ for --render-only, and a reproductions.md in it that can be written."""
    from resnet_cli.errors import UserError
    from resnet_cli.outputs import check_writable

    if not docs:
        raise UserError("--docs '': must not be empty (leave the option out for docs/)")
    folder = Path(docs)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--docs {docs}: is not a folder")
    for sub in ("data", "figures"):
        if (folder / sub).exists() and not (folder / sub).is_dir():
            raise UserError(f"--docs {docs}: {folder / sub} is not a folder")
    if render_only and not (folder / "data").is_dir():
        raise UserError(f"--docs {docs}: no data/ folder to render from (run the reproduction first, without "
                        "--render-only)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--docs {docs}: cannot create the folder ({exc.strerror or type(exc).__name__})") from None
    check_writable(folder / "reproductions.md", "--docs")
    # every file a reproduction writes is a data/*.json, a figures/*.png or a page *.md: a folder in the way
    # of one would stop it after its runs
    for pattern in ("data/*.json", "figures/*.png", "*.md"):
        for path in folder.glob(pattern):
            if path.is_dir():
                raise UserError(f"--docs {docs}: {path} is a folder where a reproduction writes a file")
    return folder

