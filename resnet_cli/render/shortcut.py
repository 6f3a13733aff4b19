"""Tables of the Li et al. (2017) commands: `hessian`, `train shortcut`, `depth-sweep` (80 columns)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from resnet_cli.render.common import console, fmt

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


def _clean(value: Any, scale: float) -> Any:
    """A value at rounding level of `scale` (e.g. λ min of a matrix that is 0 up to eigvalsh's error) as 0."""
    if isinstance(value, float) and scale and abs(value) <= ROUNDING * scale:
        return 0.0
    return value


# --- hessian ---------------------------------------------------------------------------------------------------


def hessian(p: dict[str, Any]) -> None:
    net, data, th, cfg = p["network"], p["data"], p["theory"], p["config"]
    std, trials = p["std"] or {}, p["trials"]
    where = "at init" if cfg["at"] == "init" else f"after {cfg['steps']} GD steps (lr {fmt(cfg['lr'])})"
    console.print(f"[bold]Hessian of L = 1/(2m)‖Y − F(X)‖²[/bold] — {net['description']}")
    console.print(f"data: {data['description']}")
    console.print(f"init {cfg['init']}, {where}: loss {_pm(p['loss'], std.get('loss'), trials)}")
    console.print(f"L_min (least squares) = {fmt(data['l_min'], 6)}")
    table = _table()
    table.add_column("statistic")
    inertia = p.get("spectrum") == "inertia"
    label = "measured" + (" (bracket midpoints)" if inertia else " (SLQ, approx.)" if p["approximate"] else "")
    table.add_column(label + (f"\nmean ± std, {trials} trials" if trials > 1 else ""), justify="right")
    pred = th.get("predicted") if th else None
    if th is not None:
        table.add_column("Theorem 1", justify="right")
    table.add_row("parameters", str(p["n_params"]), *([str(p["n_params"])] if th is not None else []))
    scale = p["abs_max"] or 0.0
    for key, name in STAT_NAMES:
        undefined = key in ("cond10", "cond")
        cells = ["undefined (H = 0)" if p["zero_matrix"] and undefined
                 else _pm(_clean(p[key], scale), std.get(key), trials)]
        if th is not None:
            if pred is None:
                cells.append("—")
            elif pred.get("zero_matrix") and undefined:
                cells.append("undefined (H = 0)")
            else:
                cells.append(fmt(_clean(pred.get(key), pred.get("abs_max") or 0.0)))
        table.add_row(name, *cells)
    console.print(table)
    if p["zero_matrix"]:
        console.print("The Hessian is exactly zero at this point (every eigenvalue is 0).")
    if inertia:
        _brackets(p)
    if p["diverged_trials"]:
        console.print(f"[yellow]{p['diverged_trials']} of {trials} trials diverged during training "
                      "(excluded from the statistics).[/yellow]")
    if th is not None:
        _theorem1(th, scale)
    elif cfg["at"] == "init" and cfg["init"] == "zero" and net["shortcut"] == 0:
        console.print("Theorem 1 is about shortcut networks: no prediction for the plain network.")


def _brackets(p: dict[str, Any]) -> None:
    """The certified brackets of --spectrum inertia, one line per trial (resnet_cli/eigen.py)."""
    for entry in p["per_trial"]:
        b = entry.get("brackets")
        if not b:
            continue
        parts = [f"{name} ∈ [{fmt(b[key][0], 5)}, {fmt(b[key][1], 5)}]" for key, name in
                 (("abs_max", "|λ|max"), ("abs_p10", "|λ|p10"), ("cond10", "cond10")) if b.get(key)]
        if b.get("beyond_precision"):
            parts.append(f"cond10 > {fmt(1 / 1e-12)} (|λ|p10 below 1e-12·|λ|max)")
        trial = f"trial {entry['trial']}: " if len(p["per_trial"]) > 1 else ""
        console.print(f"{trial}certified by {b['factorisations']} LDLᵀ inertia counts (relative width "
                      f"{fmt(b['relative_width'])}): " + ", ".join(parts) + f"; exactly {b['negative']} of {b['n']} "
                      f"eigenvalues < −ε, {b['near_zero']} with |λ| ≤ ε (ε = {fmt(b['epsilon'], 2)}).")


def _theorem1(th: dict[str, Any], scale: float) -> None:
    case = {"n>=3": "n ≥ 3", "n=2": "n = 2", "n=1": "n = 1"}.get(th["case"], th["case"])
    console.print(f"Theorem 1 ({case}): {th['statement']}.")
    kinds = [("max_abs_deviation", "largest"), ("entry_deviation", "entries"),
             ("eigenvalue_deviation", "sorted eigenvalues")]
    found = [(name, th[key]) for key, name in kinds if key in th]
    probes = " on random probes" if th["deviation_kind"] != "exact" else ""
    if all(value == 0 for _, value in found):
        console.print(f"Matches Theorem 1 exactly: deviation 0{probes}.")
    elif all(value <= ROUNDING * scale for _, value in found):
        console.print(f"Matches Theorem 1 up to rounding: deviation < 1e-12 × |λ|max{probes}.")
    else:
        console.print(f"Deviation from Theorem 1{probes}: "
                      + ", ".join(f"{name} {fmt(value, 3)}" for name, value in found) + ".")


# --- train shortcut -----------------------------------------------------------------------------------------


def train(p: dict[str, Any]) -> None:
    net, cfg = p["network"], p["config"]
    linear = net["act_pre"] == net["act_mid"] == net["act_post"] == "identity"
    console.print(f"[bold]Full-batch GD[/bold] — {net['description']}")
    console.print(f"data: {p['data']['description']}; init {cfg['init']}, lr {fmt(cfg['lr'])}, {cfg['steps']} steps")
    console.print(f"L_min (best linear map, least squares) = {fmt(p['l_min'], 6)}"
                  + ("" if linear else "  [dim](a nonlinear network may go below it)[/dim]"))
    has_h = any("abs_max" in row for row in p["trace"])
    table = _table()
    for col in ("step", "loss", "L − L_min", "‖∇L‖"):
        table.add_column(col, justify="right")
    if has_h:
        for col in ("|λ|max", "|λ|p10", "cond10", "index"):
            table.add_column(col, justify="right")
    else:  # 80 columns: beside the Hessian statistics the norms go to --json/--out only
        table.add_column("mean ‖W‖_F", justify="right")
    for row in p["trace"]:
        cells = [str(row["step"]), fmt(row["loss"], 5), fmt(row["loss_gap"], 4), fmt(row["grad_norm"], 4)]
        if not has_h:
            cells.append(fmt(row["frob_mean"], 4) if "frob_mean" in row else "")
        if has_h:
            if "abs_max" in row:
                cells += [fmt(row["abs_max"]), fmt(row["abs_p10"]),
                          "H = 0" if row["cond10"] is None else fmt(row["cond10"]), fmt(row["index"], 3)]
            else:
                cells += [""] * 4
        table.add_row(*cells)
    console.print(table)
    if p["diverged"]:
        console.print(f"[yellow]diverged at step {p['diverged_step']} (loss not finite or > 1e12 × its start); "
                      f"last finite loss {fmt(p['final_loss'], 6)}[/yellow]")
    else:
        console.print(f"final loss {fmt(p['final_loss'], 6)}; L − L_min = {fmt(p['final_loss_gap'], 4)}")
    if has_h:
        console.print("[dim]mean ‖W‖_F (average Frobenius norm of the weight matrices, Fig. 3): in --json "
                      "(trace, norms) and --out[/dim]")


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
        return f"> 1e12 ({row['trials_beyond_precision']}/{row['trials']}{' trials' if words else ''})"
    text = _pm(row["mean"], row["std"], row["trials"], 3)
    return "≈ " + text if row.get("spectrum") == "slq" else text


def depth_sweep(p: dict[str, Any]) -> None:
    cfg, data, rows = p["config"], p["data"], p["rows"]
    init_cond = p["measure"] == "init-cond"
    mid = "linear networks" if cfg["act_mid"] == "identity" else "ReLU in the mid positions"
    if init_cond:
        console.print("[bold]Initial cond10 = |λ|max/|λ|p10 of the Hessian vs depth[/bold] (Li et al., Fig. 5)")
    else:
        figure = "9" if cfg["act_mid"] == "identity" else "10"
        console.print(f"[bold]Best {p['quantity']} after {cfg['steps']} GD steps vs depth[/bold] "
                      f"(Li et al., Fig. {figure})")
    console.print(f"{mid}; {cfg['trials']} trials per cell (mean ± std); seed {cfg['seed']}")
    console.print(f"data: {data['description']}; L_min (least squares) = {fmt(data['l_min'], 6)}")
    if not init_cond:
        console.print(f"learning rates {', '.join(fmt(x, 3) for x in cfg['lr'])}")
    if p["spectrum"]:
        console.print(p["spectrum"])
    # One table per measure row group; at most three networks per table so each fits 80 columns.
    per_table = 3 if init_cond else 2
    names = cfg["network"]
    for start in range(0, len(names), per_table):
        _sweep_table(p, names[start:start + per_table], init_cond)
    if not init_cond:
        _grid(p)
    for note in p["notes"]:
        console.print(f"[dim]note: {note}[/dim]")


def _sweep_table(p: dict[str, Any], names: list[str], init_cond: bool) -> None:
    by_key = {(r["network"], r["depth"]): r for r in p["rows"]}
    table = _table()
    table.add_column("depth", justify="right")
    theory = {name for name in names
              if init_cond and any(r.get("theory_cond10") is not None for r in p["rows"] if r["network"] == name)}
    for name in names:
        table.add_column(name, justify="right")
        if not init_cond:
            table.add_column("best lr", justify="right")
        if name in theory:
            table.add_column("Theorem 1", justify="right", style="dim")
    for depth in p["config"]["depth"]:
        cells = [str(depth)]
        for name in names:
            row = by_key[(name, depth)]
            cells.append(cell_text(row))
            if not init_cond:
                lr = row.get("best_lr")
                cells.append("—" if lr is None else fmt(lr, 3) + (" (flat)" if row["best_lr_flat"] else ""))
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
    """Rows of `hessian --out x.csv`: one per trial, its statistics flattened."""
    return [dict(trial=e["trial"], **{k: v for k, v in e.items() if k not in ("trial", "stats")}, **(e["stats"] or {}))
            for e in p["per_trial"]]


def write_eigenvalues(p: Any, path: str) -> None:
    """`hessian --eigenvalues x.csv`: every eigenvalue (SLQ: nodes and weights) of every trial."""
    from resnet_cli.experiments.hessian import eigenvalue_rows
    from resnet_cli.report import rows_to_csv, write_atomic

    write_atomic(path, rows_to_csv(eigenvalue_rows(p.spectra)))
