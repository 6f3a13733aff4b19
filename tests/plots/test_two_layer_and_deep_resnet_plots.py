"""Figures of `landscape deep-resnet` (resnet_cli/plots/deep_resnet.py) and of `train two-layer`, `landscape
two-layer`, `success-rate` (resnet_cli/plots/two_layer.py), checked from their matplotlib artists: legend
entries visible and told apart, limits around the data, no symlog labels, no line joining measured k values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resnet_cli import api
from resnet_cli.experiments import deep_resnet, success_rate, two_layer
from resnet_cli.plots import deep_resnet as dr_plots
from resnet_cli.plots import two_layer as tl_plots


def _legend_styles(ax) -> list[tuple]:
    """(marker, line style, colour, face colour) of every legend handle."""
    legend = ax.get_legend()
    handles = getattr(legend, "legend_handles", None) or legend.legendHandles
    out = []
    for h in handles:
        if hasattr(h, "get_marker"):
            out.append((h.get_marker(), h.get_linestyle(), str(h.get_color()), str(h.get_markerfacecolor())))
        else:  # a scatter or patch handle
            face = np.round(np.asarray(h.get_facecolor(), float).ravel()[:4], 3)
            edge = np.round(np.asarray(h.get_edgecolor(), float).ravel()[:4], 3)
            out.append((type(h).__name__, tuple(face), tuple(edge), h.get_paths()[0].vertices.shape[0]
                        if hasattr(h, "get_paths") and h.get_paths() else 0))
    return out


def _no_overlapping_labels(ax, axis: str) -> bool:
    fig = ax.figure
    fig.canvas.draw()
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    boxes = [t.get_window_extent() for t in ticks if t.get_text() and t.get_visible()]
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.fixture(scope="module")
def example2_payload():
    cfg = deep_resnet.DeepResnetSettings(data="yun-example2", blocks=[2], trials=12, finder="newton", jobs=1)
    return api.run(cfg).to_dict()


@pytest.fixture(scope="module")
def depth_payload():
    cfg = deep_resnet.DeepResnetSettings(blocks=[1, 2], trials=6, finder="newton", compare="fc", init="near-identity",
                                         jobs=1)
    return api.run(cfg).to_dict()


def test_deep_resnet_points_by_label_each_drawn_side_by_side(example2_payload, figures, checks):
    dr_plots.landscape(example2_payload, "unused.png")
    left, right = figures[0].axes[:2]
    assert checks.legend_problems(left) == [] and checks.limit_problems(left) == []
    assert left.get_xscale() == "linear" and left.get_yscale() == "log"  # no symlog labels
    assert _no_overlapping_labels(left, "x") and _no_overlapping_labels(left, "y")
    drawn = np.vstack([c.get_offsets() for c in left.collections])
    shown = [p for p in example2_payload["points"] if p["converged"] or p["stationary"] == "gradient-flat"]
    assert len(drawn) == len(shown)  # every critical (or gradient-flat) point, none dropped
    px = left.transData.transform(drawn)
    d = np.linalg.norm(px[:, None] - px[None], axis=2) + np.eye(len(px)) * 1e9
    assert d.min() > 1.0  # no point drawn exactly on another
    # the legend sits below the axes and is small beside them
    fig = figures[0]
    fig.canvas.draw()
    leg, box = left.get_legend().get_window_extent(), left.get_window_extent()
    assert leg.y1 <= box.y0 + 1 and leg.height < 0.35 * box.height
    assert len(set(_legend_styles(left))) == len(_legend_styles(left))


def test_deep_resnet_per_block_merges_equal_curves(example2_payload, figures, checks):
    dr_plots.landscape(example2_payload, "unused.png")
    right = figures[0].axes[1]
    assert checks.legend_problems(right) == [] and checks.limit_problems(right) == []
    curves = {tuple(np.round(item["per_block_risk"], 9)) for item in example2_payload["per_block"]["lowest"]}
    assert len(right.get_legend().get_texts()) == len(curves)  # one entry per distinct curve, each visible


def test_deep_resnet_depth_panel_pairs_are_told_apart(depth_payload, figures, checks):
    dr_plots.landscape(depth_payload, "unused.png")
    left, right = figures[0].axes[:2]
    for ax in (left, right):
        assert checks.legend_problems(ax) == [] and checks.limit_problems(ax) == []
        styles = _legend_styles(ax)
        assert len(set(styles)) == len(styles), styles  # no two entries look alike
    xs = [np.asarray(line.get_xdata(), float) for line in right.get_lines()
          if line.get_label().endswith("not a strict saddle")]
    if len(xs) >= 2:  # networks at one depth stand side by side
        assert not np.any(np.isclose(xs[0][:, None], xs[1][None, :]))


def test_train_phi_axis_follows_the_curves(figures, checks):
    payload = api.run(two_layer.TrainSettings()).to_dict()
    tl_plots.train(payload, "unused.png")
    axes = figures[0].axes
    for ax in axes:
        assert checks.legend_problems(ax) == [] and checks.limit_problems(ax) == []
    phi = axes[1]
    top = float(np.nanmax(np.asarray(payload["trace"]["phi"], float)))
    lines = [line for line in phi.get_lines() if line.get_label().startswith("φ = π")]
    if top <= 0.6 * math.pi:  # the π line would stretch the axis: said in the title instead
        assert not lines and phi.get_ylim()[1] < 1.3 * top and "off the axis" in phi.get_title()
    else:
        assert lines and phi.get_ylim()[1] >= math.pi


def test_landscape_two_layer_legend_matches_the_map_and_ticks_are_starts(figures, checks):
    payload = api.run(two_layer.LandscapeSettings()).to_dict()
    tl_plots.landscape(payload, "unused.png")
    fig = figures[0]
    profile, twin, maps = fig.axes[0], fig.axes[-1], fig.axes[1:-1]
    # the profile's legend names lines of both y axes: each is drawn, with data inside its own axes
    legend = profile.get_legend()
    for handle in (getattr(legend, "legend_handles", None) or legend.legendHandles):
        own = [line for ax in (profile, twin) for line in ax.get_lines() if line.get_label() == handle.get_label()]
        assert own, handle.get_label()
        (x0, x1), (y0, y1) = own[0].axes.get_xlim(), own[0].axes.get_ylim()
        x, y = (np.asarray(v, float) for v in own[0].get_data())
        assert np.any((x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1)))
        assert own[0].get_linestyle() == handle.get_linestyle() and own[0].get_color() == handle.get_color()
    assert checks.limit_problems(twin) == []
    zero = [line for line in twin.get_lines() if "= 0" in line.get_label()] or \
        [line for line in profile.get_lines() if "= 0" in line.get_label()]
    assert zero and "right axis" in zero[0].get_label()
    handles = fig.legends[0].legend_handles if hasattr(fig.legends[0], "legend_handles") else fig.legends[0].legendHandles
    init = [h for h in handles if h.get_label().startswith("ResNet init")][0]
    phi0 = np.degrees(np.asarray(payload["basin"]["phi0"], float))
    for ax in maps:
        drawn = [line for line in ax.get_lines() if line.get_linestyle() == init.get_linestyle()]
        assert drawn and all(line.get_color() == init.get_color() and line.get_linewidth() == init.get_linewidth()
                             for line in drawn)
        ticks = ax.get_yticks()
        assert np.all(np.isclose(ticks[:, None], phi0[None, :]).any(axis=1))  # every tick is a start


def test_success_rate_points_are_not_joined(figures, checks):
    cfg = success_rate.SuccessSettings(k=[4, 16], trials=10, jobs=1)
    payload = api.run(cfg).to_dict()
    tl_plots.success_rate(payload, "unused.png")
    ax = figures[0].axes[0]
    assert checks.legend_problems(ax) == [] and checks.limit_problems(ax) == []
    data_lines = [line for line in ax.get_lines() if len(line.get_xdata()) == len(cfg.k)]
    assert data_lines and all(line.get_linestyle() in ("None", "none", "", " ") for line in data_lines)
    assert len(set(_legend_styles(ax))) == len(_legend_styles(ax))


def test_success_rate_with_one_k_keeps_the_points_by_their_tick(figures):
    """One k: the dodge of ±0.0125 was the whole axis, so the two methods sat at its two edges."""
    cfg = success_rate.SuccessSettings(k=[4], trials=5, stage2_steps=50, method=["resnet-ssw", "cnn-large-w"], jobs=1)
    tl_plots.success_rate(api.run(cfg).to_dict(), "unused.png")
    left, right = figures[0].axes[0].get_xlim()
    assert left <= 3.6 and right >= 4.4


def test_landscape_two_layer_with_stride_shows_the_sweep(figures, checks):
    """With --stride s < p the first panel is the followed spurious point's loss against s (every class in
    the legend drawn, s = p on the left) and the other panels are the profile and basin maps as before."""
    import json
    from pathlib import Path

    payload = json.loads((Path(__file__).resolve().parents[2] / "docs" / "data" / "stride-landscape-seed-1.json")
                         .read_text())
    tl_plots.landscape(payload, "unused.png")
    sweep_ax = figures[0].axes[0]
    assert checks.legend_problems(sweep_ax) == [] and checks.limit_problems(sweep_ax) == []
    labels = [t.get_text() for t in sweep_ax.get_legend().get_texts()]
    assert any("non-global local minimum" in x for x in labels) and any("global optimum" in x for x in labels)
    assert sweep_ax.get_xlim()[0] > sweep_ax.get_xlim()[1]  # inverted: s = 8 … 1 left to right
    strides = [int(x) for line in sweep_ax.get_lines() for x in line.get_xdata()]
    assert set(strides) == set(payload["stride_sweep"]["strides"])


def test_success_rate_cells_whose_stage_one_fills_the_run_are_hollow(figures, checks):
    """--steps 200 at k = 4 (T1 = 241): every method's rate 0 is of stage I alone; it was drawn as a measured 0
    like any other, with nothing in the figure saying so."""
    cfg = success_rate.SuccessSettings(k=[2, 4], trials=4, steps=200, jobs=1)
    tl_plots.success_rate(api.run(cfg).to_dict(), "unused.png")
    ax = figures[0].axes[0]
    assert checks.legend_problems(ax) == []
    hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white" and len(line.get_xdata())]
    assert len(hollow) == len(cfg.method) and all(np.allclose(line.get_xdata(), 4, atol=0.5) for line in hollow)
    assert any("stage I fills" in t.get_text() for t in ax.get_legend().get_texts())


def test_success_rate_figure_without_short_runs_has_no_hollow_entry(figures):
    cfg = success_rate.SuccessSettings(k=[2], trials=3, steps=400, jobs=1)
    tl_plots.success_rate(api.run(cfg).to_dict(), "unused.png")
    ax = figures[0].axes[0]
    assert not any("stage I fills" in t.get_text() for t in ax.get_legend().get_texts())
