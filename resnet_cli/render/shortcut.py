"""Tables of the Li et al. (2017) commands: `hessian`, `train shortcut`, `depth-sweep` (80 columns)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rich import box
from rich.table import Table

from resnet_cli.render.common import console, fmt, prose
from resnet_cli.report import rows_to_csv, write_atomic
from resnet_cli.spectrum import BEYOND, WIDE_FACTOR, ZERO_TOLERANCE, beyond_note, zero_certified

ROUNDING = 1e-12  # relative: deviations below this × the spectrum's scale are rounding, printed "< 1e-12·scale"
STAT_NAMES = [("abs_max", "|λ| max"), ("abs_p10", "|λ| 10th percentile"), ("cond10", "cond10 = |λ|max/|λ|p10"),
              ("cond", "cond = |λ|max/|λ|min"), ("index", "index (share of λ < 0)"), ("lambda_min", "λ min"),
              ("lambda_max", "λ max")]


def _table(**kw: Any) -> Table:
    return Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, **kw)


def _pm(mean: Any, std: Any, trials: int, digits: int = 4) -> str:
    if mean is None:
        return "—"
    if trials > 1 and std is not None:
        return f"{fmt(mean, digits)} ± {fmt(std, 2)}"
    return fmt(mean, digits)


#: The statistics --spectrum inertia brackets (shown as midpoints, marked ≈; the index is an exact count).
BRACKETED = ("abs_max", "abs_p10", "cond10", "lambda_min", "lambda_max")
#: Statistics that are ratios, not eigenvalues: never read at the rounding level of |λ|max.
RATIOS = ("cond10", "cond", "index")


def _clean(value: Any, scale: float, key: str = "") -> Any:
    """An eigenvalue at rounding level of `scale` (e.g. λ min of a matrix that is 0 up to eigvalsh's error) as 0;
    a ratio (`RATIOS`) as it is."""
    if key not in RATIOS and isinstance(value, float) and scale and abs(value) <= ROUNDING * scale:
        return 0.0
    return value


# --- hessian ---------------------------------------------------------------------------------------------------


def outward(x: float, digits: int, up: bool) -> float:
    """`x` rounded to `digits` significant digits away from the interval's inside (down for a lower bound)."""
    if not math.isfinite(x) or x == 0:
        return x
    step = 10.0 ** (math.floor(math.log10(abs(x))) - digits + 1)
    return (math.ceil if up else math.floor)(x / step) * step


def interval(bound: dict[str, Any] | None, digits: int = 3) -> str:
    """An SLQ interval as "[1.52, 1.69]" (rounded outwards, so the printed interval still encloses it)."""
    if not bound:
        return "—"
    lo, hi = bound["lower"], bound["upper"]
    upper = "∞)" if hi is None or not math.isfinite(hi) else fmt(outward(hi, digits, True), digits) + "]"
    lower = "(−∞" if lo is None or not math.isfinite(lo) else "[" + fmt(outward(lo, digits, False), digits)
    return f"{lower}, {upper}"


def confidence_line(bounds: dict[str, Any], method: str) -> str:
    """What an SLQ interval is, in one line."""
    line = f"≈ {method}; \\[intervals] at {bounds['confidence']:.0%} confidence each"
    if bounds.get("edges_converged", True):
        return line
    return line + "; ∞: Lanczos has not converged at that edge (raise --lanczos-steps)"


def index_tolerance_note(by_tolerance: dict[str, float] | None, where: str = "") -> None:
    """One sentence where the index moves with the zero tolerance at 3 digits (exact spectra:
    `spectrum.index_by_tolerance`, whose first tolerance is the index's own); nothing otherwise."""
    if not by_tolerance:
        return
    tolerances = list(by_tolerance)
    if all(fmt(by_tolerance[t], 3) == fmt(by_tolerance[tolerances[0]], 3) for t in tolerances[1:]):
        return  # no difference at the digits shown
    others = "; ".join(f"with |λ| ≤ {t}·|λ|max as zero, {fmt(by_tolerance[t], 3)}" for t in tolerances[1:])
    prose(f"The index{where} counts λ < −{tolerances[0]}·|λ|max as negative "
          f"({fmt(by_tolerance[tolerances[0]], 3)}); {others}.", indent="")


def hessian(p: dict[str, Any], detail: bool = False) -> None:
    net, data, th, cfg = p["network"], p["data"], p["theory"], p["config"]
    std, trials = p["std"] or {}, p["trials"]
    where = "at init" if cfg["at"] == "init" else f"after {cfg['steps']} GD steps (lr {fmt(cfg['lr'])})"
    bounds = p.get("bounds") if p.get("spectrum") == "slq" else None
    count = f", {trials} trials" if trials > 1 else ""
    console.print(f"[bold]Hessian spectrum {where}, init {cfg['init']}{count}[/bold] — {net['description']}")
    console.print(_hessian_table(p, bounds))
    _beyond_note(p)
    if bounds:
        method = f"SLQ ({cfg['lanczos_steps']} Lanczos steps × {cfg['lanczos_probes']} probes)"
        console.print(confidence_line(bounds, method))
        if bounds["cond10_too_wide"]:
            console.print(f"[dim]too wide: the cond10 interval is unbounded or wider than a factor {WIDE_FACTOR:g}"
                          "[/dim]")
    probes = f"Hv = 0 for all {cfg.get('lanczos_probes', 0)} probe(s) of every trial"
    if p["zero_matrix"] and not bounds and p.get("spectrum") != "slq":
        console.print("The Hessian is exactly zero at this point (every eigenvalue is 0).")
    elif p["zero_matrix"] and _zero_uncertified(p):
        console.print(f"{probes}: too few to certify H = 0 at 95 %.")
    elif p["zero_matrix"]:
        console.print(f"The Hessian is zero at this point at 95 % confidence ({probes}).")
    index_tolerance_note(p.get("index_by_tolerance"), " (mean over trials)" if trials > 1 else "")
    if p.get("spectrum") == "inertia":
        _brackets(p)
    if p["diverged_trials"]:
        total = trials + p["diverged_trials"]  # `trials`: those the statistics are over
        console.print(f"[yellow]{p['diverged_trials']} of {total} trials diverged during training "
                      f"({'excluded from the statistics' if trials else 'no statistics'}).[/yellow]")
    if th is not None:
        _theorem1(th, p["abs_max"] or 0.0)
    elif cfg["at"] == "init" and cfg["init"] == "zero" and net["shortcut"] == 0:
        console.print("Theorem 1 is about shortcut networks: no prediction for the plain network.")
    console.print(f"loss {_pm(p['loss'], std.get('loss'), trials)}; L_min (least squares) = {fmt(data['l_min'], 6)}")
    if not detail:
        console.print("[dim]--detail: the data and every trial's statistics[/dim]")
        return
    console.print(f"data: {data['description']}")
    _trial_table(p)


def _hessian_table(p: dict[str, Any], bounds: dict[str, Any] | None) -> Table:
    """The statistics: measured (or SLQ estimate with its interval, or inertia bracket midpoints) beside
    Theorem 1's prediction."""
    th, trials = p["theory"], p["trials"]
    table = _table()
    table.add_column("statistic")
    slq = p.get("spectrum") == "slq"
    label = "SLQ estimate" if slq else "≈ bracket midpoint" if p.get("spectrum") == "inertia" else "measured"
    table.add_column(label + ("\nmean ± std" if trials > 1 else ""), justify="right")
    if slq:
        table.add_column(f"{(bounds or {}).get('confidence', 0.95):.0%} interval" + ("\nof the mean" if trials > 1 else ""),
                         justify="right")
    if th is not None:
        table.add_column("Theorem 1", justify="right")
    extra = [""] if slq else []
    table.add_row("parameters", str(p["n_params"]), *extra, *([str(p["n_params"])] if th is not None else []))
    for key, name in STAT_NAMES:
        table.add_row(name, *_stat_cells(p, key, bounds))
    return table


def _zero_uncertified(p: dict[str, Any]) -> bool:
    """SLQ found Hv = 0 for every probe, too few probes to call H = 0 a 95 % fact (`spectrum.zero_certified`)."""
    return (p.get("spectrum") == "slq" and bool(p["zero_matrix"])
            and not zero_certified(p["config"].get("lanczos_probes", 0), p["trials"]))


def _stat_cells(p: dict[str, Any], key: str, bounds: dict[str, Any] | None) -> list[str]:
    """One statistic's cells of the Hessian table."""
    th, std, trials, scale = p["theory"], p["std"] or {}, p["trials"], p["abs_max"] or 0.0
    slq = p.get("spectrum") == "slq"
    undefined = key in ("cond10", "cond")
    uncertain = _zero_uncertified(p)
    if p["zero_matrix"] and undefined:
        cells = ["undefined (Hv = 0)" if uncertain else "undefined (H = 0)"] + ([""] if slq else [])
    elif slq and p["zero_matrix"]:  # Hv = 0 for every probe (spectrum.zero_certified: when that is a 95 % fact)
        cells = ["≈ 0", "—"] if uncertain else ["0", "[0, 0]"]
    elif slq and (bounds is None or key not in bounds):
        cells = ["no bound (SLQ)", ""]  # |λ|min, cond: a small eigenvalue can hide from every probe
    elif slq and key == "cond10" and bounds["cond10_too_wide"]:
        cells = ["too wide", interval(bounds[key])]
    elif not slq and (beyond := _beyond(p, key)):
        of = len(_trial_values(p, key))
        cells = [f"> {BEYOND}" + (f" ({beyond}/{of})" if of > 1 else "")]
    else:
        bracketed = p.get("spectrum") == "inertia" and key in BRACKETED
        # every trial at its own rounding level: 0, without a std of the rounding; else the mean as measured
        pairs = [(s[key], s["abs_max"]) for s in _trial_stats(p) if s.get(key) is not None]
        rounding = key not in RATIOS and bool(pairs) and all(_clean(v, top) == 0.0 for v, top in pairs)
        mean = _clean(p[key], scale, key) if rounding or trials == 1 else p[key]
        cells = [("≈ " if slq or bracketed else "") + _pm(mean, None if rounding else std.get(key), trials)]
        if slq:
            cells.append(interval(bounds[key]) if bounds else "—")
    if th is not None:
        pred = th.get("predicted")
        if pred is None:
            cells.append("—")
        elif pred.get("zero_matrix") and undefined:
            cells.append("undefined (H = 0)")
        else:
            cells.append(fmt(_clean(pred.get(key), pred.get("abs_max") or 0.0, key)))
    return cells


def _trial_stats(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The statistics of every trial that has them (not the diverged ones)."""
    return [e["stats"] for e in p.get("per_trial", []) if e.get("stats")]


def _trial_values(p: dict[str, Any], key: str) -> list[float]:
    """The statistic `key` of every trial that has it."""
    return [float(s[key]) for s in _trial_stats(p) if s.get(key) is not None]


def _beyond(p: dict[str, Any], key: str) -> int:
    """How many trials' cond10 (or cond) is only known to exceed BEYOND: its denominator was below
    ZERO_TOLERANCE·|λ|max, the eigensolver's rounding (`spectrum.spectrum_stats` makes it inf)."""
    return sum(v == math.inf for v in _trial_values(p, key)) if key in ("cond10", "cond") else 0


def _beyond_note(p: dict[str, Any]) -> None:
    """The line that explains '> 1e12 (k/N)' in the table, as depth-sweep's."""
    if p.get("spectrum") != "slq" and not p["zero_matrix"] and (_beyond(p, "cond10") or _beyond(p, "cond")):
        console.print(beyond_note("|λ|p10 (cond10) or |λ|min (cond)", "the ratio", several=p["trials"] > 1))


def _trial_table(p: dict[str, Any]) -> None:
    """--detail: one row per trial (SLQ: the cond10 interval beside the estimate)."""
    slq = p.get("spectrum") == "slq"
    table = _table(title="per trial", title_justify="left")
    for col in ("trial", "loss", "|λ| max", "|λ| p10", "cond10", "index"):
        table.add_column(col, justify="right")
    if slq:
        table.add_column("cond10 interval", justify="right")
    for e in p["per_trial"]:
        s = e.get("stats")
        if s is None:
            table.add_row(str(e["trial"]), fmt(e.get("loss")), "diverged", "", "", "", *([""] if slq else []))
            continue
        approx = "≈ " if slq else ""
        brackets = "≈ " if p.get("spectrum") == "inertia" else approx  # midpoints of certified brackets
        cells = [str(e["trial"]), fmt(e.get("loss")), brackets + fmt(s["abs_max"]), brackets + fmt(s["abs_p10"]),
                 brackets + fmt(s["cond10"]), approx + fmt(s["index"], 3)]
        if slq:
            cells.append(interval(s.get("bounds", {}).get("cond10")))
        table.add_row(*cells)
    console.print(table)


def _brackets(p: dict[str, Any]) -> None:
    """The certified brackets of --spectrum inertia, one line per trial (resnet_cli/eigen.py)."""
    for entry in p["per_trial"]:
        b = entry.get("brackets")
        if not b:
            continue
        # every bracketed statistic shown ≈ in the table, with its bracket (λ min, λ max: as wide as the counts
        # that placed them, not refined to the width)
        parts = [f"{name} ∈ [{fmt(b[key][0], 5)}, {fmt(b[key][1], 5)}]" for key, name in
                 (("abs_max", "|λ|max"), ("abs_p10", "|λ|p10"), ("cond10", "cond10"), ("lambda_min", "λ min"),
                  ("lambda_max", "λ max")) if b.get(key)]
        if b.get("beyond_precision"):
            parts.append(f"cond10 > {BEYOND} (|λ|p10 below {ZERO_TOLERANCE:.0e}·|λ|max)")
        trial = f"trial {entry['trial']}: " if len(p["per_trial"]) > 1 else ""
        console.print(f"{trial}certified by {b['factorisations']} LDLᵀ inertia counts (|λ|max, |λ|p10 to relative "
                      f"width {fmt(b['relative_width'])}): " + ", ".join(parts) + f"; exactly {b['negative']} of {b['n']} "
                      f"eigenvalues < −ε, {b['near_zero']} with |λ| ≤ ε (ε = {fmt(b['epsilon'], 2)}).")


def _theorem1(th: dict[str, Any], scale: float) -> None:
    case = {"n>=3": "n ≥ 3", "n=2": "n = 2", "n=1": "n = 1"}.get(th["case"], th["case"])
    console.print(f"Theorem 1 ({case}): {th['statement']}.")
    kinds = [("max_abs_deviation", "largest"), ("entry_deviation", "entries"),
             ("eigenvalue_deviation", "sorted eigenvalues")]
    found = [(name, th[key]) for key, name in kinds if key in th]
    probes = " on random probes" if th["deviation_kind"] != "exact" else ""
    if all(value == 0 for _, value in found) and probes:
        console.print("Agrees with Theorem 1 on every random probe: deviation 0 there (probes bound the "
                      "deviation from below).")
    elif all(value == 0 for _, value in found):
        console.print("Matches Theorem 1 exactly: deviation 0.")
    elif all(value <= ROUNDING * scale for _, value in found):
        console.print(f"Matches Theorem 1 up to rounding: deviation < 1e-12 × |λ|max{probes}.")
    else:
        console.print(f"Deviation from Theorem 1{probes}: "
                      + ", ".join(f"{name} {fmt(value, 3)}" for name, value in found) + ".")


# --- train shortcut -----------------------------------------------------------------------------------------


TRACE_ROWS = 11  # rows of the default trace table (--detail: every recorded step)


def _shown_trace(trace: list[dict[str, Any]], detail: bool) -> list[dict[str, Any]]:
    """The trace rows of the table: all with --detail; else the Hessian rows (or all rows) thinned to
    TRACE_ROWS, keeping the first and the last."""
    rows = [r for r in trace if "abs_max" in r] or trace
    if detail or len(rows) <= TRACE_ROWS:
        return trace if detail else rows
    keep = np.unique(np.linspace(0, len(rows) - 1, TRACE_ROWS).round().astype(int))
    return [rows[i] for i in keep]


def train(p: dict[str, Any], detail: bool = False) -> None:
    net, cfg = p["network"], p["config"]
    linear = net["act_pre"] == net["act_mid"] == net["act_post"] == "identity"
    console.print(f"[bold]Full-batch GD[/bold], init {cfg['init']}, lr {fmt(cfg['lr'])}, {cfg['steps']} steps — "
                  f"{net['description']}")
    has_h = any("abs_max" in row for row in p["trace"])
    slq = any("cond10_lower" in row for row in p["trace"])
    table = _table()
    # beside the Hessian statistics (80 columns) one loss column: L − L_min (linear) or the loss
    losses = ["L − L_min" if linear else "loss"] if has_h else ["loss", "L − L_min"]
    for col in ("step", *losses, "‖∇L‖"):
        table.add_column(col, justify="right")
    if has_h:
        for col in ("|λ|max", "|λ|p10", "cond10", "index"):
            table.add_column(col, justify="right")
    else:  # 80 columns: beside the Hessian statistics the norms go to --json/--out only
        table.add_column("mean ‖W‖_F", justify="right")
    approx = "≈" if slq else ""
    for row in _shown_trace(p["trace"], detail):
        values = {"loss": fmt(row["loss"], 5), "L − L_min": fmt(row["loss_gap"], 4)}
        cells = [str(row["step"]), *[values[c] for c in losses], fmt(row["grad_norm"], 4)]
        if not has_h:
            cells.append(fmt(row["frob_mean"], 4) if "frob_mean" in row else "")
        elif "abs_max" not in row:
            cells += [""] * 4
        elif "cond10_lower" in row:
            cond = "too wide" if row["cond10_too_wide"] else "≈" + interval(
                {"lower": row["cond10_lower"], "upper": row["cond10_upper"]})
            cells += [approx + fmt(row["abs_max"]), approx + fmt(row["abs_p10"], 3),
                      "H = 0" if row["cond10"] is None else cond, approx + fmt(row["index"], 2)]
        else:
            cells += [fmt(row["abs_max"]), fmt(row["abs_p10"]),
                      "H = 0" if row["cond10"] is None else fmt(row["cond10"]), fmt(row["index"], 3)]
        table.add_row(*cells)
    console.print(table)
    if p["diverged"]:
        console.print(f"[yellow]diverged at step {p['diverged_step']} (loss not finite or > 1e12 × its start); "
                      f"loss the step before {fmt(p['final_loss'], 6)}[/yellow]")
    else:
        console.print(f"final loss {fmt(p['final_loss'], 6)}; L − L_min = {fmt(p['final_loss_gap'], 4)}")
    console.print(f"L_min (best linear map, least squares) = {fmt(p['l_min'], 6)}"
                  + ("" if linear else "  [dim](a nonlinear network may go below it)[/dim]"))
    last = (p.get("hessian") or [{}])[-1]
    index_tolerance_note(last.get("index_by_tolerance"), f" at the last Hessian (step {last.get('step')})")
    if slq:
        confidence = next(r["confidence"] for r in p["trace"] if "confidence" in r)
        console.print(f"≈ SLQ ({cfg['lanczos_steps']} steps × {cfg['lanczos_probes']} probes): cond10 in \\[a, b] "
                      f"w.p. ≥ {confidence:.0%}; too wide: > ×{WIDE_FACTOR:g} or ∞")
    if not detail:
        console.print("[dim]--detail: the data, every trace row" + (", every interval" if slq else "")
                      + "; ‖W‖_F in --json[/dim]")
        return
    console.print(f"data: {p['data']['description']}")
    if has_h:
        console.print("[dim]mean ‖W‖_F (average Frobenius norm of the weight matrices, Fig. 3): in --json "
                      "(trace, norms) and --out[/dim]")
        if slq:
            _train_intervals(p["trace"])


def _train_intervals(trace: list[dict[str, Any]]) -> None:
    """--detail, SLQ: every interval of the trace."""
    table = _table(title="SLQ intervals", title_justify="left")
    for col in ("step", "|λ|p10", "cond10", "index"):
        table.add_column(col, justify="right")
    for row in trace:
        if "cond10_lower" in row:
            table.add_row(str(row["step"]), *[interval({"lower": row[f"{k}_lower"], "upper": row[f"{k}_upper"]})
                                              for k in ("abs_p10", "cond10", "index")])
    console.print(table)


# --- depth-sweep --------------------------------------------------------------------------------------------


def cell_text(row: dict[str, Any], words: bool = False) -> str:
    """One depth-sweep cell as text: mean ± std (≈ for SLQ estimates) or what the cell is instead.
    `words=True` spells it out for prose tables (docs/reproductions.md)."""
    status = row["status"]
    if status == "not-applicable":
        return "n/a"
    if status == "degenerate":
        return "H = 0"
    if status == "all-diverged":
        return "all rates diverged" if words else "all diverged"
    if status == "beyond-precision":
        return f"> {BEYOND} ({row['trials_beyond_precision']}/{row['trials']}{' trials' if words else ''})"
    if row.get("spectrum") == "slq":  # an estimate: its interval, or "too wide" where that supports no number
        if row.get("cond10_lower") is None:
            return "≈ " + _pm(row["mean"], row["std"], row["trials"], 3)
        if row.get("cond10_too_wide"):
            return "too wide"
        return "≈" + interval({"lower": row["cond10_lower"], "upper": row["cond10_upper"]})
    return _pm(row["mean"], row["std"], row["trials"], 3)


def _trials_note(rows: list[dict[str, Any]], trials: int) -> str:
    """How many trials a cell holds: --trials, and one where every trial starts at the same point (w = 0)."""
    single = list(dict.fromkeys(r["network"] for r in rows if r.get("trials") == 1 and trials != 1))
    note = f"{trials} trials per cell (mean ± std)" if trials != 1 else "1 trial per cell"
    return note if not single else f"{note}; 1 at w = 0: {', '.join(single)}"


def depth_sweep(p: dict[str, Any], detail: bool = False) -> None:
    cfg, data, rows = p["config"], p["data"], p["rows"]
    init_cond = p["measure"] == "init-cond"
    mid = "linear networks" if cfg["act_mid"] == "identity" else "ReLU in the mid positions"
    if init_cond:
        console.print("[bold]Initial cond10 = |λ|max/|λ|p10 of the Hessian vs depth[/bold] (Li et al., Fig. 5)")
    else:
        figure = "9" if cfg["act_mid"] == "identity" else "10"
        console.print(f"[bold]Best {p['quantity']} after {cfg['steps']} GD steps vs depth[/bold] "
                      f"(Li et al., Fig. {figure})")
    # At most three networks per table so each fits 80 columns (final-loss: the best rates behind --detail).
    names = cfg["network"]
    for start in range(0, len(names), 3):
        _sweep_table(p, names[start:start + 3], init_cond)
    console.print(f"{mid}; {_trials_note(rows, cfg['trials'])}; seed {cfg['seed']}")
    if p["spectrum"]:
        console.print(p["spectrum"])
    slq = [r for r in rows if r.get("cond10_lower") is not None]
    if slq:
        console.print(f"≈\\[a, b]: SLQ, {slq[0]['confidence']:.0%} interval of the mean; too wide: unbounded "
                      f"or > ×{WIDE_FACTOR:g}")
    for note in p["notes"]:
        console.print(f"[dim]note: {note}[/dim]")
    if not detail:
        console.print("[dim]--detail: the data" + (", every SLQ interval" if init_cond else
                                                 ", the best learning rates, every rate") + "[/dim]")
        return
    console.print(f"data: {data['description']}; L_min (least squares) = {fmt(data['l_min'], 6)}")
    if slq:
        _slq_table(slq)
    if not init_cond:
        console.print(f"learning rates {', '.join(fmt(x, 3) for x in cfg['lr'])}")
        for start in range(0, len(names), 5):
            _sweep_table(p, names[start:start + 5], init_cond, best_lr=True)
        _grid(p)


def _slq_table(rows: list[dict[str, Any]]) -> None:
    """--detail: every SLQ cell's estimate beside its interval (also where that is too wide)."""
    table = _table(title=f"SLQ cells: cond10 estimate and {rows[0]['confidence']:.0%} interval", title_justify="left")
    for col in ("network", "depth", "estimate (mean)", "interval of the mean", "too wide"):
        table.add_column(col, justify="left" if col == "network" else "right")
    for r in rows:
        table.add_row(r["network"], str(r["depth"]), "≈ " + fmt(r["mean"], 3),
                      interval({"lower": r["cond10_lower"], "upper": r["cond10_upper"]}), fmt(r["cond10_too_wide"]))
    console.print(table)


def _sweep_table(p: dict[str, Any], names: list[str], init_cond: bool, best_lr: bool = False) -> None:
    """The result per depth and network; `best_lr` (final-loss, --detail): the best learning rate instead."""
    by_key = {(r["network"], r["depth"]): r for r in p["rows"]}
    if best_lr:
        table = _table(title="best learning rate (lowest mean where no trial diverged)", title_justify="left")
        table.add_column("depth", justify="right")
        for name in names:
            table.add_column(name, justify="right")
        for depth in p["config"]["depth"]:
            lrs = [by_key[(name, depth)].get("best_lr") for name in names]
            flat = [by_key[(name, depth)].get("best_lr_flat") for name in names]
            table.add_row(str(depth), *["—" if lr is None else fmt(lr, 3) + (" (flat)" if f else "")
                                        for lr, f in zip(lrs, flat)])
        console.print(table)
        return
    table = _table()
    table.add_column("depth", justify="right")
    theory = {name for name in names
              if init_cond and any(r.get("theory_cond10") is not None for r in p["rows"] if r["network"] == name)}
    for name in names:
        table.add_column(name, justify="right")
        if name in theory:
            table.add_column("Theorem 1", justify="right", style="dim")
    for depth in p["config"]["depth"]:
        cells = [str(depth)]
        for name in names:
            row = by_key[(name, depth)]
            cells.append(cell_text(row))
            if name in theory:
                cells.append(fmt(row.get("theory_cond10")))
        table.add_row(*cells)
    console.print(table)


def _grid(p: dict[str, Any]) -> None:
    """Mean final value at every learning rate; diverged rates shown as such, the best one starred."""
    cfg = p["config"]
    console.print(f"{p['quantity']} at each learning rate (mean over trials; * = best):")
    if any(0 < e["diverged_trials"] < r["trials"] for c, r in zip(p["cells"], p["rows"]) for e in c.get("grid", [])):
        console.print("div k/N: diverged in k of the N trials")
    lrs = cfg["lr"]
    by_key = {(c["network"], c["depth"]): c for c in p["cells"]}
    trials_of = {(r["network"], r["depth"]): r["trials"] for r in p["rows"]}
    for start in range(0, len(lrs), 5):  # at most 5 rates per table: 80 columns
        table = _table()
        table.add_column("network")
        table.add_column("depth", justify="right")
        for lr in lrs[start:start + 5]:
            table.add_column(f"lr {fmt(lr, 3)}", justify="right")
        for name in cfg["network"]:
            for depth in cfg["depth"]:
                cell = by_key[(name, depth)]
                if cell["status"] == "not-applicable":
                    continue
                texts = []
                for e in cell["grid"][start:start + 5]:
                    n = trials_of[(name, depth)]
                    if e["diverged_trials"]:
                        texts.append("diverged" if e["diverged_trials"] == n else f"div {e['diverged_trials']}/{n}")
                    else:
                        texts.append(fmt(e["mean"], 3) + (" *" if e.get("best") else ""))
                table.add_row(name, str(depth), *texts)
        console.print(table)


def hessian_rows(p: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of `hessian --out x.csv`: one per trial, its statistics flattened (a dict value becomes one column
    per key, e.g. index_by_tolerance_1e-10, bounds_cond10_lower)."""
    return [_flat(dict(trial=e["trial"], **{k: v for k, v in e.items() if k not in ("trial", "stats")},
                       **(e["stats"] or {}))) for e in p["per_trial"]]


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}_"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def eigenvalue_rows(spectra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the --eigenvalues file: (trial, rank, eigenvalue), or (trial, node, ritz_value, weight) for SLQ,
    or (trial, statistic, lo, hi) for the certified brackets of --spectrum inertia."""
    rows: list[dict[str, Any]] = []
    for spec in spectra:
        if "eigenvalues" in spec:
            rows += [{"trial": spec["trial"], "rank": i, "eigenvalue": float(v)} for i, v in enumerate(spec["eigenvalues"])]
        elif "brackets" in spec:  # --spectrum inertia: the certified brackets, no eigenvalue
            b = spec["brackets"]
            rows += [{"trial": spec["trial"], "statistic": key, "lo": b[key][0], "hi": b[key][1]}
                     for key in ("lambda_min", "lambda_max", "abs_max", "abs_p10", "cond10") if b.get(key)]
        else:
            rows += [{"trial": spec["trial"], "node": i, "ritz_value": float(v), "weight": float(w)}
                     for i, (v, w) in enumerate(zip(spec["nodes"], spec["weights"]))]
    return rows


def write_eigenvalues(p: dict[str, Any], path: str) -> None:
    """`hessian --eigenvalues x.csv`: every eigenvalue (SLQ: nodes and weights) of every trial, from the
    payload's `spectra` (`HessianResult.to_dict(arrays=True)`)."""
    rows = eigenvalue_rows(p["spectra"])
    columns = {"slq": ("trial", "node", "ritz_value", "weight"), "inertia": ("trial", "statistic", "lo", "hi")}
    # no rows (every run diverged: no spectrum): the header alone, not an empty line
    write_atomic(path, rows_to_csv(rows, () if rows else columns.get(p["config"].get("spectrum"),
                                                                      ("trial", "rank", "eigenvalue"))))
