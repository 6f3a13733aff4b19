"""Shared figure helpers: a lazily imported pyplot and an atomic save."""

from __future__ import annotations

from typing import Any

from resnet_cli.outputs import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend (imported on first use only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str) -> None:
    """Save a figure atomically (resnet_cli/outputs.py: temp file in the target's folder, then rename)."""
    plt = pyplot()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
