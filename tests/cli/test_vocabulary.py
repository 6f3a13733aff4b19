"""One vocabulary: the table of docs/cli.md is the set of options every command registers, one idea per
flag, and the old spellings (resnet_cli/vocabulary.py) still reach the new flags (with a notice)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
import typer

from resnet_cli.cli import app
from resnet_cli.errors import ConfigError
from resnet_cli.vocabulary import RENAMED

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ROW = re.compile(r"^\| `(--[a-z0-9-]+)` \| ([^|]+) \| ([^|]+) \|$")


def _commands() -> dict[str, click.Command]:
    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield " ".join(path), cmd

    return dict(walk(typer.main.get_command(app), []))


def _registered() -> dict[str, set[str]]:
    flags: dict[str, set[str]] = {}
    for path, cmd in _commands().items():
        for param in cmd.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt.startswith("--") and opt != "--help":
                        flags.setdefault(opt, set()).add(path)
    return flags


def _table() -> dict[str, tuple[str, set[str]]]:
    rows = {}
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            flag, idea, commands = match.groups()
            names = set()
            for c in commands.split(","):  # "all" = every experiment command (those with settings)
                names |= set(RENAMED) if c.strip() == "all" else {c.strip()}
            assert flag not in rows, f"{flag} twice in docs/cli.md"
            rows[flag] = (idea.strip(), names)
    return rows


#: Commands without settings of their own: `reproduce` runs the experiments' presets (no old spellings, no
#: TOML table).
NO_SETTINGS = {"reproduce"}


def test_every_command_is_in_the_vocabulary():
    assert set(_commands()) - NO_SETTINGS == set(RENAMED)


def test_docs_table_is_the_registered_options():
    registered, table = _registered(), _table()
    assert set(table) == set(registered), (
        f"missing from docs/cli.md: {sorted(set(registered) - set(table))}; "
        f"not registered: {sorted(set(table) - set(registered))}")
    for flag, (_, commands) in table.items():
        assert commands == registered[flag], f"{flag}: docs say {sorted(commands)}, code has {sorted(registered[flag])}"


def test_one_flag_per_idea():
    ideas = [idea.lower() for idea, _ in _table().values()]
    assert len(ideas) == len(set(ideas))


@pytest.mark.parametrize("command", sorted(RENAMED))
def test_old_spellings_are_hidden_and_reach_a_new_flag(command):
    registered = {flag for flag, cmds in _registered().items() if command in cmds}
    for old, new in RENAMED[command].items():
        assert old not in registered or old == new, f"{command}: old spelling {old} is still an option"
        assert new in registered, f"{command}: {old} maps to {new}, which the command does not have"


def test_no_old_spelling_is_a_flag_of_any_command():
    """An old spelling rewritten in one command must not be a flag of another: `--probes` meant Lanczos
    probes in hessian but escape probes in the landscapes, and a flat config key read by both changed meaning."""
    registered = _registered()
    for command, table in RENAMED.items():
        for old in table:
            assert old not in registered, f"{command}: old spelling {old} is a flag of {sorted(registered[old])}"


def test_depth_sweep_init_is_the_one_init_flag(tmp_path):
    from resnet_cli.experiments.depth_sweep import DepthSweepSettings

    notes = []
    assert DepthSweepSettings.resolve(None, {"init": "small"}).init == "small"
    config = tmp_path / "c.toml"
    config.write_text('[depth-sweep]\nshortcut-init = "zero"\n', encoding="utf-8")
    assert DepthSweepSettings.resolve(str(config), {}, notify=notes.append).init == "zero"
    assert any("--shortcut-init" in n and "--init" in n for n in notes)


def test_choices_are_listed_in_help(help_text):
    text = help_text("hessian")
    assert "[zero|small|xavier|orthogonal]" in text
    assert "[exact|slq|inertia]" in text
    text = help_text("success-rate")
    assert "4:100:x2" in text and "💯" not in text


def test_deprecations_live_in_vocabulary_and_end_after_this_version():
    """Every old spelling is in resnet_cli/vocabulary.py, removed in a release after the package's version."""
    from resnet_cli import __version__
    from resnet_cli.experiments import success_rate
    from resnet_cli.vocabulary import REMOVED_IN, RENAMED_VALUES, notice

    as_tuple = lambda version: tuple(int(part) for part in version.split(".")[:3])  # noqa: E731
    assert as_tuple(REMOVED_IN) > as_tuple(__version__)
    assert f"removed in release {REMOVED_IN}" in notice("--old", "--new")
    assert success_rate.ALIASES is RENAMED_VALUES["success-rate"]["method"]
    assert "resolve" not in vars(success_rate.SuccessSettings)  # no per-command override: config.resolve does it
    root = Path(__file__).resolve().parents[2] / "resnet_cli"
    for path in root.rglob("*.py"):
        if path.name != "vocabulary.py":
            text = path.read_text(encoding="utf-8")
            assert "is deprecated" not in text, path  # the notice is written once, in vocabulary.notice


def test_old_values_are_rewritten_for_flags_files_and_python(tmp_path):
    from resnet_cli.experiments.success_rate import SuccessSettings

    notes = []
    settings = SuccessSettings.resolve(None, {"method": "cnn,resnet-ssw,cnn"[:-4]}, notify=notes.append)
    assert settings.method == ["cnn-large-w", "resnet-ssw"] and len(notes) == 1 and "--method cnn" in notes[0]
    cfg = tmp_path / "old.toml"
    cfg.write_text('[success-rate]\nmethods = ["resnet"]\neta = 0.1\n', encoding="utf-8")
    notes.clear()
    settings = SuccessSettings.resolve(str(cfg), notify=notes.append)
    assert settings.method == ["resnet-large-w"] and settings.lr == 0.1
    assert [n.split(" is deprecated")[0] for n in notes] == [
        "note: config key 'methods' (--methods)", "note: config key 'eta' (--eta)", "note: --method resnet"]


def test_inert_notices_name_the_flags_that_do_nothing():
    """landscape two-layer's --trials acts only with --stride s < p; landscape deep-resnet's --samples not on
    Yun's fixed examples, its --dim only on gaussian data."""
    from resnet_cli.experiments.inert import inert_notices
    from resnet_cli.experiments.deep_resnet import DeepResnetSettings
    from resnet_cli.experiments.two_layer_settings import LandscapeSettings

    plain = LandscapeSettings.resolve(None, {"trials": 3})
    assert inert_notices(plain, {"trials"}) == [
        "note: --trials has no effect without --stride s < p (its GD search starts at the overlapping strides)"]
    assert inert_notices(LandscapeSettings.resolve(None, {"trials": 3, "stride": 8}), {"trials"})
    assert not inert_notices(LandscapeSettings.resolve(None, {"trials": 3, "stride": 4}), {"trials"})
    yun = DeepResnetSettings.resolve(None, {"samples": 10, "dim": 3})
    assert inert_notices(yun, {"samples", "dim"}) == [
        "note: --samples has no effect with --data yun-example1",
        "note: --dim has no effect with --data yun-example1 (only with --data gaussian)"]
    assert not inert_notices(DeepResnetSettings.resolve(None, {"data": "gaussian", "dim": 3}), {"samples", "dim"})


def test_help_defaults_say_what_each_command_does():
    """--teacher-v: prior in success-rate and landscape two-layer (no student there), by student in train
    two-layer; --noise is off in train two-layer (no *-noise methods)."""
    from resnet_cli.experiments.success_rate import SuccessSettings
    from resnet_cli.experiments.two_layer_settings import LandscapeSettings, TrainSettings

    shown = {cls.COMMAND: {f.name: f.metadata.get("shown") for f in dataclasses.fields(cls)}
             for cls in (SuccessSettings, LandscapeSettings, TrainSettings)}
    assert shown["success-rate"]["teacher_v"] == shown["landscape two-layer"]["teacher_v"] == "prior"
    assert shown["train two-layer"]["teacher_v"].startswith("by student")
    assert shown["train two-layer"]["noise"] == "off"


def test_schedule_constant_is_large_w_with_a_notice():
    """The schedule of the *-large-w methods is large-w in train two-layer and landscape two-layer too."""
    from resnet_cli.experiments.two_layer_settings import LandscapeSettings, TrainSettings
    from resnet_cli.models.two_layer.methods import METHODS

    notes = []
    assert TrainSettings.resolve(None, {"schedule": "constant"}, notify=notes.append).schedule == "large-w"
    assert LandscapeSettings.resolve(None, {"schedule": ["ssw", "constant"]}, notify=notes.append).schedule == [
        "ssw", "large-w"]
    assert len(notes) == 2 and all("--schedule constant" in n and "large-w" in n for n in notes)
    assert METHODS["cnn-large-w"] == ("cnn", "large-w") and METHODS["resnet-large-w"] == ("resnet", "large-w")
    with pytest.raises(ConfigError, match="listed twice"):
        LandscapeSettings.resolve(None, {"schedule": ["large-w", "constant"]})
    with pytest.warns(DeprecationWarning, match="--schedule constant"):  # built in Python: renamed as well
        assert TrainSettings(schedule="constant").schedule == "constant"
        settings = TrainSettings(schedule="constant")
        settings.validate()
    assert settings.schedule == "large-w"
