"""Figures of `hessian`, `depth-sweep` and `train shortcut` (resnet_cli/plots/shortcut.py), from their artists:
legend entries visible, limits around the data, SLQ estimates hollow with interval bars and joined to nothing."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli.experiments import depth_sweep, hessian, train_shortcut
from resnet_cli.plots import shortcut as plots


@pytest.fixture(scope="module")
def sweep_payload():
    """Depths 2, 4, 8 with the exact limit at 300 parameters: plain networks are SLQ above depth 2 (one
    interval firm, others too wide), the 3-shortcut network has no point (n/a at every depth)."""
    cfg = depth_sweep.DepthSweepSettings(depth=[2, 4, 8], trials=2, exact_max_params=300, jobs=1)
    return depth_sweep.run(cfg).to_dict()


def test_cond_figure_legend_limits_and_approximate_points(sweep_payload, figures, checks):
    plots.depth_sweep(sweep_payload, "unused.png")
    ax = figures[0].axes[0]
    assert checks.legend_problems(ax) == []
    assert checks.limit_problems(ax) == []
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("no points" in t for t in labels) and not any(t.startswith("3-shortcut") for t in labels)
    assert any("3-shortcut" in t.get_text() for t in ax.texts)  # said beside the axes instead
    slq = [r for r in sweep_payload["rows"] if r.get("spectrum") == "slq"]
    assert slq and any("≈ SLQ" in t for t in labels)
    hollow = np.vstack(checks.hollow_points(ax))
    joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "none", "", " ")]
    for row in slq:  # each estimate (or, too wide, its lower bound) is hollow; no line passes through it
        y = row["cond10_lower"] if row["cond10_too_wide"] else row["mean"]
        near = np.isclose(hollow[:, 1], y, rtol=1e-9) & (np.abs(np.log(hollow[:, 0] / row["depth"])) < 0.2)
        assert near.any(), row
        for line in joined:
            x, yy = (np.asarray(v, float) for v in line.get_data())
            assert not np.any(np.isclose(yy, row["mean"], rtol=1e-9) & (np.abs(np.log(x / row["depth"])) < 0.2))


def test_cond_figure_equal_curves_stay_apart(sweep_payload, figures, checks):
    """At zero init the 2-shortcut curve equals Theorem 1's: both visible (the dashed line on top, markers
    below); networks at one depth are drawn side by side."""
    plots.depth_sweep(sweep_payload, "unused.png")
    ax = figures[0].axes[0]
    theory = [line for line in ax.get_lines() if line.get_label().endswith("Theorem 1")]
    assert theory and theory[0].get_linestyle() != "-" and theory[0].get_zorder() > 2
    xs = {line.get_label(): np.asarray(line.get_xdata(), float) for line in ax.get_lines()
          if line.get_label() in ("1-shortcut", "orthogonal")}
    if len(xs) == 2:
        assert not np.any(np.isclose(xs["1-shortcut"][:, None], xs["orthogonal"][None, :]))


@pytest.mark.parametrize("spectrum", ["exact", "slq"])
def test_hessian_figure_counts_linear_and_title_says_the_run(spectrum, figures, checks):
    cfg = hessian.HessianSettings(spectrum=spectrum, init="small", trials=2, jobs=1)
    payload = hessian.run(cfg).to_dict(arrays=True)
    plots.hessian(payload, "unused.png")
    ax = figures[0].axes[0]
    assert ax.get_yscale() == "linear"
    heights = [p.get_height() for p in ax.containers[0]]  # the measured histogram: counts on a linear axis
    assert sum(heights) == pytest.approx(payload["n_params"], rel=1e-9)
    title = ax.get_title()
    assert "init small" in title and "2 trials" in title and ("SLQ" in title) == (spectrum == "slq")
    assert checks.legend_problems(ax) == []
    assert checks.limit_problems(ax) == []
    if spectrum == "slq":
        assert any(t.get_text().startswith("≈") for t in ax.get_legend().get_texts())


def test_train_figure_slq_points_hollow_with_intervals(figures, checks):
    cfg = train_shortcut.TrainShortcutSettings(steps=40, hessian_every=20, spectrum="slq", lanczos_steps=20)
    payload = train_shortcut.run(cfg).to_dict()
    plots.train(payload, "unused.png")
    fig6, fig8 = figures[0].axes[1], figures[0].axes[2]
    for ax in (fig6, fig8):
        assert checks.legend_problems(ax) == []
        assert checks.limit_problems(ax) == []
        assert checks.hollow_points(ax) and all(t.get_text().startswith("≈") for t in ax.get_legend().get_texts())
        assert ax.containers  # error bars: the intervals


def test_checks_catch_the_old_defects(figures, checks):
    """The helpers see what they are meant to: an empty legend entry, a hidden line, a stretched axis."""
    lp, lim = checks.legend_problems, checks.limit_problems
    from resnet_cli.plots.common import pyplot

    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2], marker="o", label="under")
    ax.plot([1, 2], [1, 2], marker="o", label="over")
    ax.plot([], [], marker="o", label="no points")
    ax.set_ylim(0, 100)
    ax.legend()
    problems = lp(ax)
    plt.close(fig)
    assert any("'under'" in p and "hidden" in p for p in problems)
    assert any("'no points'" in p for p in problems)
    assert not any("'over'" in p for p in problems)
    assert any("far beyond" in p for p in lim(ax))
