"""The typer app: `resnet-cli SUBCOMMAND [OPTIONS]` (docs/architecture.md).

Each subcommand is a plain function in `resnet_cli/commands/<name>.py` (parse -> settings -> experiment ->
render, through `commands/shell.py`) registered below. `run(argv)` is where exceptions become exit codes
(the table is `edge.outcome`, docs/cli.md): 0 success, 2 user error (one line on stderr), 74 an output
could not be written, 1 internal error (one line; the traceback only with `--debug` or RESNET_CLI_DEBUG=1),
130 interrupted (Ctrl-C), 143 terminated (SIGTERM). The console script is `edge.main`. Old flag
spellings are rewritten here, with a one-line notice (`resnet_cli/vocabulary.py`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import sys
import traceback
from types import ModuleType
from typing import Iterator, Optional

import click
import typer

from resnet_cli import __version__
from resnet_cli.commands import (depth_sweep, hessian, landscape_deep_resnet, landscape_linear_resnet,
                                 landscape_two_layer, reproduce,
                                 success_rate, train_shortcut, train_two_layer)
from resnet_cli.edge import INTERNAL, USAGE, outcome
from resnet_cli.outputs import forget_written
from resnet_cli.signals import handle_signals
from resnet_cli.commands.shell import pending_notices
from resnet_cli.vocabulary import renamed_briefly, rewrite_argv


@contextlib.contextmanager
def _plain_help_text() -> Iterator[None]:
    """typer's rich help, with every help string shown as written: no rich markup, no emoji codes.

    In typer's "rich" markup mode each help string goes through `rich.text.Text.from_markup`, which also
    replaces emoji codes: the range example `4:100:x2` would print as `4💯x2`, and rich has no escape for
    an emoji code. Markup mode None avoids that but drops rich altogether (no option panels). So help is
    rendered in "rich" mode with the one function that turns a help string into rich text
    (`typer.rich_utils._make_rich_text`) replaced, while the help is printed, by a plain `Text` (the
    option highlighter kept). tests/cli/test_help.py checks every command's help for the literal example.
    """
    from rich.text import Text
    from typer import rich_utils

    def plain(*, text: str, style: str = "", markup_mode: str = "rich") -> Text:
        return rich_utils.highlighter(Text(inspect.cleandoc(text), style=style))

    original = rich_utils._make_rich_text
    rich_utils._make_rich_text = plain
    try:
        yield
    finally:
        rich_utils._make_rich_text = original


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class HelpCommand(typer.core.TyperCommand):
    """A command whose --help keeps its text literal (`_plain_help_text`)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _plain_help_text():
            super().format_help(ctx, formatter)


class HelpGroup(typer.core.TyperGroup):
    """A group whose --help keeps its text literal and whose typo errors suggest one name once."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _plain_help_text():
            super().format_help(ctx, formatter)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            if getattr(exc, "possibilities", None):  # click >= 8.4 suggests too: keep only its suggestion
                exc.message = _SUGGESTION.sub("", exc.message)
            raise


#: `-h` is `--help` everywhere (click passes help_option_names down to every subcommand's context).
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _group(**kw) -> typer.Typer:
    return typer.Typer(no_args_is_help=True, rich_markup_mode="rich", cls=HelpGroup, context_settings=CONTEXT, **kw)


app = _group(
    name="resnet-cli",
    help="A command-line laboratory for the optimization theory of shortcut connections "
    "(Liu et al. 2019, Li et al. 2017, Yun et al. 2019).",
    pretty_exceptions_enable=False,
)
train_app = _group(help="Train a network and print its trace.")
landscape_app = _group(help="Critical points and loss landscapes.")


def _register(target: typer.Typer, name: str, module: ModuleType) -> None:
    """Attach `module.command` (a module of resnet_cli/commands/) to `target` under `name`."""
    target.command(name, cls=HelpCommand)(module.command)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"resnet-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """resnet-cli: shortcut connections, from the terminal."""


# --- registration block: one line per command: _register(app_or_sub_app, "name", module) ---
# --- (each module in resnet_cli/commands/ exposes `command`, a plain typer-annotated function) ---
_register(train_app, "two-layer", train_two_layer)
_register(landscape_app, "two-layer", landscape_two_layer)
_register(app, "success-rate", success_rate)
_register(app, "hessian", hessian)
_register(train_app, "shortcut", train_shortcut)
_register(app, "depth-sweep", depth_sweep)
_register(landscape_app, "deep-resnet", landscape_deep_resnet)
_register(landscape_app, "linear-resnet", landscape_linear_resnet)
_register(app, "reproduce", reproduce)
# --- end of registration block ---

if train_app.registered_commands:
    app.add_typer(train_app, name="train")
if landscape_app.registered_commands:
    app.add_typer(landscape_app, name="landscape")


@functools.cache
def _click_command(application: typer.Typer) -> click.Command:
    """typer's click command of `application`, built once per process: building it reads the signature and
    type hints of every command (~0.1 s), and a click command holds no state between invocations."""
    return typer.main.get_command(application)


def run(argv: list[str] | None = None, application: typer.Typer | None = None) -> int:
    """Run the CLI on `argv` and return the exit code; every exception ends here as at most one stderr line
    (the table of exit codes is `edge.outcome`; docs/cli.md)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("RESNET_CLI_DEBUG", "") not in ("", "0")
    forget_written()
    try:
        # the notices on old spellings are printed with the run's other notes, once it is under way: a refusal
        # stays the one line (commands/shell.py)
        pending_notices.clear()
        argv = rewrite_argv([a for a in argv if a != "--debug"], pending_notices.append)
        command = _click_command(application if application is not None else app)
        with handle_signals():
            result = command.main(args=argv, prog_name="resnet-cli", standalone_mode=False)
        if result == 130:  # typer turns Ctrl-C into Exit(130), which click returns in non-standalone mode
            raise KeyboardInterrupt
        return int(result) if isinstance(result, int) else 0
    except click.exceptions.NoArgsIsHelpError as exc:  # `resnet-cli`, `resnet-cli train`: the help, exit 0
        sys.stdout.write(exc.ctx.get_help() + "\n")
        return 0
    except BaseException as exc:  # noqa: B036 -- the edge: interrupts and exits are mapped too
        if isinstance(exc, SystemExit):
            # click (and rich's Console) answer a closed pipe with SystemExit(1) raised while handling the
            # BrokenPipeError: `… | head -1` is a quiet success, as with --json
            if isinstance(exc.__context__, BrokenPipeError):
                return outcome(exc.__context__)[0]
            raise
        code, line = outcome(exc)
        if line and code == USAGE and pending_notices:  # the refused flag may be an old spelling: say which
            renamed = [short for short in map(renamed_briefly, pending_notices) if short]
            line += f" ({'; '.join(dict.fromkeys(renamed))})" if renamed else ""
        pending_notices.clear()
        if code == INTERNAL and debug:
            traceback.print_exc()
        if line:
            try:
                sys.stderr.write(line + "\n")
            except (OSError, ValueError):
                pass  # stderr closed or full: the exit code still tells
        return code


def main() -> None:
    """Console-script entry point of older installs; `edge.main` prepares the process first."""
    from resnet_cli.edge import main as edge_main

    edge_main()
