"""User input that ended in an internal error, two lines on stderr, a silent no-op or a late refusal (a fuzzing
round of the commands): each is now one line and exit 2 before any work, or a note where a flag does nothing."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli import api
from resnet_cli.experiments.inert import inert_notices
from resnet_cli.errors import ConfigError


def test_a_late_refusal_is_the_only_line(cli, one_line_error):
    """A note on an inert flag was printed before the network was built and refused: two lines."""
    line = one_line_error(cli("hessian", "--depth", "3", "--lanczos-probes", "1"))
    assert line == "error: --depth 3 --shortcut 2: depth 3 is not a multiple of the shortcut depth 2"
    line = one_line_error(cli("depth-sweep", "--config", "li2017-fig10", "--samples", "5", "--lanczos-probes", "2"))
    assert line.startswith("error: --samples 5: digits keeps its first N images")


def test_a_refusal_inside_the_run_is_the_only_line(cli, one_line_error, tmp_path):
    """The notes on inert flags wait for the run's first progress: a data file refused while the run loads it
    stays the one line (the note came first)."""
    import numpy as np

    np.savez(tmp_path / "m.npz", x=np.zeros((0, 20)), y=np.zeros(0, int))
    line = one_line_error(cli("hessian", "--depth", "2", "--data", f"mnist:{tmp_path / 'm.npz'}",
                              "--lanczos-probes", "2"))
    assert "no images" in line


def test_notes_still_come_when_the_run_goes_on(cli):
    result = cli("hessian", "--depth", "2", "--lanczos-probes", "2", "--quiet")
    assert result.code == 0 and "note: --lanczos-probes has no effect with --spectrum exact" in result.stderr


def test_config_files_that_nest_too_deep_or_mix_flat_keys_and_tables(cli, one_line_error, tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("k = " + "[" * 900 + "]" * 900 + "\n", encoding="utf-8")
    assert "nested too deeply" in one_line_error(cli("success-rate", "--config", str(deep)))
    mixed = tmp_path / "mixed.toml"
    mixed.write_text("p = 3\n[train-two-layer]\nk = 2\n", encoding="utf-8")  # p was dropped without a word
    assert "flat keys (p) beside tables ([train-two-layer]) are not read" in one_line_error(
        cli("train", "two-layer", "--config", str(mixed)))
    number = tmp_path / "number.toml"
    number.write_text("[success-rate]\ncache = 7\n", encoding="utf-8")  # made a folder named 7
    assert "--cache 7: must be a string" in one_line_error(cli("success-rate", "--config", str(number)))


def test_blank_cache_is_refused_in_python_as_on_the_command_line():
    with pytest.raises(ConfigError, match="must not be empty"):
        api.run(api.SuccessSettings(cache="   ", trials=2, k=[4]))


def test_an_output_path_ending_in_a_slash_names_a_folder(cli, one_line_error, tmp_path):
    for path in (f"{tmp_path}/x.json/", f"{tmp_path}/x.json/."):
        assert "names a folder" in one_line_error(cli("hessian", "--depth", "2", "--out", path))
    assert list(tmp_path.iterdir()) == []


def test_reproduce_refuses_before_it_creates_docs(cli, one_line_error, tmp_path):
    docs = tmp_path / "new" / "docs"
    assert "no quick size" in one_line_error(cli("reproduce", "du2018", "--quick", "--docs", str(docs)))
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "--cache" in one_line_error(cli("reproduce", "li2017", "--quick", "--docs", str(docs), "--cache", str(afile)))
    assert not (tmp_path / "new").exists()


def test_flow_rtol_below_scipys_floor_is_refused(cli, one_line_error):
    """scipy raises an rtol below 100·ε to it with a warning, while the output printed the rtol asked for."""
    assert "--flow-rtol" in one_line_error(cli("train", "two-layer", "--flow", "--flow-rtol", "2e-14"))


def test_a_memory_refusal_names_the_width_that_causes_it(cli, one_line_error):
    line = one_line_error(cli("landscape", "deep-resnet", "--trials", "1", "--compare", "fc", "--fc-width",
                              "100000000", "--jobs", "1"))
    assert "--fc-width 100000000" in line


def test_a_deep_narrow_network_is_estimated_by_its_layers():
    """1e6 layers of width 2: 38 s measured for 3 steps, 0.03 s estimated; 1e6 steps were announced as 2.9 h."""
    from resnet_cli.experiments.train_shortcut import TrainShortcutSettings

    sizes = dict(depth=1000000, data="gaussian", dim=2, samples=3)
    assert api.cost(TrainShortcutSettings.resolve(None, {**sizes, "steps": 3})).seconds > 10
    with pytest.raises(ConfigError, match="more than 30 d"):
        TrainShortcutSettings.resolve(None, {**sizes, "steps": 1000000})


@pytest.mark.parametrize("command_settings, given, words", [
    ("train two-layer", {"noise_rate": 5.0}, "--noise-rate has no effect without perturbed GD"),
    ("train two-layer", {"flow_solver": "RK45"}, "--flow-solver has no effect without a gradient flow"),
    ("train two-layer", {"steps": 300, "stage2_steps": 100}, "--stage2-steps has no effect with --steps"),
    ("train two-layer", {"prior_angle": 10.0, "teacher_v": "sphere"}, "--prior-angle has no effect when v*"),
    ("success-rate", {"noise_rate": 5.0}, "--noise-rate has no effect"),
    ("hessian", {"bracket_width": 0.1}, "--bracket-width has no effect with --spectrum exact"),
    ("depth-sweep", {"network": ["xavier"], "init": "zero"}, "--init has no effect without an n-shortcut kind"),
])
def test_flags_without_effect_get_a_note(command_settings, given, words):
    from resnet_cli.experiments.depth_sweep import DepthSweepSettings
    from resnet_cli.experiments.hessian import HessianSettings
    from resnet_cli.experiments.success_rate import SuccessSettings
    from resnet_cli.experiments.two_layer_settings import TrainSettings

    cls = {"train two-layer": TrainSettings, "success-rate": SuccessSettings, "hessian": HessianSettings,
           "depth-sweep": DepthSweepSettings}[command_settings]
    notes = inert_notices(cls.resolve(None, given), set(given))
    assert any(words in n for n in notes), notes


def test_a_noise_rate_with_a_noise_method_is_no_note():
    from resnet_cli.experiments.success_rate import SuccessSettings

    s = SuccessSettings.resolve(None, {"noise_rate": 5.0, "method": ["cnn-noise"]})
    assert not inert_notices(s, {"noise_rate"})


def test_review_mends(cli, one_line_error, tmp_path):
    """Binarised (bool) MNIST pixels load; a pathlib.Path is a --cache from Python; reproduce refuses a blank
    --cache before --docs exists; a --noise that no *-noise method uses makes --noise-rate inert too; rtol down
    to scipy's own floor (100·ε) is taken; hessian --method names --spectrum."""
    from pathlib import Path

    import numpy as np

    from resnet_cli.data import load_dataset
    from resnet_cli.experiments.success_rate import SuccessSettings
    from resnet_cli.experiments.two_layer_settings import TrainSettings

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "b.npz", x=rng.random((60, 20)) > 0.5, y=rng.integers(0, 10, 60))
    assert load_dataset(f"mnist:{tmp_path / 'b.npz'}").X.shape == (60, 10)
    assert SuccessSettings.resolve(None, {"cache": Path(tmp_path / "c")}).cache == str(tmp_path / "c")
    docs = tmp_path / "docs"
    assert "must not be empty" in one_line_error(cli("reproduce", "li2017", "--quick", "--docs", str(docs),
                                                     "--cache", "   "))
    assert not docs.exists()
    s = SuccessSettings.resolve(None, {"noise": 2.0, "noise_rate": 5.0, "method": ["resnet-ssw"]})
    assert inert_notices(s, {"noise_rate"})
    assert TrainSettings.resolve(None, {"flow": True, "flow_rtol": 2.3e-14}).flow_rtol == 2.3e-14
    assert "use --spectrum" in one_line_error(cli("hessian", "--method", "slq"))


def test_an_old_flag_with_a_bad_value_is_one_line(cli, one_line_error):
    """The notice on --runs came first, then the refusal of its value: two lines."""
    assert one_line_error(cli("hessian", "--runs", "0", "--depth", "2")) == (
        "error: --trials 0: must be at least 1 (--runs is now --trials)")
    result = cli("hessian", "--runs", "2", "--depth", "2", "--quiet")
    assert result.code == 0 and "note: --runs is deprecated" in result.stderr


def test_the_api_progress_callback_takes_done_and_total_everywhere():
    seen = []
    api.run(api.HessianSettings(depth=2, trials=1), progress=lambda done, total: seen.append((done, total)))
    api.run(api.TrainShortcutSettings(depth=2, steps=3), progress=lambda done, total: seen.append((done, total)))
    assert seen and all(0 <= done <= total for done, total in seen) and seen[-1][0] == seen[-1][1]


def test_python_resolve_renames_old_keys_with_a_deprecation_warning():
    from resnet_cli.experiments.hessian import HessianSettings

    with pytest.warns(DeprecationWarning, match="--runs"):
        assert HessianSettings.resolve(None, {"runs": 2}).trials == 2


def test_jobs_from_a_script_on_standard_input_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    script = ("from resnet_cli import api\n"
              "api.run(api.SuccessSettings(k=[4], trials=4, jobs=2, stage2_steps=10))\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 1 and "from a script read from standard input" in done.stderr


def test_a_blown_up_run_plots_without_warnings(tmp_path):
    """A diverged trace record of 1e300 overflowed matplotlib's log scale (exit 1 under PYTHONWARNINGS=error)."""
    import subprocess
    import sys

    png = tmp_path / "d.png"
    done = subprocess.run([sys.executable, "-m", "resnet_cli", "train", "two-layer", "--trials", "1", "--stage2-steps",
                           "100", "--lr", "1e6", "--plot", str(png), "--quiet"], capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, "PYTHONWARNINGS": "error"})
    assert done.returncode == 0 and done.stderr == "" and png.stat().st_size > 0


@pytest.mark.parametrize("argv, words", [
    (("success-rate", "--method", "cnn-large-w", "--theorem-m", "0.3", "--k", "4", "--trials", "2",
      "--stage2-steps", "20", "--jobs", "1"), "--theorem-m has no effect where no run has Theorem 1's output (1)"),
    (("hessian", "--depth", "2", "--spectrum", "slq", "--eigensolver", "evr"), "--eigensolver has no effect"),
    (("hessian", "--depth", "2", "--json", "--detail"), "--detail has no effect with --json"),
])
def test_more_flags_without_effect_get_a_note(cli, argv, words):
    result = cli(*argv, "--quiet")
    assert result.code == 0 and words in result.stderr


def test_an_ascii_stream_gets_tables_laid_out_in_ascii():
    """On a stream that cannot encode φ or ‖ the ASCII spellings were swapped in after the layout: cells wider
    than their columns and lines past 80 columns. Now the consoles spell before they lay out."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-m", "resnet_cli", "train", "two-layer", "--trials", "2",
                           "--stage2-steps", "50", "--quiet"], capture_output=True, timeout=120, env=env)
    lines = done.stdout.decode("ascii").splitlines()
    assert done.returncode == 0 and max(len(line) for line in lines) <= 80
    table = [line for line in lines if line.startswith(("+", "|"))]
    borders = [i for i, line in enumerate(table) if line.startswith("+")]
    first = table[borders[0]:borders[1] + 1]  # the outcome table, top border to bottom border
    assert "phi (rad)" in "".join(first) and len({len(line) for line in first}) == 1  # its borders line up


def test_a_refused_old_spelling_is_named_in_the_one_line(cli, one_line_error):
    assert one_line_error(cli("hessian", "--runs", "abc", "--depth", "2")).endswith("(--runs is now --trials)")
    assert one_line_error(cli("hessian", "--runs", "0", "--depth", "2")).endswith("(--runs is now --trials)")


def test_python_resolve_refuses_an_old_and_a_new_key_together():
    from resnet_cli.experiments.hessian import HessianSettings

    with pytest.raises(ConfigError, match="--runs and --trials both set --trials"):
        HessianSettings.resolve(None, {"runs": 2, "trials": 3})


def test_ascii_spelling_keeps_bracketed_text_that_is_not_markup():
    """'[π/2, π]' spelled after the markup was read would become the tag '[pi/2, pi]' and vanish."""
    import io

    from rich.console import Console
    from rich.table import Table

    from resnet_cli.report import _AsciiHook

    out = io.StringIO()
    target = Console(file=out, width=60)
    target.push_render_hook(_AsciiHook())
    table = Table("range")
    table.add_row("[π/2, π]")
    target.print(table)
    assert "[pi/2, pi]" in out.getvalue()


def test_a_cell_with_certified_and_measured_trials_has_no_p10_mean():
    from resnet_cli.experiments.depth_sweep import _trial_means
    from resnet_cli.spectrum import SpectrumStats, spectrum_stats

    nan = float("nan")
    certified = SpectrumStats(100, 2.0, nan, nan, float("inf"), float("inf"), 0.3, nan, nan, False, approximate=True)
    measured = spectrum_stats(np.r_[np.full(5, 1e-3), np.linspace(1, 2, 95)])
    means = _trial_means([certified, measured], 1)
    assert means["abs_p10"] is None and means["trials_certified_by_counts"] == 1


def test_a_value_listed_twice_under_its_old_name_quotes_what_was_typed(cli, one_line_error):
    """It quoted the renamed list ("--method cnn-large-w,cnn-large-w"), which nobody typed."""
    line = one_line_error(cli("success-rate", "--method", "cnn,cnn-large-w", "--k", "4"))
    assert line == "error: --method cnn,cnn-large-w: cnn-large-w is listed twice (cnn: its old name)"
    line = one_line_error(cli("landscape", "two-layer", "--schedule", "large-w,constant"))
    assert line == "error: --schedule large-w,constant: large-w is listed twice (constant: its old name)"


def test_render_only_without_any_part_data_refuses_and_keeps_the_page(cli, one_line_error, tmp_path):
    """li2017 --render-only with its data deleted exited 0 and wiped its section of reproductions.md."""
    import shutil
    from pathlib import Path

    docs = tmp_path / "docs"
    shutil.copytree(Path(__file__).resolve().parents[2] / "docs", docs)
    for path in (docs / "data").glob("li2017-fig*.json"):
        path.unlink()
    before = (docs / "reproductions.md").read_text(encoding="utf-8")
    assert "none of li2017-fig5.json" in one_line_error(cli("reproduce", "li2017", "--render-only", "--docs", docs))
    assert (docs / "reproductions.md").read_text(encoding="utf-8") == before


def test_a_run_record_nested_too_deep_is_a_damaged_record(tmp_path):
    """A record of '[' * 100000 was an internal RecursionError outside --render-only."""
    from resnet_cli.reproductions.common import record_or_empty

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reproduce-li2017.json").write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    assert record_or_empty(tmp_path, "li2017") == {}


def test_a_preset_for_another_command_names_only_commands(cli, one_line_error):
    """The li2017-fig7 preset's [reproduce] table made the refusal say `reproduce, train shortcut`."""
    assert one_line_error(cli("hessian", "--config", "li2017-fig7")).endswith("is for `train shortcut`, not `hessian`")


def test_a_file_of_only_a_reproduce_table_says_so(cli, one_line_error, tmp_path):
    """It said 'this file is for ``, not `success-rate`'."""
    (tmp_path / "r.toml").write_text("[reproduce]\nx = 1\n")
    line = one_line_error(cli("success-rate", "--config", str(tmp_path / "r.toml")))
    assert "only a [reproduce] table" in line and "``" not in line
