"""The typer app: `resnet-cli SUBCOMMAND [OPTIONS]` (DESIGN.md §2).

Each subcommand is a plain function in `resnet_cli/commands/<name>.py` (parse -> config -> experiment ->
render) registered below. `run(argv)` maps errors to exit codes: 0 success, 2 bad input (one line on
stderr), 1 internal error.
"""

from __future__ import annotations

import sys
from typing import Optional

import click
import typer

from resnet_cli import __version__
from resnet_cli.errors import UserError

app = typer.Typer(
    name="resnet-cli",
    help="A command-line laboratory for the optimization theory of shortcut connections "
    "(Liu et al. 2019, Li et al. 2017, Yun et al. 2019).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
train_app = typer.Typer(help="Train a network and print its trace.", no_args_is_help=True)
landscape_app = typer.Typer(help="Critical points and loss landscapes.", no_args_is_help=True)


def _register(target: typer.Typer, name: str, module: str) -> None:
    """Attach `resnet_cli.commands.<module>.command` to `target` under `name`."""
    import importlib

    mod = importlib.import_module(f"resnet_cli.commands.{module}")
    target.command(name)(mod.command)


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


# --- registration block: one line per command: _register(app_or_sub_app, "name", "module") ---
# --- (each module in resnet_cli/commands/ exposes `command`, a plain typer-annotated function) ---
_register(train_app, "two-layer", "train_two_layer")
_register(landscape_app, "two-layer", "landscape_two_layer")
_register(app, "success-rate", "success_rate")
_register(app, "hessian", "hessian")
_register(train_app, "shortcut", "train_shortcut")
_register(app, "depth-sweep", "depth_sweep")
_register(landscape_app, "deep-resnet", "landscape_deep_resnet")
# --- end of registration block ---

if train_app.registered_commands:
    app.add_typer(train_app, name="train")
if landscape_app.registered_commands:
    app.add_typer(landscape_app, name="landscape")


def run(argv: list[str] | None = None, application: typer.Typer | None = None) -> int:
    """Run the CLI on `argv` and return the exit code, turning user errors into one stderr line."""
    command = typer.main.get_command(application if application is not None else app)
    try:
        result = command.main(args=argv, prog_name="resnet-cli", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("aborted\n")
        return 130
    except click.UsageError as exc:
        message = exc.format_message().replace("\n", " ").strip()
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else "resnet-cli: "
        sys.stderr.write(f"error: {where}{message}\n")
        return 2
    except click.ClickException as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")
        return 2
    except UserError as exc:
        sys.stderr.write(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))
