"""Help in the typer/rich manner: option panels, `-h`, `--version`, whole summaries, literal help texts (no
emoji codes: `4:100:x2` stays `4:100:x2`), list grammar instead of TEXT, presets under --config, one
"Did you mean"."""

from __future__ import annotations

import re
import unicodedata

import click
import pytest
import typer

from resnet_cli import __version__
from resnet_cli.cli import app
from resnet_cli.commands.options import INT_LIST, presets_for



def _walk(cmd: click.Command, path: tuple[str, ...] = ()):
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, path + (name,))
    else:
        yield " ".join(path)


COMMANDS = sorted(_walk(typer.main.get_command(app)))  # every command, `reproduce` included


def _emoji(text: str) -> list[str]:
    """Characters of the Unicode symbol blocks where rich's emoji codes land (💯 is U+1F4AF)."""
    return [c for c in text if ord(c) >= 0x1F000 or unicodedata.name(c, "").startswith("HUNDRED POINTS")]


def _flat(text: str) -> str:
    """Help without the panel borders, words joined: for phrases that wrap across lines."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_panels_literal_examples_and_no_emoji(cli, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")
    result = cli(*command.split(), "--help")
    assert result.code == 0 and result.stderr == ""
    text = result.stdout
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert "Options" in panels and "Output" in panels and len(panels) >= 3, panels
    assert not _emoji(text), _emoji(text)
    assert max(len(line) for line in text.splitlines()) <= 80
    if INT_LIST in text:  # a command with a list option shows a range example, literally
        assert re.search(r"\d+:\d+:x2", text), "a range example (like 4:100:x2) is printed literally"
    flat = _flat(text)
    assert " TEXT " not in flat, "every option shows its grammar, not TEXT"
    for preset in presets_for(command) if "--config" in flat else ():
        assert preset in flat


def test_the_100_code_stays_literal(cli):
    """The one example that rich would turn into an emoji: `:100:` inside `4:100:x2`."""
    text = cli("success-rate", "--help").stdout
    assert "4:100:x2" in text and "💯" not in text and not _emoji(text)


@pytest.mark.parametrize("args", [(), ("train",), ("landscape",), ("success-rate",), ("train", "two-layer")])
def test_h_is_help(cli, args):
    short, long = cli(*args, "-h"), cli(*args, "--help")
    assert short.code == 0 and short.stdout == long.stdout and "Usage:" in short.stdout


def test_version(cli):
    result = cli("--version")
    assert result.code == 0 and result.stdout.strip() == f"resnet-cli {__version__}"


def test_summaries_are_whole_sentences(cli, monkeypatch):
    """Each command's one-line summary in the list is its whole first sentence: never cut at "et al." or
    "Fig." with an open parenthesis."""
    monkeypatch.setenv("COLUMNS", "80")
    root = typer.main.get_command(app)
    for group_args, group in [((), root), *(((name,), cmd) for name, cmd in root.commands.items()
                                           if isinstance(cmd, click.Group))]:
        flat = _flat(cli(*group_args, "--help").stdout)
        for name, cmd in group.commands.items():
            summary = " ".join(cmd.help.split("\n\n")[0].split())
            assert summary in flat, (name, summary)
            assert summary.count("(") == summary.count(")")


def test_each_default_is_stated_once():
    """An option whose help says "default: ..." gets no [default: ...] after it."""
    root = typer.main.get_command(app)
    for command in COMMANDS:
        cmd = root
        for word in command.split():
            cmd = cmd.commands[word]
        for param in cmd.params:
            if isinstance(param, click.Option) and "default:" in (param.help or "").lower():
                assert not param.show_default, (command, param.name)


def test_presets_are_listed_and_completed():
    assert presets_for("success-rate") == ["liu2019-success", "liu2019-success-p"]
    assert "yun2019-example1" in presets_for("landscape deep-resnet")
    command = typer.main.get_command(app).commands["success-rate"]
    ctx = click.Context(command)
    (config,) = [p for p in command.params if p.name == "config"]
    offered = [item.value for item in config.shell_complete(ctx, "liu")]
    assert offered == ["liu2019-success", "liu2019-success-p"]
    assert [item.value for item in config.shell_complete(ctx, "li2017")] == []


@pytest.mark.parametrize("args,suggestion", [
    (("trian",), "'train'"), (("train", "two-layr"), "'two-layer'"), (("landscape", "deep-resent"), "'deep-resnet'"),
])
def test_a_typo_suggests_once(cli, one_line_error, args, suggestion):
    line = one_line_error(cli(*args))
    assert line.count("Did you mean") == 1 and suggestion in line
