"""`resnet-cli hessian` and `resnet-cli train shortcut`: outputs, Theorem 1 beside the measurement,
reproducibility, and one-line errors on bad input."""

import csv
import json

import numpy as np
import pytest



@pytest.fixture
def js(cli):
    def run(*args):
        r = cli(*args, "--json", "--quiet")
        assert r.code == 0, r.stderr
        return json.loads(r.stdout)

    return run


def write_idx(path, array):
    """An IDX file (the MNIST format): magic, dims, raw unsigned bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(rng, m=60):
    """Small MNIST-like images (m × 6×6 class templates plus noise) and labels."""
    labels = np.arange(m) % 10
    templates = rng.integers(0, 256, size=(10, 6, 6))
    images = np.clip(templates[labels] + rng.integers(0, 40, size=(m, 6, 6)), 0, 255)
    return images.astype(np.uint8), labels.astype(np.uint8)


# --- hessian ---------------------------------------------------------------------------------------------------


def test_hessian_default_is_two_shortcut_at_zero_with_theorem1(cli, js, one_line_error):
    r = cli("hessian", "--depth", "4", "--quiet")
    assert r.code == 0, r.stderr
    assert "Theorem 1" in r.stdout and "cond10" in r.stdout
    p = js("hessian", "--depth", "4", "--samples", "400")
    for key in ("n_params", "abs_max", "abs_p10", "cond10", "cond", "index"):
        assert key in p
    assert p["n_params"] == 400 and p["index"] == 0.5
    th = p["theory"]
    assert th["case"] == "n=2" and th["max_abs_deviation"] <= 1e-10
    assert th["predicted"]["cond10"] == pytest.approx(p["cond10"], rel=1e-10)


def test_hessian_ratios_beyond_float64_and_rounding_level_values_say_so(cli, js):
    """A deep Xavier plain network: a trial whose |λ|p10 is below 1e-12·|λ|max has cond10 only known to exceed
    1e12 (it printed "inf"), counted per trial as depth-sweep does; a statistic at rounding level in every trial
    is 0 without a "± std" of the rounding, and one that is not keeps its mean (it printed "0 ± 1e-10")."""
    args = ("hessian", "--init", "xavier", "--shortcut", "0", "--data", "gaussian", "--dim", "4", "--samples", "50",
            "--trials", "2")
    p = js(*args, "--depth", "32")
    cond10 = [e["stats"]["cond10"] for e in p["per_trial"]]
    beyond = sum(c in (float("inf"), "inf", "Infinity") for c in cond10)
    text = cli(*args, "--depth", "32", "--quiet").stdout
    row = next(line for line in text.splitlines() if "cond10 = " in line)
    assert 0 < beyond < 2 and f"> 1e12 ({beyond}/2)" in row and "inf" not in row
    assert "> 1e12 (k/N): in k of the N trials" in " ".join(text.split())
    p10 = next(line for line in text.splitlines() if "10th percentile" in line)
    assert p10.split()[-2] == "±" and float(p10.split()[-3]) > 0  # the mean as measured, with its std


def test_hessian_says_when_the_index_depends_on_where_zero_ends(cli, js, tmp_path):
    """A deep Xavier plain network has eigenvalues between 1e-12 and 1e-8 of |λ|max: the JSON gives the index at
    each tolerance (the first is the index itself), and the output says so in one sentence with those numbers;
    where they agree (the small init), no sentence."""
    args = ("hessian", "--init", "xavier", "--shortcut", "0", "--depth", "6", "--seed", "0")
    p = js(*args)
    by = p["index_by_tolerance"]
    assert by["1e-12"] == p["index"] and by["1e-12"] > by["1e-10"] >= by["1e-8"]
    text = " ".join(cli(*args).stdout.split())
    assert (f"counts λ < −1e-12·|λ|max as negative ({by['1e-12']:.3g}); with |λ| ≤ 1e-10·|λ|max as zero, "
            f"{by['1e-10']:.3g}; with |λ| ≤ 1e-8·|λ|max as zero, {by['1e-8']:.3g}") in text
    out = tmp_path / "h.csv"  # one column per tolerance, as each trial's JSON statistics give them
    assert cli(*args, "--trials", "2", "--out", str(out), "--quiet").code == 0
    two = js(*args, "--trials", "2")
    rows = list(csv.DictReader(out.open()))
    assert [float(r["index_by_tolerance_1e-10"]) for r in rows] == [
        e["stats"]["index_by_tolerance"]["1e-10"] for e in two["per_trial"]]
    quiet = js("hessian", "--init", "small", "--depth", "4", "--seed", "0")
    assert len(set(quiet["index_by_tolerance"].values())) == 1
    assert "counts λ < −1e-12" not in cli("hessian", "--init", "small", "--depth", "4", "--seed", "0").stdout


def test_train_shortcut_says_when_the_last_index_depends_on_where_zero_ends(cli, js):
    args = ("train", "shortcut", "--shortcut", "0", "--init", "orthogonal", "--depth", "8", "--steps", "300",
            "--hessian-every", "150", "--seed", "0")
    p = js(*args)
    first, last = p["hessian"][0], p["hessian"][-1]
    assert len(set(first["index_by_tolerance"].values())) == 1  # at the start the tolerances agree
    by = last["index_by_tolerance"]
    assert by["1e-12"] == last["index"] and by["1e-12"] > by["1e-10"] > by["1e-8"]  # after training they do not
    text = " ".join(cli(*args).stdout.split())
    assert (f"The index at the last Hessian (step 300) counts λ < −1e-12·|λ|max as negative ({by['1e-12']:.3g}); "
            f"with |λ| ≤ 1e-10·|λ|max as zero, {by['1e-10']:.3g}; with |λ| ≤ 1e-8·|λ|max as zero, "
            f"{by['1e-8']:.3g}") in text


def test_hessian_three_shortcut_zero_matrix_and_plain_has_no_theory(cli, js, one_line_error):
    p = js("hessian", "--shortcut", "3", "--depth", "6", "--samples", "300")
    assert p["zero_matrix"] and p["abs_max"] == 0 and p["cond10"] is None
    assert p["theory"]["case"] == "n>=3" and p["theory"]["max_abs_deviation"] == 0
    r = cli("hessian", "--shortcut", "3", "--depth", "3", "--samples", "300", "--quiet")
    assert "undefined (H = 0)" in r.stdout and "exactly zero" in r.stdout and "Matches Theorem 1 exactly" in r.stdout
    # SLQ: Hv = 0 on the probes is H = 0 only at 95 % from enough probes; never "exactly" (a probe bounds from below)
    for probes, certified in (("1", False), ("5", True)):
        r = cli("hessian", "--shortcut", "3", "--depth", "3", "--samples", "300", "--spectrum", "slq",
                "--lanczos-probes", probes, "--quiet")
        text = " ".join(r.stdout.split())
        assert r.code == 0 and "exactly" not in text and "on every random probe: deviation 0 there" in text
        assert ("at 95 % confidence" in text and "[0, 0]" in text) if certified else (
            "too few to certify H = 0" in text and "undefined (Hv = 0)" in text and "[0, 0]" not in text)
    p = js("hessian", "--shortcut", "0", "--depth", "3", "--samples", "300")
    assert p["theory"] is None and p["n_params"] == 300


def test_hessian_one_shortcut_tanh_theorem_and_plain_unit(tmp_path, cli, js, one_line_error):
    p = js("hessian", "--shortcut", "1", "--depth", "2", "--act-pre", "tanh", "--act-post", "tanh",
           "--samples", "300")
    assert p["theory"]["case"] == "n=1" and p["theory"]["max_abs_deviation"] <= 1e-10
    p = js("hessian", "--shortcut", "0", "--depth", "4", "--act-mid", "relu", "--plain-unit", "2",
           "--init", "xavier", "--samples", "200")
    assert p["network"]["units"] == 2 and p["network"]["unit_layers"] == 2 and p["theory"] is None


def test_hessian_runs_seed_reproducible_and_outputs(tmp_path, cli, js, one_line_error):
    args = ("hessian", "--depth", "2", "--init", "xavier", "--trials", "2", "--samples", "300", "--seed", "5")
    a = cli(*args, "--json", "--quiet")
    b = cli(*args, "--json", "--quiet")
    assert a.code == 0 and a.stdout == b.stdout
    c = cli(*args[:-1], "6", "--json", "--quiet")
    assert c.stdout != a.stdout
    p = json.loads(a.stdout)
    assert p["trials"] == 2 and len(p["per_trial"]) == 2 and p["std"]["abs_max"] > 0
    eig = tmp_path / "eig.csv"
    out_json, out_csv, fig = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "h.png"
    r = cli(*args, "--eigenvalues", str(eig), "--out", str(out_json), "--plot", str(fig), "--quiet")
    assert r.code == 0, r.stderr
    rows = list(csv.DictReader(eig.open()))
    assert len(rows) == 2 * 200 and {row["trial"] for row in rows} == {"0", "1"}
    values = np.array([float(row["eigenvalue"]) for row in rows if row["trial"] == "0"])
    assert np.abs(values).max() == pytest.approx(p["per_trial"][0]["stats"]["abs_max"])
    assert json.loads(out_json.read_text())["n_params"] == 200
    assert fig.stat().st_size > 1000
    assert cli(*args, "--out", str(out_csv), "--quiet").code == 0
    assert list(csv.DictReader(out_csv.open()))[1]["trial"] == "1"


def test_hessian_slq_close_to_exact(tmp_path, cli, js, one_line_error):
    exact = js("hessian", "--shortcut", "1", "--depth", "4", "--samples", "500")
    approx = js("hessian", "--shortcut", "1", "--depth", "4", "--samples", "500", "--spectrum", "slq",
                "--lanczos-steps", "40", "--lanczos-probes", "4")
    assert approx["approximate"] and not exact["approximate"]
    assert approx["abs_max"] == pytest.approx(exact["abs_max"], rel=1e-6)
    assert approx["index"] == pytest.approx(exact["index"], abs=0.1)
    assert approx["theory"]["deviation_kind"] == "probe vectors"
    assert approx["theory"]["max_abs_deviation"] <= 1e-10
    eig = tmp_path / "nodes.csv"
    assert cli("hessian", "--depth", "4", "--spectrum", "slq", "--lanczos-probes", "2", "--lanczos-steps", "10",
                   "--eigenvalues", str(eig), "--quiet").code == 0
    assert "weight" in eig.read_text().splitlines()[0]


def test_hessian_trained_and_divergence(cli, js, one_line_error):
    p = js("hessian", "--depth", "4", "--init", "small", "--at", "trained", "--steps", "30", "--lr", "0.5",
           "--samples", "300")
    assert p["theory"] is None and p["per_trial"][0]["loss"] < 1.0
    p = js("hessian", "--depth", "4", "--init", "small", "--at", "trained", "--steps", "30", "--lr", "1000",
           "--samples", "300")
    assert p["diverged_trials"] == 1 and p["per_trial"][0]["diverged"] and p["abs_max"] is None
    r = cli("hessian", "--depth", "4", "--init", "small", "--at", "trained", "--steps", "30", "--lr", "1000",
            "--samples", "300", "--trials", "3", "--quiet")
    assert r.code == 0 and "3 of 3 trials diverged during training (no statistics)." in r.stdout  # was "3 of 0"


def test_hessian_gaussian_mnist_and_config(tmp_path, cli, js, one_line_error):
    p = js("hessian", "--data", "gaussian", "--samples", "50", "--dim", "3", "--depth", "2", "--act-mid", "tanh")
    assert p["n_params"] == 18 and p["data"]["dim"] == 3 and p["theory"]["max_abs_deviation"] <= 1e-10
    images, labels = fake_mnist(np.random.default_rng(0))
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    p = js("hessian", "--data", f"mnist:{tmp_path}", "--depth", "2")
    assert p["data"]["name"] == "mnist" and p["data"]["samples"] == 60
    cfg = tmp_path / "h.toml"
    cfg.write_text('[hessian]\nshortcut = 1\ndepth = 2\nsamples = 200\n')
    p = js("hessian", "--config", str(cfg))
    assert p["network"]["shortcut"] == 1 and p["n_params"] == 200
    p = js("hessian", "--config", str(cfg), "--depth", "3")
    assert p["n_params"] == 300


@pytest.mark.parametrize(
    "args",
    [
        ("--shortcut", "-1"),
        ("--depth", "0"),
        ("--depth", "5"),
        ("--shortcut", "0", "--depth", "3", "--act-mid", "relu"),
        ("--init", "he"),
        ("--act-pre", "sigmoid"),
        ("--act-mid", "gelu"),
        ("--act-post", "x"),
        ("--data", "cifar"),
        ("--data", "mnist:/no/such/file.npz"),
        ("--data", "digits", "--dim", "4"),
        ("--samples", "0"),
        ("--trials", "0"),
        ("--at", "later"),
        ("--at", "trained", "--lr", "-1"),
        ("--steps", "-3"),
        ("--spectrum", "power"),
        ("--spectrum", "slq", "--lanczos-steps", "0"),
        ("--spectrum", "slq", "--lanczos-probes", "0"),
        ("--depth", "1024", "--init", "small"),  # 102,400 parameters, dense: too large for exact
        ("--plain-unit", "0"),
        ("--eigenvalues", "e.txt"),
        ("--eigenvalues", "/no/such/folder/e.csv"),
        ("--out", "r.txt"),
        ("--plot", "p.jpg"),
        ("--depth", "x"),
        ("--bogus",),
    ],
)
def test_hessian_bad_input_one_line(args, cli, js, one_line_error):
    one_line_error(cli("hessian", *args, "--quiet"))


def test_hessian_bad_files_one_line(tmp_path, cli, js, one_line_error):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    one_line_error(cli("hessian", "--data", f"mnist:{bad}", "--quiet"))
    cfg = tmp_path / "c.toml"
    for text in ("[hessian]\nshortcutz = 2\n", "[hessian]\nsamples = \"abc\"\n", "[hessian]\ndim = 2.5\n",
                 "[hessian]\neigenvalues = 3\n", "[hessian]\ndepth = \"x\"\n", "[hessian]\nplot = 1\n"):
        cfg.write_text(text)
        one_line_error(cli("hessian", "--config", str(cfg), "--quiet"))
    cfg.write_text("[train-shortcut]\nsteps = 0\n")
    one_line_error(cli("train", "shortcut", "--config", str(cfg), "--quiet"))


# --- train shortcut ------------------------------------------------------------------------------------------------


def test_train_shortcut_trace_and_hessian_every(tmp_path, cli, js, one_line_error):
    p = js("train", "shortcut", "--depth", "4", "--steps", "30", "--lr", "0.5", "--hessian-every", "10",
           "--samples", "400", "--trace-every", "5")
    assert [h["step"] for h in p["hessian"]] == [0, 10, 20, 30]
    assert [row["step"] for row in p["trace"]] == [0, 5, 10, 15, 20, 25, 30]
    assert len(p["curve"]["loss"]) == 31
    gaps = np.array(p["curve"]["loss_gap"])
    np.testing.assert_allclose(np.array(p["curve"]["loss"]) - p["l_min"], gaps, atol=1e-12)
    assert gaps[-1] < gaps[0] and np.all(gaps >= 0)
    assert p["final_loss_gap"] == pytest.approx(gaps[-1]) and not p["diverged"]
    assert p["hessian"][0]["index"] == pytest.approx(0.5, abs=0.05)  # near the zero saddle
    fig, out = tmp_path / "t.png", tmp_path / "t.csv"
    r = cli("train", "shortcut", "--depth", "4", "--steps", "20", "--hessian-every", "10", "--samples", "300",
                "--plot", str(fig), "--out", str(out), "--quiet")
    assert r.code == 0 and fig.stat().st_size > 1000
    assert list(csv.DictReader(out.open()))[0]["step"] == "0"
    assert "L − L_min" in r.stdout


def test_train_shortcut_divergence_is_a_result(cli, js, one_line_error):
    r = cli("train", "shortcut", "--depth", "4", "--lr", "100", "--steps", "50", "--samples", "300", "--quiet")
    assert r.code == 0 and "diverged at step" in r.stdout
    p = js("train", "shortcut", "--depth", "4", "--lr", "100", "--steps", "50", "--samples", "300")
    assert p["diverged"] and p["diverged_step"] >= 1 and np.isfinite(p["final_loss"])


def test_train_shortcut_nonlinear_slq_and_reproducible(cli, js, one_line_error):
    args = ("train", "shortcut", "--shortcut", "2", "--depth", "4", "--act-mid", "relu", "--init", "xavier",
            "--steps", "10", "--lr", "0.05", "--samples", "200", "--hessian-every", "5", "--spectrum", "slq",
            "--lanczos-steps", "20", "--lanczos-probes", "2", "--seed", "3")
    a, b = js(*args), js(*args)
    assert a == b
    assert all(h["approximate"] for h in a["hessian"])
    assert a["curve"]["loss"][-1] < a["curve"]["loss"][0]


@pytest.mark.parametrize(
    "args",
    [("--steps", "0"), ("--lr", "0"), ("--lr", "nan"), ("--hessian-every", "-1"), ("--trace-every", "0"),
     ("--init", "ones"), ("--shortcut", "2", "--depth", "3"), ("--spectrum", "x", "--hessian-every", "5"),
     ("--data", "gaussian", "--dim", "0")],
)
def test_train_shortcut_bad_input_one_line(args, cli, js, one_line_error):
    one_line_error(cli("train", "shortcut", *args, "--quiet"))


def test_preset_li2017_fig6_keys_are_valid(cli, js, one_line_error):
    p = js("train", "shortcut", "--config", "li2017-fig6", "--steps", "4", "--depth", "2", "--samples", "200")
    assert p["config"]["hessian_every"] == 50 and p["config"]["init"] == "small" and p["config"]["lr"] == 0.1
    assert [h["step"] for h in p["hessian"]] == [0, 4]


def test_trained_zero_init_of_a_deep_shortcut_is_refused(cli, one_line_error):
    """Zero is a stationary point for n ≥ 2 (Theorem 1): `--at trained` from it would be the initial point."""
    line = one_line_error(cli("hessian", "--at", "trained", "--init", "zero", "--shortcut", "2", "--depth", "4",
                              "--quiet"))
    assert "--at trained" in line and "--init zero" in line and "--shortcut 2" in line
    assert cli("hessian", "--at", "trained", "--init", "zero", "--shortcut", "1", "--depth", "2", "--steps", "2",
               "--samples", "100", "--quiet").code == 0


def test_old_spellings_still_work_with_a_notice(cli):
    new = cli("hessian", "--depth", "2", "--trials", "2", "--init", "xavier", "--samples", "100", "--json", "--quiet")
    old = cli("hessian", "--depth", "2", "--runs", "2", "--init", "xavier", "--samples", "100", "--json", "--quiet")
    assert old.code == 0 and old.stdout == new.stdout
    assert "--runs is deprecated" in old.stderr and "use --trials" in old.stderr
    r = cli("train", "shortcut", "--depth", "2", "--epochs", "3", "--log-every", "1", "--samples", "100", "--quiet")
    assert r.code == 0 and "use --steps" in r.stderr and "use --trace-every" in r.stderr


HESSIAN_CELL_RUNS = {
    "exact": ["--trials", "3", "--init", "xavier", "--depth", "4"],
    "exact-zero": ["--trials", "2", "--depth", "4"],
    "slq-zero": ["--spectrum", "slq", "--trials", "3", "--depth", "4", "--lanczos-steps", "20", "--lanczos-probes", "3"],
    "slq-trained": ["--spectrum", "slq", "--trials", "2", "--at", "trained", "--init", "small", "--steps", "10",
                    "--act-mid", "relu", "--samples", "200", "--lanczos-steps", "20", "--lanczos-probes", "3"],
}


@pytest.mark.parametrize("name", list(HESSIAN_CELL_RUNS))
def test_hessian_jobs_1_and_2_give_identical_json(tmp_path, cli, name):
    """Each trial's Hessian is a cell (`executor.run_cells`): the parent draws weights, trains and draws every
    SLQ probe, so --jobs 1, --jobs 2 and a cached re-run give byte-identical JSON and eigenvalue files."""
    outputs = []
    for tag, extra in (("one", ["--jobs", "1"]), ("two", ["--jobs", "2"]), ("cached", ["--cache", str(tmp_path / "c")]),
                       ("again", ["--cache", str(tmp_path / "c"), "--jobs", "2"])):
        eig = tmp_path / f"{tag}.csv"
        r = cli("hessian", *HESSIAN_CELL_RUNS[name], *extra, "--eigenvalues", str(eig), "--json", "--quiet")
        assert r.code == 0, r.stderr
        outputs.append((r.stdout, eig.read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
    config = json.loads(outputs[0][0])["config"]
    assert not {"jobs", "dask", "cache"} & set(config)


def test_hessian_inertia_plot_draws_the_brackets(cli, tmp_path):
    """`--spectrum inertia --plot` ended in "internal error: KeyError: 'nodes'" (counts have no eigenvalues)."""
    for extra in ([], ["--shortcut", "0", "--init", "xavier"]):
        png = tmp_path / f"i{len(extra)}.png"
        r = cli("hessian", "--spectrum", "inertia", "--plot", str(png), "--quiet", *extra)
        assert r.code == 0, r.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_a_zero_hessian_under_slq_reads_zero_not_no_bound(cli):
    """Theorem 1, n = 3: H = 0. SLQ's probes all give Hv = 0; the table said "no bound (SLQ)" beside it."""
    out = cli("hessian", "--shortcut", "3", "--depth", "6", "--spectrum", "slq", "--lanczos-probes", "5").stdout
    assert "no bound" not in out and out.count("[0, 0]") == 5 and "at 95 % confidence" in " ".join(out.split())
    # two trials: each must hold at 97.5 %, and 2^-5 = 3.1 % is not below 2.5 % (the claim ignored the trials)
    two = cli("hessian", "--shortcut", "3", "--depth", "6", "--spectrum", "slq", "--lanczos-probes", "5",
              "--trials", "2").stdout
    assert "[0, 0]" not in two and "no bound" not in two and "too few to certify" in " ".join(two.split())


def test_ratios_are_not_read_at_the_rounding_level_of_the_largest_eigenvalue():
    """λ values below 1e-12 × |λ|max show as 0 (eigvalsh's rounding); cond10, cond and the index are ratios."""
    from resnet_cli.render.shortcut import _stat_cells

    p = {"theory": None, "std": {}, "trials": 1, "abs_max": 3e12, "spectrum": "exact", "zero_matrix": False,
         "config": {}, "cond10": 1.5, "cond": 2.5, "index": 0.5, "lambda_min": 1.0}
    assert [_stat_cells(p, key, None)[0] for key in ("cond10", "cond", "index", "lambda_min")] == ["1.5", "2.5", "0.5",
                                                                                                    "0"]


@pytest.mark.parametrize("network", [("--shortcut", "0"), ("--shortcut", "1", "--act-post", "relu")])
def test_trained_from_a_stationary_start_is_refused(network, cli, one_line_error):
    """w = 0 is stationary for a plain network of depth ≥ 2 and for n = 1 with ReLU after the sum (ReLU'(0) = 0),
    not only for n ≥ 2: "after 100 GD steps" would be the start itself. n = 1 without ReLU moves from 0."""
    args = ("hessian", "--data", "gaussian", "--samples", "20", "--dim", "2", "--depth", "2", "--init", "zero",
            "--at", "trained", "--steps", "100", "--quiet")
    assert "gradient at the start is exactly 0" in one_line_error(cli(*args, *network))
    assert cli(*args, "--shortcut", "1").code == 0


def test_the_large_theorem1_entry_check_skips_only_blocks_known_equal(monkeypatch):
    """Above ENTRY_CHECK_MAX_PARAMS the check compares the first and the last unit's columns, which covers every
    unit only where the blocks are one and the same; a middle block that differs is still compared."""
    import numpy as np

    from resnet_cli import eigen
    from resnet_cli.experiments import hessian as eh

    monkeypatch.setattr(eh, "ENTRY_CHECK_MAX_PARAMS", 4)
    block = np.array([[2.0, 1.0], [1.0, 3.0]])

    class Prediction:  # H_pred = diag(block, block, block)
        @staticmethod
        def matvec(E):
            return E @ np.kron(np.eye(3), block)

    indices = [np.arange(2 * u, 2 * u + 2) for u in range(3)]
    assert eh._entry_deviation(eigen.BlockMatrix(6, indices, [block] * 3), Prediction) == 0.0
    middle = block + np.array([[0.0, 0.5], [0.5, 0.0]])
    assert eh._entry_deviation(eigen.BlockMatrix(6, indices, [block, middle, block.copy()]), Prediction) == 0.5


def test_an_eigenvalue_file_of_diverged_runs_still_names_its_columns(cli, tmp_path):
    """Every run diverged (--lr 1e300), so no spectrum: the file held one empty line."""
    out = tmp_path / "h.csv"
    r = cli("hessian", "--at", "trained", "--init", "xavier", "--lr", "1e300", "--eigenvalues", str(out), "--quiet")
    assert r.code == 0 and out.read_text() == "trial,rank,eigenvalue\n"
