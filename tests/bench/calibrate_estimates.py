"""Calibrate the cost model (resnet_cli/budget.py): run every README tour command and every preset, record
the estimate the command announces against the time it takes, and write the table into docs/estimates.md.

Not part of `make test` (it runs for many minutes). Each case runs in its own process,
`python -c WRAPPER <argv>`: the wrapper records the `Cost` the command's settings give (the same object
`commands/shell.announce_cost` turns into the long-run notice) in a JSON file and then runs the command as
`resnet-cli` would. The child's CPU time (user + system, its worker processes included: `os.wait4`) is the
measurement; wall time is shown beside it. The machine is shared, so the ratio is taken on CPU time:
estimate CPU seconds ÷ measured CPU seconds (an estimate's wall time is its CPU time ÷ the processes).

A case may be measured on a prefix (`prefix`: options that shorten it, e.g. fewer steps) twice, at n and
2n units, when the full run is long: the work is linear in that size (the same step repeated), so the
full time is t(n) + (t(2n) − t(n)) · (N − n) / n; the table says so in that row.

    .venv/bin/python tests/bench/calibrate_estimates.py [--only NAME] [--write docs/estimates.md]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: One BLAS thread, as in `make bench` and in every executor cell: on a shared, loaded machine a
#: multi-threaded eigvalsh spins for 10-20× the CPU time of a single-threaded one, which measures the load,
#: not the work. On an idle machine two BLAS threads only shorten the wall time.
PINNED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

WRAPPER = r"""
import json, os, sys
from resnet_cli import api, budget
from resnet_cli.commands import shell

def _record(settings, quiet, plot=False):
    c = api.command_cost(settings)
    if c is not None:
        with open(os.environ["CALIBRATE_ESTIMATE"], "w") as fh:
            json.dump({"cpu": budget.cpu_seconds(c, plot=plot), "wall": budget.wall_seconds(c, plot=plot),
                       "workers": c.workers, "work": c.seconds}, fh)
    return _original(settings, quiet, plot)

_original = shell.announce_cost
shell.announce_cost = _record
from resnet_cli.cli import run
sys.exit(run(sys.argv[1:]))
"""


@dataclass
class Case:
    name: str
    argv: list[str]
    source: str  # "README" or "preset NAME"
    prefix: list[str] = field(default_factory=list)  # options giving n units (then doubled: see `double`)
    double: list[str] = field(default_factory=list)  # the same options at 2n units
    full_units: float = 0.0  # N: the full run's units
    prefix_units: float = 0.0  # n


def tour_cases(tmp: str) -> list[Case]:
    def plot(name: str) -> str:
        return os.path.join(tmp, name)

    return [
        Case("train two-layer", ["train", "two-layer"], "README"),
        Case("train two-layer --student cnn --schedule large-w --seed 7",
             ["train", "two-layer", "--student", "cnn", "--schedule", "large-w", "--seed", "7"], "README"),
        Case("train two-layer --trials 200 --k 16 --json",
             ["train", "two-layer", "--trials", "200", "--k", "16", "--json"], "README"),
        Case("train two-layer --k 16 --samples 1024 --batch 8 --trials 20",
             ["train", "two-layer", "--k", "16", "--samples", "1024", "--batch", "8", "--trials", "20"], "README"),
        Case("landscape two-layer --seed 1 --plot landscape.png",
             ["landscape", "two-layer", "--seed", "1", "--plot", plot("landscape.png")], "README"),
        Case("success-rate --k 4,16 --trials 500 --plot rates.png",
             ["success-rate", "--k", "4,16", "--trials", "500", "--plot", plot("rates.png")], "README"),
        Case("hessian --shortcut 2 --depth 16 --init zero",
             ["hessian", "--shortcut", "2", "--depth", "16", "--init", "zero"], "README"),
        Case("train shortcut --config li2017-fig6", ["train", "shortcut", "--config", "li2017-fig6"],
             "README, preset li2017-fig6"),
        Case("depth-sweep --depth 2:64:x2 --trials 5 --plot cond.png",
             ["depth-sweep", "--depth", "2:64:x2", "--trials", "5", "--plot", plot("cond.png")], "README"),
        Case("landscape deep-resnet --config yun2019-example1",
             ["landscape", "deep-resnet", "--config", "yun2019-example1"], "README, preset yun2019-example1"),
        Case("landscape linear-resnet --plot linear.png",
             ["landscape", "linear-resnet", "--plot", plot("linear.png")], "README"),
    ]


COMMANDS = {"depth-sweep": ["depth-sweep"], "train-shortcut": ["train", "shortcut"],
            "success-rate": ["success-rate"], "landscape-deep-resnet": ["landscape", "deep-resnet"],
            "landscape-linear-resnet": ["landscape", "linear-resnet"],
            "landscape-two-layer": ["landscape", "two-layer"], "train-two-layer": ["train", "two-layer"],
            "hessian": ["hessian"]}


def preset_cases(seen: set[str]) -> list[Case]:
    """Every preset with its command (the table of the TOML file), except those already in the tour."""
    import tomllib

    out = []
    for path in sorted((ROOT / "resnet_cli" / "presets").glob("*.toml")):
        name = path.stem
        if name in seen:
            continue
        table = next(key for key in tomllib.loads(path.read_text()) if key in COMMANDS)
        command = COMMANDS[table]
        out.append(Case(f"{' '.join(command)} --config {name}", [*command, "--config", name], f"preset {name}"))
    return out


def measure(argv: list[str], estimate_file: str) -> dict:
    """Run one command in a child process: wall and CPU seconds (children included), exit code."""
    env = {**os.environ, **PINNED, "CALIBRATE_ESTIMATE": estimate_file, "COLUMNS": "80"}
    start = time.monotonic()
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", WRAPPER, *argv], stdout=null, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {stderr.strip()[-400:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime}


def run_case(case: Case) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        est_file = os.path.join(tmp, "estimate.json")
        if not case.prefix:
            got = measure(case.argv, est_file)
            est = json.loads(Path(est_file).read_text())
            how = "full run"
        else:
            est = estimate_only(case.argv, est_file)
            one = measure(case.argv + case.prefix, est_file)
            two = measure(case.argv + case.double, est_file)
            scale = (case.full_units - case.prefix_units) / case.prefix_units
            got = {key: one[key] + (two[key] - one[key]) * scale for key in ("wall", "cpu")}
            how = (f"prefix: {' '.join(case.prefix)} took {one['cpu']:.1f} s CPU, {' '.join(case.double)} "
                   f"{two['cpu']:.1f} s; extrapolated linearly to {case.full_units:g}")
    return {"case": case.name, "source": case.source, "est_cpu": est["cpu"], "est_wall": est["wall"],
            "workers": est["workers"], "cpu": got["cpu"], "wall": got["wall"], "how": how}


def estimate_only(argv: list[str], est_file: str) -> dict:
    """The estimate of a command without running it (the child exits as soon as the estimate is recorded)."""
    env = {**os.environ, "CALIBRATE_ESTIMATE": est_file, "CALIBRATE_ESTIMATE_ONLY": "1"}
    code = WRAPPER.replace("    return _original(settings, quiet, plot)",
                           "    os._exit(0)")
    subprocess.run([sys.executable, "-c", code, *argv], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(Path(est_file).read_text())


def cpu_line() -> str:
    """"2 × Intel(R) Xeon(R) Processor, numpy 2.4.6" for the page."""
    import numpy

    model = "x86-64"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} × {model}, Python {sys.version.split()[0]}, numpy {numpy.__version__}"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def duration(seconds: float) -> str:
    from resnet_cli.resources import format_duration

    return format_duration(seconds)


def table(rows: list[dict]) -> str:
    lines = ["| command | from | estimate (CPU) | measured (CPU) | ratio | est. wall | wall | load |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r["est_cpu"] / r["cpu"]
        wall = "prefix¹" if r["how"].startswith("prefix") else f"{r['wall']:.1f} s"
        lines.append(f"| `{r['case']}` | {r['source']} | {r['est_cpu']:.1f} s | {r['cpu']:.1f} s | {ratio:.2f} | "
                     f"{r['est_wall']:.1f} s | {wall} | {r['load']} |")
    return "\n".join(lines)


def page(rows: list[dict], load: str) -> str:
    """docs/estimates.md: how the table was made, the table, the prefix rows' arithmetic."""
    worst = max(max(r["est_cpu"] / r["cpu"], r["cpu"] / r["est_cpu"]) for r in rows)
    prefixes = [f"- `{r['case']}`: {r['how']}." for r in rows if r["how"].startswith("prefix")]
    return "\n".join([
        "# Time estimates against measurements",
        "",
        "Every command estimates its time before it starts (resnet_cli/budget.py: work units × calibrated",
        "seconds per unit, plus start-up, worker processes and `--plot`); the estimate decides the long-run",
        "notice on stderr (over 3 minutes, `--quiet` hides it) and the refusal of absurd sizes (over 30 days:",
        "exit 2 with the estimate, before anything is allocated). This table is made by",
        "`.venv/bin/python tests/bench/calibrate_estimates.py --json runs.jsonl` (run every README tour command",
        "and every preset with its command; not part of `make test`) and",
        "`tests/bench/calibrate_estimates.py --table runs.jsonl --write docs/estimates.md` (re-estimate the",
        "recorded runs with the current model). tests/infra/test_estimates.py checks that every estimate stays",
        "within 3× of the measured CPU time recorded here (no timing is taken in `make test`).",
        "",
        "How it was measured: each command in its own process, stdout discarded, with one BLAS thread",
        "(`OPENBLAS_NUM_THREADS=1`, as `make bench` and every sweep cell); the measurement is the CPU time",
        "(user + system) of the process and its worker processes. The machine (2 cores) was shared with other",
        "jobs (load averages in the table, 1-minute, when each command started), so wall times are shown",
        "only for reference: on an idle machine the wall time is about the CPU time divided by the worker",
        "processes, which is the announced estimate (\"est. wall\"). With several BLAS threads on a loaded",
        "machine, an exact Hessian spectrum (eigvalsh) took 10–20× the CPU time of a single-threaded one (the",
        "threads spin), so a loaded machine can make in-process spectra (`hessian`, `train shortcut`) far",
        "slower than estimated; one BLAS thread avoids it.",
        "",
        "Ratio = estimate ÷ measured CPU time; every ratio is within 3× "
        f"(the worst either way: {worst:.2f}).",
        "",
        table(rows),
        "",
        "¹ Measured on a prefix: the work of these presets is the same unit repeated (init-cond: the same",
        "cells per trial; final-loss: the same GD step per step) plus a part that does not grow with it",
        "(start-up, data, deterministic networks computed once), so it is linear in that size; two runs at",
        "n and 2n units give the slope, and the full time is t(n) + (t(2n) − t(n)) · (N − n) / n.",
        *prefixes,
        "",
        f"Written on {time.strftime('%Y-%m-%d', time.gmtime())} from runs of the same day on {cpu_line()}.",
        f"`uptime` when the table was written: {load}",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="run the cases whose name contains this")
    parser.add_argument("--json", help="append the measured rows (JSON lines) to this file")
    parser.add_argument("--write", metavar="MD", help="with --table: write the page (docs/estimates.md)")
    parser.add_argument("--table", nargs="+", metavar="JSONL",
                        help="run nothing: re-estimate the rows recorded by --json (the cost model changed, the "
                             "measurements did not) and print the table")
    args = parser.parse_args(argv)
    if args.table:
        return reestimate(args.table, args.write)
    with tempfile.TemporaryDirectory() as tmp:
        cases = tour_cases(tmp)
        seen = {c.source.split("preset ")[-1] for c in cases if "preset" in c.source}
        cases += preset_cases(seen)
        long_prefixes(cases)
        cases = [c for c in cases if not args.only or any(o in c.name for o in args.only)]
        rows = []
        for case in cases:
            load = os.getloadavg()[0]
            row = run_case(case)
            row["load"] = f"{load:.1f}"
            rows.append(row)
            print(f"{row['case']}: estimate {row['est_cpu']:.2f} s CPU, measured {row['cpu']:.2f} s CPU "
                  f"(wall {row['wall']:.1f} s, load {load:.1f}); ratio {row['est_cpu'] / row['cpu']:.2f}; {row['how']}",
                  flush=True)
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print(table(rows))
    print(uptime())
    return 0


#: Presets measured on a prefix (see the module docstring): name → (option, n, N). Their work is the same
#: cell repeated per trial (init-cond) or the same GD step repeated per step (final-loss), plus a part that
#: does not grow with it (start-up, data, the final Hessians), which the two prefix runs difference out.
PREFIXES = {"li2017-fig5": ("--trials", 1, 10), "li2017-fig10": ("--steps", 100, 1000)}


def reestimate(paths: list[str], write: str | None = None) -> int:
    """The table of recorded measurements (the last of each case) against the current model's estimates."""
    rows: dict[str, dict] = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            rows[row["case"]] = row
    with tempfile.TemporaryDirectory() as tmp:
        cases = tour_cases(tmp)
        seen = {c.source.split("preset ")[-1] for c in cases if "preset" in c.source}
        cases += preset_cases(seen)
        ordered = []
        for case in cases:
            if case.name not in rows:
                print(f"not measured: {case.name}", file=sys.stderr)
                continue
            est = estimate_only(case.argv, os.path.join(tmp, "estimate.json"))
            ordered.append({**rows[case.name], "est_cpu": est["cpu"], "est_wall": est["wall"]})
    print(table(ordered))
    if write:
        Path(write).write_text(page(ordered, uptime()), encoding="utf-8")
    worst = max(max(r["est_cpu"] / r["cpu"], r["cpu"] / r["est_cpu"]) for r in ordered)
    print(f"\nworst ratio either way: {worst:.2f}")
    return 0


def long_prefixes(cases: list[Case]) -> None:
    """Turn the long presets into prefix measurements (in place)."""
    for case in cases:
        preset = case.source.split("preset ")[-1]
        if preset in PREFIXES:
            option, n, full = PREFIXES[preset]
            case.prefix, case.double = [option, str(n)], [option, str(2 * n)]
            case.prefix_units, case.full_units = float(n), float(full)


if __name__ == "__main__":
    sys.exit(main())
