"""`make reproduce-success`: run the two Liu et al. 2019 success-rate presets and write their results, beside
the paper's claims, into the "Liu et al. 2019" section of docs/reproductions.md (other sections untouched).

Outputs: docs/data/liu2019-success*.json (full results), docs/figures/liu2019-success*.png.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resnet_cli.cli import run  # noqa: E402
from resnet_cli.report import write_marked_section  # noqa: E402

BEGIN, END = "<!-- liu2019:begin -->", "<!-- liu2019:end -->"
SEED = 0


def run_preset(name: str) -> tuple[dict, float, str]:
    out = ROOT / "docs" / "data" / f"{name}.json"
    png = ROOT / "docs" / "figures" / f"{name}.png"
    args = ["success-rate", "--config", name, "--seed", str(SEED), "--quiet", "--out", str(out), "--plot", str(png)]
    start = time.perf_counter()
    code = run(args)
    if code != 0:
        raise SystemExit(f"resnet-cli {' '.join(args)} failed with exit code {code}")
    command = "resnet-cli " + " ".join(a if "/" not in a else str(Path(a).relative_to(ROOT)) for a in args)
    return json.loads(out.read_text()), time.perf_counter() - start, command


def table(data: dict, axis: str) -> list[str]:
    methods = data["config"]["method"]
    lines = [f"| {axis} | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    groups: dict[int, dict[str, dict]] = {}
    for c in data["cells"]:
        groups.setdefault(c[axis], {})[c["method"]] = c
    for key, group in groups.items():
        cells = []
        for m in methods:
            c = group[m]
            cells.append(f"{c['rate']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}] ({c['global']}/{c['spurious']}/{c['undecided']}/{c['diverged']})")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    k_data, k_seconds, k_cmd = run_preset("liu2019-success")
    p_data, p_seconds, p_cmd = run_preset("liu2019-success-p")
    by = lambda data, m: [c for c in data["cells"] if c["method"] == m]  # noqa: E731
    cnn = [c["rate"] for c in by(k_data, "cnn-large-w")]
    res = [c["rate"] for c in by(k_data, "resnet-large-w")]
    ssw = [c["rate"] for c in by(k_data, "resnet-ssw")]
    phi0 = {m: by(p_data, m + "-large-w") for m in ("cnn", "resnet")}
    section = [
        BEGIN,
        "## Liu et al. 2019: success rates (`success-rate`)",
        "",
        f"Made by `make reproduce-success` on {time.strftime('%Y-%m-%d')}, seed {SEED}. Our numbers are the share of",
        "trials ending at the global optimum, with the 95% Wilson interval and the counts global/spurious/undecided/diverged.",
        "The paper's Table 1 constants (a* law, step counts, C, m, M) are not in the seeds; our choices are in",
        "`resnet_cli/presets/liu2019-success.toml` and docs/train.md. Exact population loss, no sampling noise.",
        "",
        "| claim (poster, reviews) | ours |",
        "|---|---|",
        f"| GD on the CNN is trapped with constant probability, 1/4 ~ 3/4 | CNN rate {min(cnn):.3f}–{max(cnn):.3f} over k = 4…100 (trapped {1 - max(cnn):.3f}–{1 - min(cnn):.3f}) |",
        f"| the shortcut (w0 = 0) improves the success rate | ResNet without warm-up {min(res):.3f}–{max(res):.3f} |",
        f"| step-size warm-up makes ResNet even better (Theorems 1–2: success w.p. 1) | ResNet + SSW {min(ssw):.3f}–{max(ssw):.3f} |",
        f"| without warm-up the rate is strictly between 0 and 1 (reviewer 2) | {min(res):.3f}–{max(res):.3f} |",
        "| the rate rises with p (reviewer 2, Table 1) | not reproduced: see the p table below |",
        "",
        f"### p = 8, varying k (`{k_cmd}`, {k_seconds:.0f} s)",
        "",
        *table(k_data, "k"),
        "",
        "![success rate against k](figures/liu2019-success.png)",
        "",
        f"### k = 16, varying p (`{p_cmd}`, {p_seconds:.0f} s)",
        "",
        *table(p_data, "p"),
        "",
        "**Why p barely matters here (the reviewer's question, answered with data).** With the exact population loss",
        "and normalization, the dynamics depend on v only through the angle φ to v* (v stays in the plane of v0 and",
        "v*), so p enters only through the law of the initial angle φ0. Median φ0 per p: CNN "
        + ", ".join(f"{c['phi0_median_deg']:.0f}°" for c in phi0["cnn"])
        + "; ResNet (v0 = e) "
        + ", ".join(f"{c['phi0_median_deg']:.0f}°" for c in phi0["resnet"])
        + ". The CNN's uniform v0 concentrates at 90° as p grows, but its trapping is decided mostly by the sign of",
        "a0ᵀa* (share negative: " + ", ".join(f"{c['share_a0_against']:.2f}" for c in phi0["cnn"]) + "), which does not depend on p, so",
        "its rate stays flat. Under the cap prior, angle(e, v*) concentrates at the cap's rim (60°) as p grows, so",
        "the ResNet without warm-up starts slightly farther from v* and its rate drifts *down*. A rise with p, as in",
        "Table 1, must come from what the population model leaves out (finite samples, SGD noise) or from constants",
        "we do not have.",
        "",
        "![success rate against p](figures/liu2019-success-p.png)",
        END,
    ]
    target = ROOT / "docs" / "reproductions.md"
    write_marked_section(target, "\n".join(section), BEGIN, END,
                         title="# Reproductions\n\nPaper's claims beside our numbers, with the command and seed that made ours.\n")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
