"""`resnet-cli reproduce NAME|all`: each reproduction renders its committed section of docs/reproductions.md
byte for byte from docs/data alone, its declared runs are the runs that made the stored data, and a quick run
into another folder writes data, figure and only its own part of the page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from resnet_cli.reproductions import REPRODUCTIONS, liu2019_beyond
from resnet_cli.reproductions.common import marked_section

DOCS = Path(__file__).resolve().parents[2] / "docs"
WITH_SECTIONS = [name for name, rep in REPRODUCTIONS.items() if rep.begin is not None]


@pytest.mark.parametrize("name", WITH_SECTIONS)
def test_the_render_path_gives_the_committed_section(name):
    """The section rendered from docs/data/*.json (and the run record) is the committed one, to the byte."""
    rep = REPRODUCTIONS[name]
    committed = marked_section((DOCS / "reproductions.md").read_text(encoding="utf-8"), rep.begin, rep.end)
    assert committed is not None, f"docs/reproductions.md has no {rep.begin} section"
    assert rep.section(DOCS).rstrip("\n") == committed


@pytest.mark.parametrize("name", list(liu2019_beyond.RUNS))
def test_the_declared_beyond_runs_are_the_ones_that_made_the_data(name):
    """Each declared run resolves, in every flag it declares and its seed, to the config stored in its
    docs/data file."""
    from resnet_cli.report import to_jsonable

    cmd, flags, _ = liu2019_beyond.RUNS[name]
    stored = json.loads((DOCS / "data" / f"liu2019-beyond-{name}.json").read_text())
    assert stored["command"] == cmd
    settings = liu2019_beyond.settings_of(cmd, flags)
    mine = json.loads(json.dumps(to_jsonable(settings.to_dict())))
    declared = [k for k in flags if k != "jobs"] + ["seed"]  # (defaults may have moved since: not compared)
    assert {k: mine[k] for k in declared} == {k: stored["config"][k] for k in declared}


def test_quick_figure3_into_another_folder_writes_only_its_part(cli, tmp_path):
    page = tmp_path / "reproductions.md"
    page.write_text("# Reproductions\n\n<!-- li2017:begin -->\nFigures 5, 9, 10\n<!-- li2017:end -->\n\nafter\n")
    for _ in range(2):  # a second run rewrites its own part, nothing else
        r = cli("reproduce", "li2017-training", "--quick", "--only", "fig3", "--jobs", "1", "--docs", str(tmp_path),
                "--quiet")
        assert r.code == 0, r.stderr
        assert r.stdout == f"wrote {page}\n"
    text = page.read_text()
    assert text.count("<!-- li2017-training:begin -->") == 1 and text.index("li2017:end") < text.index("training:begin")
    assert "Figures 5, 9, 10" in text and text.rstrip().endswith("after")
    assert "| paper's claim (quoted) | ours | command, seed |" in text
    data = json.loads((tmp_path / "data" / "li2017-fig3.json").read_text())
    assert [panel["act_mid"] for panel in data["panels"]] == ["identity", "relu"]
    assert (tmp_path / "figures" / "li2017-fig3.png").stat().st_size > 1000
    # What the run wrote is what --render-only makes of its data (the section is a function of data/ alone).
    written = page.read_text()
    r = cli("reproduce", "li2017-training", "--render-only", "--docs", str(tmp_path), "--quiet")
    assert r.code == 0, r.stderr
    assert page.read_text() == written


def test_render_only_rewrites_a_copy_of_docs_unchanged(cli, tmp_path):
    """`reproduce liu2019-success --render-only` on a copy of docs/reproductions.md and docs/data changes no
    byte of the page and redraws its two figures."""
    shutil.copy(DOCS / "reproductions.md", tmp_path / "reproductions.md")
    shutil.copytree(DOCS / "data", tmp_path / "data")
    r = cli("reproduce", "liu2019-success", "--render-only", "--docs", str(tmp_path), "--quiet")
    assert r.code == 0, r.stderr
    assert (tmp_path / "reproductions.md").read_text() == (DOCS / "reproductions.md").read_text()
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["liu2019-success-p.png", "liu2019-success.png"]


@pytest.mark.parametrize("args, message", [
    (["nonsense"], "reproduce nonsense: no such reproduction (choose from all, liu2019-success, "),
    (["yun2019", "--quick"], "--quick: yun2019 has no quick size"),
    (["li2017", "--only", "fig4"], "--only fig4: li2017 has no part 'fig4' (parts: fig5, fig9, fig10)"),
    (["all", "--only", "fig3"], "--only: name one reproduction, not all"),
    (["li2017", "--only", "fig5,,fig9"], "--only fig5,,fig9: an empty item"),
])
def test_user_errors_are_one_line(cli, one_line_error, tmp_path, args, message):
    line = one_line_error(cli("reproduce", *args, "--docs", str(tmp_path / "out")))
    assert message in line


def test_a_saved_result_reads_back_with_its_non_finite_numbers(tmp_path):
    """JSON keeps inf/nan as strings; read back they are floats again, so a figure drawn from docs/data
    (an SLQ cell whose upper bound is ∞) plots like the fresh result instead of failing."""
    import math

    from resnet_cli.report import from_jsonable, to_jsonable
    from resnet_cli.reproductions.common import read_json, write_json

    payload = {"rows": [{"cond10_upper": math.inf, "low": -math.inf, "mean": 2.5, "network": "xavier"}],
               "notes": ["nan"]}
    write_json(tmp_path / "r.json", to_jsonable(payload))
    back = read_json(tmp_path / "r.json")
    assert back["rows"][0]["cond10_upper"] == math.inf and back["rows"][0]["low"] == -math.inf
    assert back["rows"][0]["mean"] == 2.5 and back["rows"][0]["network"] == "xavier"
    assert math.isnan(back["notes"][0]) and from_jsonable("infinite") == "infinite"


def test_fig5_claims_rest_only_on_cells_the_table_shows():
    """An SLQ cell whose interval is 'too wide' shows no number, so no claim may use its mean."""
    from resnet_cli.reproductions import li2017

    def row(depth, mean, wide=False):
        return {"depth": depth, "network": "orthogonal", "status": "ok", "mean": mean,
                **({"spectrum": "slq", "cond10_too_wide": True} if wide else {"spectrum": "exact"})}

    p = {"rows": [row(1, 1.0), row(8, 20.0), row(64, 180.0), row(128, 5.0, wide=True)]}
    (claim,) = [c for c in li2017.claims_fig5(p) if "orthogonal initialization the" in c[0]]
    assert "→ 180 at depth 64" in claim[1] and "128 left out" in claim[1] and claim[2] == "agrees"


def test_the_run_says_how_long_the_last_recorded_run_took(tmp_path):
    """A run starts with the wall time of the last recorded runs in its docs folder, ends each reproduction
    with its own, and records it (so the next run's first line is this run's time)."""
    from resnet_cli.reproductions import Execution, recorded_line, reproduce
    from resnet_cli.reproductions.common import read_record, recorded_wall, write_record

    rep = REPRODUCTIONS["li2017-training"]
    assert recorded_line("all", DOCS, list(REPRODUCTIONS.values())).startswith("[all] the last recorded runs took ")
    fig = {part: json.loads((DOCS / "data" / f"li2017-{part}.json").read_text()) for part in rep.parts}
    assert recorded_wall(DOCS, rep) == pytest.approx(sum(f["wall_seconds"] for f in fig.values()))
    assert recorded_line("li2017-training", tmp_path, [rep]) == (
        f"[li2017-training] no recorded run in {tmp_path / 'data'} to say how long this takes")
    lines: list[str] = []
    reproduce("li2017-training", tmp_path, Execution(jobs=1, quick=True, only=("fig3",)), log=lines.append)
    assert lines[0].startswith("[li2017-training] no recorded run") and lines[-1].startswith("[li2017-training] done in ")
    assert recorded_wall(tmp_path, rep) is None  # the other parts were not run: no time for the whole
    assert "wall" not in read_record(tmp_path, rep.name)  # --only: not the whole run's time
    cached = tmp_path / "cached"
    reproduce("li2017-training", cached, Execution(jobs=1, quick=True, only=("fig3",), cache=str(tmp_path / "c")))
    assert read_record(cached, rep.name)["cache"] is True
    du = REPRODUCTIONS["du2018"]
    write_record(cached, du.name, wall=8.0)
    assert recorded_wall(cached, du) == 8.0
    write_record(cached, du.name, wall=0.01, cache=True)
    assert recorded_wall(cached, du) is None  # cells read from --cache take no time: not a run's time


def test_a_run_record_keeps_what_the_build_wrote_and_dates_the_rest(tmp_path):
    from resnet_cli.reproductions.common import read_record, record_run, recorded_wall, write_record

    rep = REPRODUCTIONS["zhou2019"]
    (tmp_path / "data").mkdir()
    write_record(tmp_path, rep.name, wall=100.0, cpu=190.0, load=1.0)
    before = read_record(tmp_path, rep.name)
    write_record(tmp_path, rep.name, wall=50.0, cpu=95.0, load=0.5)  # the build writes its own record
    record_run(tmp_path, rep.name, before, wall=51.0, cpu=96.0)
    assert read_record(tmp_path, rep.name)["wall"] == 50.0 and recorded_wall(tmp_path, rep) == 50.0
    before = read_record(tmp_path, rep.name)  # a build that writes no record: this run's time replaces the old
    record_run(tmp_path, rep.name, before, wall=20.0, cpu=39.0)
    assert read_record(tmp_path, rep.name)["wall"] == 20.0 and read_record(tmp_path, rep.name)["cpu"] == 39.0
    (tmp_path / "data" / "reproduce-zhou2019.json").write_bytes(b"\xff{ not json")  # damaged: no number, no error
    assert recorded_wall(tmp_path, rep) is None
    record_run(tmp_path, rep.name, {}, wall=7.0, cpu=13.0)
    assert recorded_wall(tmp_path, rep) == 7.0
    seconds = REPRODUCTIONS["liu2019-success"]
    write_record(tmp_path, seconds.name, seconds={"a": 1.5, "b": 2.5})
    assert recorded_wall(tmp_path, seconds) == 4.0


def test_a_docs_folder_that_cannot_serve_is_one_line_before_any_work(cli, one_line_error, tmp_path):
    """--docs was checked only when the page was written: a missing parent gave "internal error:
    FileNotFoundError", a file "NotADirectoryError", and '' wrote into the current folder."""
    (tmp_path / "a-file").write_text("x")
    for docs, message in [("", "--docs '': must not be empty"),
                          (str(tmp_path / "a-file"), "is not a folder"),
                          (str(tmp_path / "missing" / "deeper"), "no data/ folder to render from"),
                          (str(tmp_path), "no data/ folder to render from")]:
        args = ["reproduce", "li2017", "--docs", docs] + ([] if docs == "" else ["--render-only"])
        assert message in one_line_error(cli(*args))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written, nothing created


def test_a_page_or_subfolder_that_cannot_serve_is_refused_before_computing(cli, one_line_error, tmp_path):
    """A file named data or figures in --docs gave "internal error: FileExistsError" (figures: after the
    computing); a page whose markers are not one pair was refused only after the computing; --only named a
    part twice ran it twice and --only '' ran everything."""
    for sub in ("data", "figures"):
        folder = tmp_path / sub.upper()
        folder.mkdir()
        (folder / sub).write_text("a file")
        assert "is not a folder" in one_line_error(cli("reproduce", "li2017", "--quick", "--docs", str(folder)))
        assert sorted(p.name for p in folder.iterdir()) == [sub]
    page = tmp_path / "page"
    page.mkdir()
    (page / "reproductions.md").write_text("# R\n<!-- liu2019:begin -->\nx\n")
    assert "not one pair" in one_line_error(cli("reproduce", "liu2019-success", "--quick", "--docs", str(page)))
    assert sorted(p.name for p in page.iterdir()) == ["reproductions.md"]
    for only, message in (("fig5,fig5", "fig5 is listed twice"), ("", "an empty item")):
        assert message in one_line_error(cli("reproduce", "li2017", "--only", only, "--quick", "--docs", str(page)))


@pytest.mark.parametrize("blocker", ["figures/li2017-fig9.png", "data/li2017-fig5.json", "reproduce-yun2019.md"])
def test_a_folder_in_the_way_of_an_output_is_refused_before_computing(cli, one_line_error, tmp_path, blocker):
    """A folder named like a file the reproduction writes stopped it after all its runs: 'internal error:
    IsADirectoryError', with some figures written and the page not."""
    (tmp_path / blocker).mkdir(parents=True)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert "is a folder where a reproduction writes a file" in one_line_error(
        cli("reproduce", "li2017", "--quick", "--docs", str(tmp_path)))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_an_unforeseen_path_error_is_one_line_not_an_internal_error():
    import errno

    from resnet_cli.edge import IOERR, outcome
    code, line = outcome(IsADirectoryError(errno.EISDIR, "Is a directory", "/x/fig.png"))
    assert code == IOERR and line.startswith("error: /x/fig.png")


def test_quick_is_refused_into_any_folder_with_full_results(cli, one_line_error, tmp_path):
    """Only a folder named docs was protected: a copy of docs/ elsewhere was overwritten by --quick."""
    copy = tmp_path / "copy"
    shutil.copytree(DOCS / "data", copy / "data")
    line = one_line_error(cli("reproduce", "li2017", "--quick", "--docs", str(copy)))
    assert f"--quick: {copy} holds the results of full runs (reproduce-" in line


def test_render_only_on_damaged_data_or_page_is_one_line(cli, one_line_error, tmp_path):
    """A damaged data file made --render-only an internal error (exit 1) for every kind of damage; a page whose
    end marker was lost got a second copy of the section."""
    shutil.copytree(DOCS / "data", tmp_path / "data")
    shutil.copy(DOCS / "reproductions.md", tmp_path / "reproductions.md")
    fig = tmp_path / "data" / "liu2019-success.json"
    good = fig.read_text()
    for damage, message in [(good[: len(good) // 2], "cannot be read as JSON"), ("[1, 2]", "do not render")]:
        fig.write_text(damage)
        assert message in one_line_error(cli("reproduce", "liu2019-success", "--render-only", "--docs", str(tmp_path)))
    fig.write_text(good)
    page = tmp_path / "reproductions.md"
    page.write_text(page.read_text().replace("<!-- liu2019:end -->", ""))
    before = page.read_text()
    line = one_line_error(cli("reproduce", "liu2019-success", "--render-only", "--docs", str(tmp_path)))
    assert "are not one pair" in line and page.read_text() == before


def test_log_lines_name_the_folder_the_run_writes(tmp_path):
    from resnet_cli.reproductions import _in_folder

    line = "resnet-cli success-rate --seed 0 --out docs/data/x.json --plot docs/figures/x.png"
    assert _in_folder(line, tmp_path) == (f"resnet-cli success-rate --seed 0 --out {tmp_path}/data/x.json --plot "
                                          f"{tmp_path}/figures/x.png")
    assert _in_folder(line, Path("docs")) == line


def test_the_noise_levels_as_one_batch_are_their_commands_one_by_one(monkeypatch):
    """zhou2019's 25 noise-level commands run as one batch (`level_cells`): each cell as its `success-rate`
    command gives it alone, bit for bit (here three short levels of the same kind)."""
    from resnet_cli.report import dumps
    from resnet_cli.reproductions import zhou2019

    short = {"k": [4], "method": ["cnn-noise"], "trials": 12, "stage2_steps": 300, "jobs": 1}
    levels = {f"level-{size:g}-{kind}-{rate:g}": {**short, "noise": size, "noise_anneal": kind, "noise_rate": rate}
              for size, kind, rate in ((0.3, "exponential", 3.0), (3.0, "none", 0.0), (1.0, "polynomial", 100.0))}
    monkeypatch.setattr(zhou2019, "LEVEL_RUNS", levels)
    alone = {name: zhou2019.run_one(("success-rate", flags))[0]["cells"][0] for name, flags in levels.items()}
    assert dumps(zhou2019.level_cells()) == dumps(alone)
    differ = {(cell["global"], cell["undecided"], cell["mean_steps_run"]) for cell in alone.values()}
    assert len(differ) > 1  # the levels give different cells: the comparison can tell them apart


def test_a_run_that_fails_before_writing_leaves_no_docs_folder_it_created(cli, one_line_error, tmp_path,
                                                                          monkeypatch):
    """An unreachable --dask scheduler failed after --docs had been created: an empty folder was left."""
    from resnet_cli.commands import reproduce as command
    from resnet_cli.errors import UserError

    def unreachable(*args, **kwargs):
        raise UserError("--dask tcp://127.0.0.1:1: cannot reach the scheduler")
    monkeypatch.setattr(command, "reproduce", unreachable)
    assert "cannot reach" in one_line_error(cli("reproduce", "li2017", "--quick", "--docs", str(tmp_path / "new")))
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()  # a folder that was there stays
    one_line_error(cli("reproduce", "li2017", "--quick", "--docs", str(tmp_path / "old")))
    assert (tmp_path / "old").is_dir()


def test_the_fig8_reading_takes_its_levels_from_the_data():
    """'every seed down to', 'a majority down to' and 'none at' are the levels where the counts say so."""
    from resnet_cli.reproductions.li2017_training import fig8_remark

    share = {"level": [0.5, -0.3, -1.2, -1.8, -2.1, -2.4, -2.7], "lower": [10, 10, 9, 6, 7, 0, 8], "pairs": [10] * 7}
    text = fig8_remark(share)
    assert "every seed from the start down to lg(L − L_min) ≈ −0.3" in text
    assert "a majority down to −2.1" in text and "in none at −2.4" in text
    assert "At the lowest level (−2.7) 8 of 10 seeds" in text
    share["lower"][5] = 3
    assert "in 3 of 10 at −2.4" in fig8_remark(share)


def test_the_trapped_share_trend_says_what_every_setting_shows():
    from resnet_cli.reproductions.liu2019_beyond import count_trend

    assert count_trend([67, 16, 6]) == "falls" and count_trend([40, 28, 30]) == "falls overall"
    assert count_trend([0, 5, 14]) == "grows" and count_trend([3, 1, 3]) == "does not move one way"


def test_fig9_claim_compares_with_the_kinds_the_paper_names(monkeypatch):
    """The abstract compares 2-shortcuts with Xavier, orthogonal and deeper shortcuts: a lower 1-shortcut is
    shown beside the claim, not counted against it; a lower 3-shortcut counts against it."""
    from resnet_cli.reproductions import li2017

    monkeypatch.setattr(li2017, "identity_gap", lambda p: 5.0)
    monkeypatch.setattr(li2017, "flat_claims", lambda p, figure: [])

    def claim(means):
        p = {"config": {"network": list(means)}, "quantity": "final loss − L_min",
             "rows": [{"network": n, "depth": d, "status": "ok", "mean": m * d, "best_lr": 0.1, "best_lr_flat": False}
                      for n, m in means.items() for d in (2, 4)]}
        (row,) = [c for c in li2017.claims_training(p, "fig9") if "lower final losses" in c[0]]
        return row

    ours, verdict = claim({"1-shortcut": 1.0, "2-shortcut": 2.0, "3-shortcut": 3.0, "xavier": 4.0})[1:]
    assert verdict == "agrees" and "at 2 of 2 depths" in ours
    assert "the 1-shortcut (not in the claim) is lower at depth 2 (2 vs 4), 4 (4 vs 8)" in ours
    ours, verdict = claim({"1-shortcut": 9.0, "2-shortcut": 2.0, "3-shortcut": 1.0, "xavier": 4.0})[1:]
    assert verdict == "differs" and "never lower" in ours
