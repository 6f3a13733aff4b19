"""Every command's default output at 80 columns: what a newcomer reads first (docs/cli.md, `--detail`).

Each case runs a command with its default *layout* (the same rows and columns as the default run; only sizes
that cost time are made small by flags that change no row or column) and checks:
- no line wider than 80 columns; no table cell cut with "…";
- no table header split inside a name (a header cell continued on the next line after a hyphen or in the
  middle of a word, e.g. "cnn-" over "large-w");
- the headline (the default, without `--detail`) fits `max_lines` lines, its first table within the first
  few lines (the result first);
- no prose line is a lone word left by wrapping.

To add a command: one `Case` in CASES (its headline and, if it has one, its `--detail` output).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

WIDTH = 80
HEADLINE = 30  # lines of a command's default output at most (render.two_layer.HEADLINE_LINES)


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    max_lines: int | None = HEADLINE  # None: --detail output, no line budget
    first_table_by: int = 5  # the first table's top border within this many lines


# Sizes: success-rate keeps all 9 default k (the rows of the default table) with short stages; the others
# run at their defaults (under a second each).
SR_SMALL = ("--trials", "20", "--stage1-steps", "40", "--stage2-steps", "200", "--jobs", "1")
CASES = [
    Case("success-rate", ("success-rate", *SR_SMALL)),
    Case("success-rate --detail", ("success-rate", *SR_SMALL, "--detail"), None),
    Case("success-rate, 7 methods", ("success-rate", *SR_SMALL, "--k", "4,16", "--method",
                                     "cnn-large-w,cnn-large-both,resnet-large-w,resnet-large-both,resnet-ssw,"
                                     "resnet-layerwise,resnet-a-first", "--theorem-all", "--detail"), None),
    Case("success-rate, 2 p", ("success-rate", *SR_SMALL, "--p", "4,8", "--k", "4,9")),
    Case("train two-layer", ("train", "two-layer")),
    Case("train two-layer --detail", ("train", "two-layer", "--detail"), None),
    Case("train two-layer, 30 trials", ("train", "two-layer", "--trials", "30", "--steps", "600")),
    Case("train two-layer, cnn", ("train", "two-layer", "--student", "cnn", "--schedule", "large-w", "--trials", "3")),
    Case("landscape two-layer", ("landscape", "two-layer")),
    Case("landscape two-layer --detail", ("landscape", "two-layer", "--detail"), None),
    # Li et al. (2017): SLQ cells are made cheap by a low exact limit (the layout is the default one)
    Case("hessian", ("hessian",)),
    Case("hessian, slq", ("hessian", "--spectrum", "slq")),
    Case("hessian, slq, 3 trials --detail", ("hessian", "--spectrum", "slq", "--init", "small", "--trials", "3",
                                             "--detail"), None),
    Case("hessian, plain slq too wide", ("hessian", "--spectrum", "slq", "--shortcut", "0", "--init", "xavier",
                                         "--depth", "8", "--lanczos-probes", "4")),
    Case("depth-sweep", ("depth-sweep", "--depth", "2,4,8", "--trials", "2", "--exact-max-params", "300",
                         "--jobs", "1")),
    Case("depth-sweep --detail", ("depth-sweep", "--depth", "2,4", "--trials", "2", "--exact-max-params", "300",
                                  "--jobs", "1", "--detail"), None),
    Case("depth-sweep final-loss", ("depth-sweep", "--measure", "final-loss", "--depth", "2,4", "--steps", "20",
                                    "--trials", "2", "--jobs", "1")),
    Case("train shortcut", ("train", "shortcut")),
    Case("train shortcut, slq Hessians", ("train", "shortcut", "--hessian-every", "20", "--spectrum", "slq",
                                          "--lanczos-steps", "30")),
    # Yun et al. (2019): the default run (example 1, Newton), the near-identity preset's 8 rows (fewer starts),
    # example 2 with every secondary table
    Case("landscape deep-resnet", ("landscape", "deep-resnet")),
    # Hardt & Ma 2017: the default rows (10 start radii), 2 starts each
    Case("landscape linear-resnet", ("landscape", "linear-resnet", "--trials", "2")),
    Case("landscape linear-resnet --detail", ("landscape", "linear-resnet", "--trials", "2", "--blocks", "2,3",
                                              "--detail"), None),
    Case("landscape linear-resnet, a tiny radius", ("landscape", "linear-resnet", "--trials", "1", "--radius",
                                                    "1.23456e-5,0.5", "--detail"), None),  # (cut to 1.23e-…)
    Case("landscape deep-resnet, near-identity", ("landscape", "deep-resnet", "--config", "yun2019-near-identity",
                                                  "--trials", "6", "--jobs", "1")),
    Case("landscape deep-resnet, R_lin ≈ 0", ("landscape", "deep-resnet", "--data", "gaussian", "--samples", "3",
                                             "--dim", "4", "--trials", "6", "--detail"), None),  # (3.762e+…)
    Case("landscape deep-resnet --detail", ("landscape", "deep-resnet", "--config", "yun2019-example2", "--detail"),
         None),
    Case("train shortcut --detail", ("train", "shortcut", "--hessian-every", "50", "--spectrum", "slq",
                                     "--lanczos-steps", "30", "--detail"), None),
]

# the first line of a table: a heavy top border, or the header of a table with a simple head (its rule below)
TABLE_TOP = re.compile(r"^┏|^\s*─{3,}")


def header_blocks(text: str) -> list[list[list[str]]]:
    """The header rows of every boxed table: per table, a list of rows, each the list of its cells."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("┏"):
            current = []
        elif line.startswith("┡") and current is not None:
            blocks.append(current)
            current = None
        elif current is not None and line.startswith("┃"):
            current.append([cell.strip() for cell in line.strip("┃").split("┃")])
    return blocks


def split_headers(text: str) -> list[tuple[str, str]]:
    """(upper, lower) pairs of header cells where a name continues on the next line mid-word or after a
    hyphen."""
    found = []
    for rows in header_blocks(text):
        for upper, lower in zip(rows, rows[1:]):
            for a, b in zip(upper, lower):
                if a and b and (a.endswith("-") or (a[-1].isalnum() and b[0].isalnum() and " " not in a + b
                                                    and re.search(r"[-_]", a + b))):
                    found.append((a, b))
    return found


def lone_words(text: str) -> list[str]:
    """Lines outside tables holding one word that continue the line above (a wrapped sentence)."""
    lines = text.splitlines()
    table = re.compile(r"^[\s]*[┏┃┡│└╇┳┻━─┗┣]|^\s*$|^ {0,2}\S.* {2,}\S")  # borders, blanks, simple-box rows
    out = []
    for before, line in zip(lines, lines[1:]):
        if table.match(line) or table.match(before):
            continue
        if len(line.split()) == 1 and line.startswith(" ") and len(before) > WIDTH - 15:
            out.append(line)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_default_output_at_80_columns(cli, monkeypatch, case):
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    r = cli(*case.argv, "--quiet")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, [line for line in lines if len(line) > WIDTH]
    assert "…" not in r.stdout, [line for line in lines if "…" in line]
    assert split_headers(r.stdout) == []
    assert lone_words(r.stdout) == []
    if case.max_lines is not None:
        assert len(lines) <= case.max_lines, r.stdout
        first = next(i - (not line.startswith("┏")) for i, line in enumerate(lines) if TABLE_TOP.match(line))
        assert first < case.first_table_by, r.stdout
        assert "--detail" in r.stdout  # says what to run for more


def test_split_header_detector_finds_the_old_split():
    old = "┏━━━┳━━━━━━━━━┓\n┃   ┃    cnn- ┃\n┃ k ┃ large-w ┃\n┡━━━╇━━━━━━━━━┩\n"
    assert split_headers(old) == [("cnn-", "large-w")]
    fine = "┏━━━┳━━━━━━━━━━━━━┓\n┃   ┃   (1) held: ┃\n┃ k ┃      global ┃\n┡━━━╇━━━━━━━━━━━━━┩\n"
    assert split_headers(fine) == []


def test_success_rate_headline_names_the_prior_the_methods_and_the_theorem(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    # T1 = ⌈1/η_a⌉ = 241 at k = 4: a shorter --stage1-steps would put resnet-ssw outside Theorem 1 as well
    text = cli("success-rate", "--k", "4,9", "--trials", "20", "--stage1-steps", "241", "--stage2-steps", "200",
               "--jobs", "1", "--quiet").stdout
    assert "skip-layer prior" in text and "methods:" in text and "Theorem 1, output (1)" in text
    assert "not checked (outside its hypotheses): cnn-large-w, resnet-large-w" in " ".join(text.split())
    assert "trials per outcome" not in text  # behind --detail
    assert text.index("share of trials") < text.index("teacher v*")  # the result table first


def test_a_theorem_row_can_pass(cli):
    """Output (1) is checked with 0 < m < M (m = M could never hold) and holds for resnet-ssw, on Theorem 1's
    own steps and on the run; methods outside the hypotheses have no row unless asked."""
    args = ("success-rate", "--k", "4", "--trials", "20", "--stage2-steps", "1000", "--jobs", "1", "--json")
    for trajectory in ("theorem1", "run"):
        data = json.loads(cli(*args, "--theorem-trajectory", trajectory).stdout)
        cfg = data["config"]
        assert 0 < cfg["theorem_m"] < cfg["theorem_big_m"] and cfg["theorem_trajectory"] == trajectory
        rows = [c for c in data["cells"] if c["output1_global"] is not None]
        assert [c["method"] for c in rows] == ["resnet-ssw"]
        assert all(c["output1_global"] + c["output1_other"] == c["trials"] for c in rows)
        assert all(cfg["theorem_m"] <= c["tightest_m"] <= c["tightest_big_m"] <= cfg["theorem_big_m"] for c in rows)
    train = json.loads(cli("train", "two-layer", "--json").stdout)
    assert train["runs"][0]["outcome"] == "global" and train["runs"][0]["theorems"]["output1_held"] is True


def test_slq_values_are_marked_and_carry_intervals(cli, monkeypatch):
    """Approximate (SLQ) values never pass for measurements: marked ≈ with their [interval], or 'too wide'."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    text = cli("hessian", "--spectrum", "slq", "--quiet").stdout
    assert re.search(r"≈ 1\.\d+ +\[1\.\d+, 1\.\d+\]", text)  # cond10 and |λ|max beside their intervals
    assert "no bound (SLQ)" in text and "95% confidence" in text
    wide = cli("hessian", "--spectrum", "slq", "--shortcut", "0", "--init", "xavier", "--depth", "8",
               "--lanczos-probes", "4", "--quiet").stdout
    assert "too wide" in wide
    sweep = cli("depth-sweep", "--depth", "2,4", "--trials", "2", "--exact-max-params", "300", "--network",
                "2-shortcut,orthogonal", "--jobs", "1", "--quiet").stdout
    rows = [line for line in sweep.splitlines() if line.strip().startswith("4 ")]
    assert rows and all("≈[" in row or "too wide" in row for row in rows)


def test_a_rate_never_rounds_a_failure_or_a_success_away():
    """2999 of 3000 at 3 decimals reads 1.000 (its interval ends at 1.000 too): the one failure SSW is tested
    for would only show in --detail."""
    from resnet_cli.render.two_layer import rate_text

    assert [rate_text(x) for x in (2999 / 3000, 1 / 3000, 1.0, 0.0, 0.5, 0.9996)] == [
        "0.9997", "0.0003", "1.000", "0.000", "0.500", "0.9996"]


def test_the_basin_map_says_its_phi0_pi_row_is_pinned(cli):
    """φ0 = π is v = −v*, where the population v-gradient is exactly 0: those starts stay spurious whatever the
    landscape (a headline of 'spurious 5 of 35' beside a saddle verdict read as a basin)."""
    out = " ".join(cli("landscape", "two-layer", "--seed", "5", "--quiet").stdout.split())
    assert "spurious 5 of 35 starts" in out and "the 5 starts at φ0 = π (v = −v*, where v's gradient is 0)" in out


def test_the_phi0_pi_note_is_not_claimed_where_patches_overlap(cli):
    """With --stride s < p the v-gradient at −v* is not 0 (0.055–0.78 at s = 6 for seed 1's teacher): the note
    was false there."""
    out = " ".join(cli("landscape", "two-layer", "--seed", "1", "--stride", "6", "--steps", "10", "--trials", "2",
                       "--quiet").stdout.split())
    assert "basins of GD" in out and "φ0 = π" not in out


def test_the_theorem1_sentence_says_why_a_method_was_not_checked(cli):
    """A cell whose stage I fills the run is not checked for that reason, not for being outside the hypotheses;
    resnet-ssw meets them even when --steps 1 leaves no step to check."""
    out = " ".join(cli("success-rate", "--trials", "20", "--k", "4", "--steps", "1", "--quiet").stdout.split())
    assert "no method here meets" not in out and "fills the run" in out
    assert "outside its hypotheses: cnn-large-w, resnet-large-w" in out
    out = " ".join(cli("success-rate", "--trials", "3", "--k", "4,100", "--steps", "300", "--method", "resnet-layerwise",
                       "--theorem-all", "--quiet").stdout.split())
    assert "resnet-layerwise held in 3 of 3" in out and "not checked at k = 100" in out and "outside" not in out


def test_rates_of_runs_that_stage_one_fills_are_said_to_be_of_stage_one(cli):
    """--steps 200 at k = 4 (T1 = 241): the table's 0.000 read as the methods failing; it is stage I alone."""
    out = " ".join(cli("success-rate", "--trials", "4", "--p", "8,16", "--k", "2,4", "--steps", "200",
                       "--quiet").stdout.split())
    assert "stage I alone at (p, k) = (8, 4), (16, 4): T1 = 241 steps fill the run's 200" in out
    out = " ".join(cli("success-rate", "--trials", "4", "--k", "2", "--steps", "400", "--quiet").stdout.split())
    assert "stage I alone" not in out


def test_a_tightest_bound_never_rounds_across_the_bound_it_is_checked_against(cli):
    """aᵀa* converges to ‖a*‖² + 2e-13: with --theorem-big-m 1 output (1) fails by rounding, and 'M = 1‖a*‖²'
    printed beside 'held in 0 of 20' read as meeting it."""
    out = " ".join(cli("train", "two-layer", "--k", "16", "--trials", "20", "--seed", "1", "--theorem-trajectory",
                       "run", "--theorem-big-m", "1", "--quiet").stdout.split())
    assert "held in 0 of 20" in out and "M = 1.0000000000002‖a*‖²" in out


@pytest.mark.parametrize("x, digits, upper, text", [(1.0000000000001776, 3, True, "1.0000000000002"),
                                                    (0.99999, 3, True, "1"), (0.19951, 3, False, "0.1995"),
                                                    (0.19934, 3, False, "0.199"), (2.0, 3, True, "2"),
                                                    (-0.23845, 3, False, "-0.23845")])
def test_fmt_bound_is_directed(x, digits, upper, text):
    from resnet_cli.report import fmt_bound
    assert fmt_bound(x, digits, upper) == text
    narrow = fmt_bound(x, digits, upper, max_digits=digits)  # a table's: rounded outward instead
    assert len(narrow.lstrip("-").replace(".", "").lstrip("0")) <= digits
    assert (float(narrow) >= x) if upper else (float(narrow) <= x)
    assert (float(text) >= x) if upper else (float(text) <= x)


@pytest.mark.parametrize("argv, why", [(["--stage1-steps", "0"], "T1 below ⌈1/η_a⌉"),
                                       (["--noise", "3", "--trials", "2", "--steps", "300"], "perturbed gradients")])
def test_runs_outside_theorem1_are_said_to_be(cli, argv, why):
    """--stage1-steps 0 (the window starts at step 0, before the theorem's T1) printed 'held in 0 of 1', and
    perturbed GD was checked as if it were GD; both read as the theorem failing or holding."""
    out = " ".join(cli("train", "two-layer", *argv, "--quiet").stdout.split())
    assert f"outside its hypotheses ({why})" in out and "held in" not in out


def test_a_prior_wider_than_sixty_degrees_is_not_called_the_skip_layer_prior(cli):
    out = " ".join(cli("train", "two-layer", "--prior-angle", "90", "--steps", "300", "--quiet").stdout.split())
    assert "outside its hypotheses (no skip-layer prior)" in out
    assert "uniform on the cap ≤ 90° from e, wider than the skip-layer prior (≤ 60°)" in out
    assert "skip-layer prior (≤ 90°" not in out


def test_a_stage_without_records_shows_infinity_as_its_legend_says(cli):
    """--stage1-steps 0: stage I has no record, its c is ∞; the payload turned it into null, printed '—', while
    the legend explained '∞: no record'."""
    out = cli("train", "two-layer", "--stage1-steps", "0", "--steps", "300", "--detail", "--quiet").stdout
    row = next(line for line in out.splitlines() if line.strip().startswith("│     0") and "∞" in line)
    assert row.count("∞") == 2 and "∞: no record" in " ".join(out.split())


def test_a_wide_basin_map_keeps_every_column_and_row_label(cli, monkeypatch):
    """From --basin-a 37 the squeezed table dropped columns and cut the φ0 labels to '…'."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    out = cli("landscape", "two-layer", "--basin-a", "100", "--basin-phi", "3", "--steps", "30", "--detail",
              "--quiet").stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= WIDTH
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0] in ("0", "90", "180")
            and set(line.split()[-1]) <= set("GSUD")]
    assert len(rows) == 12 and sum(len(r[1]) for r in rows[:6:3]) == 100  # two blocks: 70 + 30 columns


def test_a_method_outside_theorem1_at_some_k_only_is_named_with_those_k(cli):
    """--stage1-steps 150: T1 = 110 at k = 2 (inside), 241 at k = 4 (outside); the sentence said resnet-ssw
    'held in 4 of 4' and, in the same line, listed it as not checked."""
    out = " ".join(cli("success-rate", "--k", "2,4", "--stage1-steps", "150", "--trials", "4", "--steps", "400",
                       "--quiet").stdout.split())
    assert "resnet-ssw held in 4 of 4" in out and "resnet-ssw at k = 4" in out


def test_fmt_bound_takes_numpy_floats():
    """Decimal(repr(np.float64)) failed: numpy 2 writes 'np.float64(…)'."""
    import numpy as np

    from resnet_cli.report import fmt_bound
    assert fmt_bound(np.float64(1 + 1e-13), 3, True, 4) == "1.001"
