"""Shared checks of figures from their matplotlib artists (docs/architecture.md, "a figure").

`figures` captures every figure a plot function would save (no file is written); `legend_problems(ax)`,
`limit_problems(ax)` and `hollow_points(ax)` read what can be checked from the artists: every legend entry
has a visible artist (points inside the axes, not all covered by another artist drawn above it); the axis
limits enclose the data and not far beyond; approximate points are hollow markers.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions of resnet_cli.plots would save, kept open for inspection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import resnet_cli.plots.common as common

    kept = []
    monkeypatch.setattr(common, "save_figure", lambda fig, path: kept.append(fig))
    for module in ("shortcut", "two_layer", "deep_resnet"):
        try:
            mod = __import__(f"resnet_cli.plots.{module}", fromlist=["save_figure"])
        except ImportError:
            continue
        if hasattr(mod, "save_figure"):
            monkeypatch.setattr(mod, "save_figure", lambda fig, path: kept.append(fig))
    yield kept
    for fig in kept:
        plt.close(fig)


def _points(artist) -> np.ndarray:
    """Data points (k, 2) of a Line2D, a collection or a bar container; empty when it has none."""
    from matplotlib.collections import Collection
    from matplotlib.container import Container
    from matplotlib.lines import Line2D

    if isinstance(artist, Line2D):
        x, y = artist.get_data()
        return np.column_stack([np.asarray(x, float), np.asarray(y, float)]) if len(x) else np.empty((0, 2))
    if isinstance(artist, Container):
        parts = [_points(a) for a in artist.get_children() if a is not None]
        rects = [np.array([[p.get_x() + p.get_width() / 2, p.get_height()]]) for p in artist.get_children()
                 if hasattr(p, "get_height") and hasattr(p, "get_x")]
        parts = [p for p in parts + rects if len(p)]
        return np.vstack(parts) if parts else np.empty((0, 2))
    if isinstance(artist, Collection):
        offsets = np.asarray(artist.get_offsets(), float)
        if len(offsets) and np.any(offsets):
            return offsets
        paths = [p.vertices for p in artist.get_paths() if len(p.vertices)]
        return np.vstack(paths) if paths else np.empty((0, 2))
    if hasattr(artist, "get_xy"):
        return np.atleast_2d(np.asarray(artist.get_xy(), float))
    return np.empty((0, 2))


def labelled_artists(ax) -> dict[str, list]:
    """Legend label → the artists of the axes with that label (lines, collections, patches, containers)."""
    out: dict[str, list] = {}
    from matplotlib.collections import Collection
    from matplotlib.container import Container
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    for artist in [*ax.get_children(), *ax.containers]:
        if not isinstance(artist, (Line2D, Collection, Patch, Container)):
            continue
        label = artist.get_label()
        if isinstance(label, str) and label and not label.startswith("_"):
            parts = [c for c in artist.get_children() if c is not None] if isinstance(artist, Container) else [artist]
            out.setdefault(label, []).extend(parts)
    return out


def _inside(ax, pts: np.ndarray) -> np.ndarray:
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    finite = np.all(np.isfinite(pts), axis=1)
    return finite & (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)


def _display(ax, pts: np.ndarray) -> np.ndarray:
    return ax.transData.transform(pts) if len(pts) else pts


def _style(artist) -> tuple:
    from matplotlib.lines import Line2D

    if isinstance(artist, Line2D):
        return artist.get_marker(), artist.get_linestyle()
    return None, None


def legend_problems(ax) -> list[str]:
    """Legend entries without a visible artist: no artist of that label (a proxy handle must then match an
    artist by marker and fill), no point inside the axes, or every point under an artist drawn above it with
    the same kind of mark (a line under a dashed line with no markers still shows its markers)."""
    from matplotlib.lines import Line2D

    legend = ax.get_legend()
    if legend is None:
        return []
    by_label = labelled_artists(ax)
    lines = [a for a in ax.get_lines() if len(_points(a))]
    problems = []
    handles = getattr(legend, "legend_handles", None) or legend.legendHandles
    for handle, text in zip(handles, legend.get_texts()):
        label = text.get_text()
        artists = by_label.get(label, [])
        if not artists and isinstance(handle, Line2D):  # a proxy entry: some drawn line with its marker and fill
            artists = [a for a in lines if a.get_marker() == handle.get_marker()
                       and a.get_markerfacecolor() == handle.get_markerfacecolor()]
        if not artists:
            problems.append(f"{label!r}: no artist drawn")
            continue
        pts = np.vstack([_points(a) for a in artists])
        inside = pts[_inside(ax, pts)] if len(pts) else pts
        if not len(inside):
            problems.append(f"{label!r}: no point inside the axes")
            continue
        own = _display(ax, inside)
        mine = [a for a in artists if isinstance(a, Line2D)] or artists
        marker = _style(mine[0])[0]
        order = {id(a): i for i, a in enumerate(ax.get_lines())}
        top = max((x.get_zorder(), order.get(id(x), -1)) for x in mine)
        above = [a for a in lines if a not in artists and (a.get_zorder(), order[id(a)]) > top
                 and _style(a)[0] == marker and a.get_linestyle() in ("-", "None")]
        covered = np.zeros(len(own), bool)
        for a in above:
            theirs = _display(ax, _points(a))
            if len(theirs):
                d = np.linalg.norm(own[:, None, :] - theirs[None, :, :], axis=2).min(1)
                covered |= d < 2.0
        if covered.all():
            problems.append(f"{label!r}: hidden under another artist")
    return problems


def limit_problems(ax, factor: float = 10.0) -> list[str]:
    """Data (every line, collection and bar of the axes) outside the axis limits, or limits reaching beyond
    the data by more than `factor` of its extent (log axis: by more than a factor `factor`)."""
    pts = [_points(a) for a in [*ax.get_lines(), *ax.collections, *ax.containers]]
    pts = [p for p in pts if len(p)]
    if not pts:
        return ["no data"]
    pts = np.vstack(pts)
    problems = []
    for i, (lim, scale) in enumerate(((ax.get_xlim(), ax.get_xscale()), (ax.get_ylim(), ax.get_yscale()))):
        v = pts[:, i][np.isfinite(pts[:, i])]
        if scale == "log":
            v = v[v > 0]
        if not len(v):
            continue
        lo, hi = sorted(lim)
        if v.min() < lo - 1e-9 * abs(lo) or v.max() > hi + 1e-9 * abs(hi):
            problems.append(f"axis {'xy'[i]}: data [{v.min():g}, {v.max():g}] outside limits [{lo:g}, {hi:g}]")
        if scale == "log":
            far = lo < v.min() / factor or hi > v.max() * factor
        else:
            span = max(v.max() - v.min(), abs(v.max()) * 1e-3, 1e-12)
            far = lo < v.min() - factor * span or hi > v.max() + factor * span
        if far:
            problems.append(f"axis {'xy'[i]}: limits [{lo:g}, {hi:g}] far beyond the data [{v.min():g}, {v.max():g}]")
    return problems


def hollow_points(ax) -> list[np.ndarray]:
    """Points of the axes drawn as hollow markers (white face, no joining line): approximate values."""
    out = []
    for line in ax.get_lines():
        if line.get_marker() not in (None, "None", "", " ") and line.get_linestyle() in ("None", "none", "", " ") \
                and line.get_markerfacecolor() in ("white", "w", (1.0, 1.0, 1.0, 1.0)):
            pts = _points(line)
            if len(pts):
                out.append(pts)
    return out


@pytest.fixture
def checks():
    """The checks above as one fixture (test modules may not import conftest): checks.legend_problems(ax),
    checks.limit_problems(ax), checks.hollow_points(ax)."""
    from types import SimpleNamespace

    return SimpleNamespace(legend_problems=legend_problems, limit_problems=limit_problems, hollow_points=hollow_points)
