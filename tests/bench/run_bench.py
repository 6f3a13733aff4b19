"""`make bench`: speed ratios of our engine against the obvious peers, measured in one run.

Each `bench_*.py` module beside this file exposes `run(quick: bool) -> dict` with keys
`title` (section heading), `command` (how to re-run it), `rows` (list of flat dicts: the table) and
`notes` (list of strings). This script runs them all and writes docs/benchmarks.md. No timing is asserted
anywhere: the machine is 2 cores and noisy, so only ratios measured in the same run are reported.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import timing  # noqa: E402  (beside this file)

MODULES = ["bench_success", "bench_hessian", "bench_eigen", "bench_depth_sweep", "bench_deep_resnet", "bench_finder", "bench_sgd"]


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)"
    header: list[str] = []
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(k, "")) for k in header) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's model name, and whether it has AVX-512 where /proc/cpuinfo says (two "AMD EPYC" machines of
    this project differ by about 2x per core, with and without it)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "cpu"
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "cpu")
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), None)
    return model if flags is None else f"{model}, {'with' if 'avx512f' in flags else 'without'} AVX-512"


def machine_line() -> str:
    try:
        import numpy

        np_version = numpy.__version__
    except ImportError:  # pragma: no cover
        np_version = "?"
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    threads = ", ".join(f"{name}={os.environ.get(name, 'unset')}" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    return (
        f"{platform.machine()} ({cpu_model()}), {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np_version}, torch {torch_version}; {threads}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", help="markdown file to write (atomically)")
    parser.add_argument("--only", help="comma list of bench modules to run")
    parser.add_argument("--quick", action="store_true", help="smaller problems (a smoke run)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else MODULES
    sections = []
    for name in names:
        path = HERE / f"{name}.py"
        if not path.exists():
            print(f"[bench] {name}: not present, skipped", file=sys.stderr)
            continue
        start, load_before = time.perf_counter(), timing.load()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:  # one failing section must not cost the others their rows
            result = importlib.import_module(name).run(quick=args.quick)
        except Exception as error:  # noqa: BLE001 — reported in the page, the next section runs
            traceback.print_exc()
            result = {"title": f"{name}: FAILED", "command": f"python tests/bench/run_bench.py --only {name}",
                      "rows": [], "notes": [f"the section raised {type(error).__name__}: {error}"]}
        elapsed = time.perf_counter() - start
        result.setdefault("notes", []).append(f"load average (1 min) {load_before} before the section, "
                                              f"{timing.load()} after")
        print(markdown_table(result["rows"]), file=sys.stderr)
        sections.append((result, elapsed))
    text = [
        "# Benchmarks",
        "",
        "Made by `make bench` (`OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python tests/bench/run_bench.py --write docs/benchmarks.md`), on "
        f"{time.strftime('%Y-%m-%d')}: {machine_line()}.",
        "Every ratio compares two timings taken in the same run on the same work; the machine is shared "
        "and noisy, so read ratios, not absolute seconds. Nothing here is asserted by `make test`. Where a section "
        "says *interleaved*, its engines ran in the same rounds in rotated order and a ratio is the median of the "
        "per-round ratios (tests/bench/timing.py); CPU time of this process is shown beside wall time.",
        "",
        "The peer: in every table the row marked **PEER** is the headline comparison, the strongest reasonable "
        "peer we know of — the same algorithm written in torch (float64, CPU), batched the way our engine is "
        "(all trials / runs / rates / starts as one tensor), timed in the same process on one thread. Where the "
        "faster of two torch variants (hand-written gradients vs autograd, or two vectorized Hessian routes) is "
        "the peer, both rows are shown. Rows marked *floor* are the bare primitive (e.g. eigvalsh) that no "
        "route can beat; rows marked *reference* (per-trial or per-sample loops, finite differences) are shown "
        "for context only and flatter us. Each section's notes say what the peer computes and how far its "
        "results are from ours.",
        "",
    ]
    for result, elapsed in sections:
        text += [f"## {result['title']}", "", f"Command: `{result['command']}` (section ran in {elapsed:.1f} s)", ""]
        text += [markdown_table(result["rows"]), ""]
        for table in result.get("tables", []):  # further tables of the same section
            text += [markdown_table(table), ""]
        text += [f"- {note}" for note in result.get("notes", [])]
        text.append("")
    output = "\n".join(text)
    if args.write:
        sys.path.insert(0, str(HERE.parent.parent))
        from resnet_cli.report import write_atomic

        write_atomic(args.write, output)
        print(f"[bench] wrote {args.write}", file=sys.stderr)
    else:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
