"""Success-rate engine against torch on the same work (Liu et al. 2019, GD with normalization).

Same teachers, inits, per-trial step sizes (Theorem 1 / Theorem 2, schedule ssw) and step count for every
engine. The algorithm, for the ResNet student with the exact population loss of
resnet_cli/models/two_layer/population.py: w̃ = w − η_w ∇_w L, w ← (e + w̃)/‖e + w̃‖ − e, a ← a − η_a ∇_a L.

- ours, vector representation: the update as written, all trials as rows of numpy arrays;
- ours, plane representation: the same iterates in exact reduced coordinates (an angle and 3 coefficients
  per trial, O(1) per step whatever p and k) — a different *representation*, not the same arithmetic;
- THE PEER (headline ratio): the same algorithm in torch, float64, all trials as one tensor, the fastest of
  the routes timed in this run: the compact step (`compact_step`: our vector representation's arithmetic in
  as few torch operations as we can write, fused `addcmul`/`vecdot`, constants once per stage), the earlier
  compact step (`plain_step`), hand-written gradients through e + w (the formulas of two_layer.gradients) and
  autograd of the summed loss; the "× peer" column divides by it;
- for reference, the first thing a researcher might write: torch autograd, one trial at a time.

We report trial-steps per second, check that every torch route ends where ours does, and time the
default preset end to end.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from resnet_cli.models.two_layer import optim
from resnet_cli.experiments import success_rate as sr
from resnet_cli.experiments import two_layer as exp
from resnet_cli.models.two_layer import population as tl
from resnet_cli.experiments import two_layer_settings as tls
from resnet_cli.rng import make_rng

import timing  # noqa: E402  (tests/bench/timing.py, on the path run_bench.py sets)


def torch_trial(v0, a0, v_star, a_star, eta_a, eta_w1, eta, stage1, iterations):
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    p, k = v0.size, a0.size
    e = torch.full((p,), 1 / math.sqrt(p), dtype=dt)
    vs, ast = torch.tensor(v_star, dtype=dt), torch.tensor(a_star, dtype=dt)
    w = (torch.tensor(v0, dtype=dt) - e).requires_grad_(True)
    a = torch.tensor(a0, dtype=dt).requires_grad_(True)
    ones = torch.ones(k, dtype=dt)
    M = ((math.pi - 1) * torch.eye(k, dtype=dt) + torch.outer(ones, ones)) / (2 * math.pi)
    off = (torch.outer(ones, ones) - torch.eye(k, dtype=dt)) / (2 * math.pi)
    for t in range(iterations):
        ea, ew = (eta_a, eta_w1) if t < stage1 else (eta, eta)
        u = e + w
        v = u / u.norm()
        phi = torch.arccos(torch.clamp(v @ vs, -1.0, 1.0))
        g = (torch.sin(phi) + (math.pi - phi) * torch.cos(phi)) / (2 * math.pi)
        N = g * torch.eye(k, dtype=dt) + off
        loss = ast @ M @ ast - 2 * a @ N @ ast + a @ M @ a
        gw, ga = torch.autograd.grad(loss, (w, a))
        with torch.no_grad():
            wt = w - ew * gw
            w.copy_((e + wt) / (e + wt).norm() - e)
            a.sub_(ea * ga)
    with torch.no_grad():
        u = e + w
        return (u / u.norm()).numpy(), a.numpy()


def torch_batched(v0, a0, v_star, a_star, sched, steps, gradients="manual"):
    """The peer: the same GD with normalization in torch, all trials as one tensor (float64, one thread).

    `gradients` = "manual" (the closed forms of two_layer.gradients, chain rule through ‖e + w‖) or
    "autograd" (`torch.autograd.grad` of the population loss summed over trials). Per-trial step sizes and
    the two-stage schedule (stage I: η_a, η_w of Theorem 1 until T1; then η of Theorem 2 for both).
    Returns the final (v, a) and the seconds of the loop alone (tensors are built before, as ours are)."""
    import torch

    torch.set_num_threads(1)
    dt = torch.float64

    def col(x):
        return torch.tensor(np.asarray(x, dtype=float), dtype=dt)[:, None]

    p = v0.shape[1]
    e = torch.full((p,), 1 / math.sqrt(p), dtype=dt)
    vs, ast = torch.tensor(v_star, dtype=dt), torch.tensor(a_star, dtype=dt)
    star_mix = (ast.sum(-1, keepdim=True) - ast) / (2 * math.pi)  # (11ᵀ − I)a*/(2π)
    stage1, stage2 = (col(sched.eta_a), col(sched.stage1_eta_w)), (col(sched.eta), col(sched.eta))
    w = torch.tensor(v0, dtype=dt) - e
    a = torch.tensor(a0, dtype=dt)

    def angle(v):  # φ = atan2(‖v* − c v‖, c) for unit v: accurate near 0 and π, as ours
        c = (v * vs).sum(-1, keepdim=True)
        return torch.atan2((vs - c * v).norm(dim=-1, keepdim=True), c), c

    def loss(w, a):  # L = a*ᵀMa* − 2aᵀN(φ)a* + aᵀMa (the a*ᵀMa* term has no gradient: left out)
        u = e + w
        phi, _ = angle(u / u.norm(dim=-1, keepdim=True))
        g = (torch.sin(phi) + (math.pi - phi) * torch.cos(phi)) / (2 * math.pi)
        ma = ((math.pi - 1) * a + a.sum(-1, keepdim=True)) / (2 * math.pi)
        return ((a * ma).sum() - 2 * (a * (g * ast + star_mix)).sum())

    start = time.perf_counter()
    for t in range(steps):
        ea, ew = stage1 if t < sched.stage1_iterations else stage2
        if gradients == "autograd":
            w.requires_grad_(True)
            a.requires_grad_(True)
            gw, ga = torch.autograd.grad(loss(w, a), (w, a))
            w, a = w.detach(), a.detach()
        else:
            u = e + w
            r = u.norm(dim=-1, keepdim=True)
            v = u / r
            phi, c = angle(v)
            s = (a * ast).sum(-1, keepdim=True) * (math.pi - phi) / math.pi
            gw = -s * (vs - c.clamp(-1.0, 1.0) * v) / r
            g = (torch.sin(phi) + (math.pi - phi) * torch.cos(phi)) / (2 * math.pi)
            ga = ((math.pi - 1) * a + a.sum(-1, keepdim=True)) / math.pi - 2 * (g * ast + star_mix)
        u = e + (w - ew * gw)
        w = u / u.norm(dim=-1, keepdim=True) - e
        a = a - ea * ga
    seconds = time.perf_counter() - start
    u = e + w
    return (u / u.norm(dim=-1, keepdim=True)).numpy(), a.numpy(), seconds


def plain_step(v, a, vs, ast, sum_star, ea, ew):
    """One step of the earlier compact peer (torch tensors, trials as rows; ea, ew columns): the step-size
    constants recomputed every step, one torch operation per arithmetic operation. Not the peer: for reference."""
    import torch

    c = (v * vs).sum(-1, keepdim=True)
    tangent = vs - c * v
    sin = tangent.norm(dim=-1, keepdim=True)
    far = math.pi - torch.atan2(sin, c)
    u = v + (ew * (a * ast).sum(-1, keepdim=True) * far / math.pi) * tangent
    v = u / u.norm(dim=-1, keepdim=True)
    a = ((1 - ea * (math.pi - 1) / math.pi) * a + ea * (sin + far * c - 1) / math.pi * ast
         + ea * (sum_star - a.sum(-1, keepdim=True)) / math.pi)
    return v, a


def compact_step(v, a, vs, neg_vs, ast, decay, ea_pi, ew_pi, c0):
    """One step of the compact peer (torch tensors, trials as rows; per-trial constants as columns): the
    arithmetic of our vector representation (resnet_cli/models/two_layer/gd_states.py) in as few torch
    operations as we can write it — row dot products by `linalg.vecdot`, every a·x + y by one `addcmul`,
    π − φ = atan2(sin φ, −cos φ) (v* also kept negated), in place where the tensor is the step's own; the
    per-stage constants d = 1 − η_a(π − 1)/π (one number when every trial has the same η_a), η_a/π, η_w/π
    and η_a 1ᵀa*/π come from `torch_compact`, computed once per stage, as ours are."""
    import torch

    neg_cos = torch.linalg.vecdot(v, neg_vs).unsqueeze_(-1)
    tangent = torch.addcmul(vs, neg_cos, v)  # t = v* − (vᵀv*) v
    sin = torch.linalg.vector_norm(tangent, dim=-1, keepdim=True)
    far = torch.atan2(sin, neg_cos)  # π − φ
    x = torch.linalg.vecdot(a, ast).unsqueeze_(-1).mul_(far).mul_(ew_pi)  # η_w (aᵀa*)(π − φ)/π
    u = torch.addcmul(v, x, tangent)
    v = u.div_(torch.linalg.vector_norm(u, dim=-1, keepdim=True))
    b = torch.addcmul(sin.sub_(1.0), far, neg_cos, value=-1.0).mul_(ea_pi)  # η_a(sin φ + (π − φ) cos φ − 1)/π
    c = torch.addcmul(c0, ea_pi, a.sum(-1, keepdim=True), value=-1.0)  # η_a(1ᵀa* − 1ᵀa)/π
    decayed = torch.add(c, a, alpha=decay) if isinstance(decay, float) else torch.addcmul(c, decay, a)
    return v, torch.addcmul(decayed, b, ast)  # d a + b a* + c 1


_COMPILED = {}


def torch_compact(v0, a0, v_star, a_star, sched, steps, compiled=False, plain=False):
    """The compact peer: the same GD with normalization written as tightly as we can in torch (`compact_step`)
    — v carried unit (no e + w round trip, one normalization per step), φ from the tangent the w-step needs,
    the a-step as d a + b a* + c 1. Each step takes the step sizes `sched.at(t)` hands (per-trial T1, held and
    layerwise schedules included), their constants computed once per distinct array, as ours are.
    `compiled`: the step through `torch.compile` (inductor); `plain`: the earlier step (`plain_step`, stage II
    at η on both layers). Returns the final (v, a) (float64, all trials as one tensor, one thread)."""
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    step = plain_step if plain else compact_step
    if compiled:
        step = _COMPILED.setdefault(step.__name__, torch.compile(step, dynamic=False))

    def col(x):
        return torch.tensor(np.asarray(x, dtype=float), dtype=dt)[:, None]

    vs, ast = torch.tensor(v_star, dtype=dt), torch.tensor(a_star, dtype=dt)
    v = torch.tensor(v0, dtype=dt)
    v = v / v.norm(dim=-1, keepdim=True)
    a = torch.tensor(a0, dtype=dt)
    sum_star = ast.sum(-1, keepdim=True)
    if plain:
        stage1, stage2 = (col(sched.eta_a), col(sched.stage1_eta_w)), (col(sched.eta), col(sched.eta))
        with torch.inference_mode():
            for t in range(steps):
                v, a = step(v, a, vs, ast, sum_star, *(stage1 if t < sched.stage1_iterations else stage2))
        return v.numpy(), a.numpy()
    neg_vs, constants = -vs, {}

    def stage(t):
        eta_a, eta_w = sched.at(t)
        key = (id(eta_a), id(eta_w))  # the schedule hands the same arrays until the next stage
        if key not in constants:
            decay = 1.0 - eta_a * ((math.pi - 1) / math.pi)
            decay = float(decay[0]) if decay.size and (decay == decay[0]).all() else col(decay)
            ea_pi = col(eta_a / math.pi)
            constants[key] = (decay, ea_pi, col(eta_w / math.pi), ea_pi * sum_star)
        return constants[key]

    with torch.inference_mode():
        for t in range(steps):
            v, a = step(v, a, vs, neg_vs, ast, *stage(t))
    return v.numpy(), a.numpy()


def deviation(v, a, ours) -> float:
    """max |Δv|, |Δa| between a peer's final state and ours (rows in the same order)."""
    return float(max(np.abs(v - ours.v[: len(v)]).max(), np.abs(a - ours.a[: len(a)]).max()))


def schedule_check(cfg, rng) -> str:
    """Agreement over a real two-stage ssw schedule (stage II at Theorem 2's larger step), both torch routes."""
    trials, t1, steps = 200, 1500, 3000
    sub = exp.TrainSettings(p=cfg.p, k=cfg.k, trials=trials, schedule="ssw", stage1_steps=t1, steps=steps)
    v_star, a_star = tls.draw_teachers(sub, rng, trials, sub.p, sub.k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    sched = tls.schedule(sub, "ssw", a_star)
    parts = []
    for rep in ("vector", "plane"):
        ours = optim.run_gd(v0, a0, v_star, a_star, sched, steps, tls.criteria(sub), representation=rep)
        for grads in ("manual", "autograd"):
            v, a, _ = torch_batched(v0, a0, v_star, a_star, sched, steps, grads)
            parts.append(f"{grads} vs {rep} {deviation(v, a, ours):.1e}")
        v, a = torch_compact(v0, a0, v_star, a_star, sched, steps)
        parts.append(f"compact vs {rep} {deviation(v, a, ours):.1e}")
    return (f"two-stage check ({trials} trials, T1 = {t1} of {steps} steps, ssw): max |Δv|, |Δa| torch vs ours: "
            + ", ".join(parts))


def peer_seconds(plans, sample_steps: int) -> float:
    """The compact peer's CPU seconds for the preset's work: for each cell, its stacked methods' run (all rows,
    all T steps, no early stop: the peer has none) and its Theorem-1 run ([T1, T] on the checked methods'
    rows), each timed for `sample_steps` steps on the cell's own arrays and scaled to the steps the preset
    runs (a peer step costs the same at every t: same shapes, no data-dependent work)."""
    total = 0.0
    for plan in plans:
        work = [(run.v0, run.a0, run.v_star, run.a_star, run.schedule, run.iterations) for _, run in plan.main_runs()]
        if plan.own:  # the Theorem-1 run: the checked methods' rows, their held schedule, from T1 to T
            rows, (v0, a0, v_star, a_star, schedule, _) = plan.rows(plan.own), work[0]
            work.append((v0[rows], a0[rows], v_star[rows], a_star[rows], schedule.take(rows).held(), plan.steps - plan.t1))
        for v0, a0, v_star, a_star, schedule, steps in work:
            start = time.process_time()
            torch_compact(v0, a0, v_star, a_star, schedule, sample_steps)
            total += (time.process_time() - start) / sample_steps * steps
    return total


def preset_work(quick: bool, rounds: int, have_torch: bool) -> tuple[list[dict], list[str]]:
    """The preset liu2019-success (its whole grid in one process, --jobs 1) against the compact peer on the
    same work, interleaved; and the preset end to end with 2 processes."""
    from resnet_cli.experiments import sweep

    extra = {"k": [4, 9], "trials": 200} if quick else {}
    one = sr.SuccessSettings.resolve("liu2019-success", {"jobs": 1, **extra})
    plans = [sr.CellPlan(sr.PkTask(sweep.cell_settings(one), p, k)) for p in one.p for k in one.k]
    runs = {"ours": lambda: sr.run(one)}
    peer_time: list[float] = []
    sample = 100 if quick else 300
    if have_torch:
        runs["peer"] = lambda: peer_time.append(peer_seconds(plans, sample))
    timed = timing.interleaved(runs, rounds)
    cells = timed["ours"].result.cells
    trial_iters = sum(c.mean_steps_run * c.trials for c in cells)
    size = f"{len(one.k)} k × {len(one.method)} methods × {one.trials} trials"
    rows = [{"engine": f"ours: preset liu2019-success ({size}) as one batch, 1 process",
             "trials": one.trials * len(cells), "steps": "T1 + 20000, early stop",
             "seconds": f"{timed['ours'].median:.1f}", "CPU s": f"{timed['ours'].median_cpu:.1f}",
             "trial-steps/s": f"{trial_iters / timed['ours'].median:,.0f}"}]
    notes = []
    if peer_time:
        ratios = sorted(p / c for p, c in zip(peer_time, timed["ours"].cpu))
        rows[0]["× peer"] = f"{ratios[len(ratios) // 2]:.1f}×"
        rows.append({"engine": "**PEER** on the preset's work: torch compact step, each cell's methods as one tensor, "
                               "every row every step (no early stop), plus each cell's Theorem-1 run",
                     "trials": one.trials * len(cells), "steps": "T1 + 20000 (+ 20000 Theorem-1)",
                     "CPU s": f"{sorted(peer_time)[len(peer_time) // 2]:.1f} (extrapolated)", "× peer": "1.00×"})
        notes.append(f"preset's work: {rounds} interleaved rounds of (ours: the preset, CPU s of this process; the peer: "
                     f"{sample} steps of every cell's runs timed (CPU s) and scaled to the preset's steps); × peer = median of "
                     f"the per-round ratios of CPU seconds (peer ÷ ours); per-round ratios "
                     + ", ".join(f"{r:.1f}" for r in ratios))
    jobs = min(2, os.cpu_count() or 1)
    two = sr.SuccessSettings.resolve("liu2019-success", {"jobs": jobs, **extra})
    start = time.perf_counter()
    both = sr.run(two).cells
    seconds = time.perf_counter() - start
    same = [c.to_dict() for c in both] == [c.to_dict() for c in cells]
    rows.append({"engine": f"ours: preset liu2019-success end to end ({size}, {jobs} processes; no peer)",
                 "trials": one.trials * len(cells), "steps": "T1 + 20000, early stop", "seconds": f"{seconds:.1f}",
                 "trial-steps/s": f"{trial_iters / seconds:,.0f}"})
    notes.append(f"the preset with {jobs} processes gives the same cells as with 1: {same}")
    return rows, notes


def run(quick: bool = False) -> dict:
    p, k = 8, 16
    trials, torch_trials = (200, 3) if quick else (1000, 10)
    iterations = 1000 if quick else 3000
    rng = make_rng(0)
    # All steps in stage I (ssw), as in the earlier runs of this bench: φ stays away from 0, where the per-trial
    # peer's autograd of arccos gives NaN. The two-stage schedule is checked separately (schedule_check).
    cfg = exp.TrainSettings(p=p, k=k, trials=trials, schedule="ssw", stage1_steps=iterations, steps=iterations)
    v_star, a_star = tls.draw_teachers(cfg, rng, trials, p, k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    sched = tls.schedule(cfg, "ssw", a_star)
    rounds = 3 if quick else 5
    runs = {rep: (lambda rep=rep: optim.run_gd(v0, a0, v_star, a_star, sched, iterations, tls.criteria(cfg),
                                                representation=rep)) for rep in ("plane", "vector")}
    compile_note = None
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    if have_torch:
        torch_compact(v0, a0, v_star, a_star, sched, 10)  # warm-up (allocator, kernels)
        runs["torch compact"] = lambda: torch_compact(v0, a0, v_star, a_star, sched, iterations)
        runs["torch plain"] = lambda: torch_compact(v0, a0, v_star, a_star, sched, iterations, plain=True)
        if os.environ.get("BENCH_COMPILE"):  # off by default: it compiles for tens of seconds and has not helped
            start = time.process_time()
            torch_compact(v0, a0, v_star, a_star, sched, 10, compiled=True)
            compile_note = f"torch.compile of the compact step: {time.process_time() - start:.1f} CPU s to compile"
            runs["torch compact compiled"] = lambda: torch_compact(v0, a0, v_star, a_star, sched, iterations, compiled=True)
        for grads in ("manual", "autograd"):
            runs[f"torch {grads}"] = lambda grads=grads: torch_batched(v0, a0, v_star, a_star, sched, iterations, grads)[:2]
    timed = timing.interleaved(runs, rounds)
    notes = [compile_note or "torch.compile (set BENCH_COMPILE=1 to time it) is left out by default: on this machine "
             "(one thread, torch 2.13 CPU) the compiled compact step took 2.6× the CPU time of the eager one per step at 200 "
             "trials after a 4 s compile (the earlier step: 1.3× at 200 trials to 2.9× at 1000, after 3-48 s), so it does not "
             "help the peer"] + [f"interleaved: {rounds} rounds, every engine once per round in rotated order; seconds are medians, "
             "ratios medians of the per-round ratios (wall; CPU time beside)"]
    labels = {"plane": "ours: plane representation (exact reduced coordinates: an angle + 3 coefficients per trial)",
              "vector": "ours: vector representation (v, a as rows: the same arithmetic as the compact peer)",
              "torch compact": "torch batched, compact hand-written step (v unit, fused addcmul/vecdot, "
                               "constants once per stage)",
              "torch plain": "torch batched, the earlier compact step (an operation per arithmetic operation, "
                             "constants every step)",
              "torch compact compiled": "the compact step through torch.compile (inductor, CPU)",
              "torch manual": "torch batched, hand-written gradients through e + w (renormalizes twice)",
              "torch autograd": "torch batched, autograd gradients"}
    peers = [name for name in timed if name.startswith("torch")]
    peer = min(peers, key=lambda name: timed[name].median) if peers else None
    rows = []
    for name, t in sorted(timed.items(), key=lambda kv: kv[1].median):
        row = {"engine": ("**PEER**: " if name == peer else "") + labels[name], "trials": trials, "steps": iterations,
               "seconds": f"{t.median:.2f}", "CPU s": f"{t.median_cpu:.2f}",
               "trial-steps/s": f"{trials * iterations / t.median:,.0f}"}
        if peer:
            row["× peer"] = f"{timing.paired_ratio(timed, peer, name):.2f}×"
            row["× peer (CPU)"] = f"{timing.paired_ratio(timed, peer, name, cpu=True):.2f}×"
        rows.append(row)
    if have_torch:
        start = time.perf_counter()
        finals = [
            torch_trial(v0[i], a0[i], v_star[i], a_star[i], sched.eta_a[i], sched.stage1_eta_w[i], sched.eta[i], sched.stage1_iterations, iterations)
            for i in range(torch_trials)
        ]
        loop_seconds = time.perf_counter() - start
        loop_rate = torch_trials * iterations / loop_seconds
        rows.append({"engine": "torch autograd, one trial at a time (not the peer: for reference)", "trials": torch_trials,
                     "steps": iterations, "seconds": f"{loop_seconds:.2f}", "trial-steps/s": f"{loop_rate:,.0f}"})
        plane = timed["plane"].result
        finite = np.isfinite(plane.final["loss"])
        for name in peers:
            v, a = timed[name].result
            for rep in ("vector", "plane"):
                res = timed[rep].result
                notes.append(timing.agreement(f"{name} vs ours ({rep}), {trials} trials",
                                              np.hstack([res.v, res.a]), np.hstack([v, a]), finite)[0])
        loop_v = np.array([fv for fv, _ in finals])
        loop_a = np.array([fa for _, fa in finals])
        notes.append(timing.agreement(f"torch one trial at a time vs ours (plane), {torch_trials} trials",
                                      np.hstack([plane.v[:torch_trials], plane.a[:torch_trials]]),
                                      np.hstack([loop_v, loop_a]))[0])
        notes.append(schedule_check(cfg, make_rng(1)))
        notes.insert(0, f"the peer (\"× peer\" = the peer's time ÷ the row's, > 1: faster than the peer) is the fastest "
                        f"torch route in this run ({peer}); float64, one thread, per-trial step sizes, tensors built "
                        "before the loop. The vector row is the like-for-like comparison (same arithmetic); the plane "
                        "row is our engine's default (same iterates, fewer operations per step).")
    else:
        notes.append("torch not installed: the peers were skipped (install the bench extra)")
    preset_rows, preset_notes = preset_work(quick, rounds, have_torch)
    rows += preset_rows
    notes += preset_notes
    notes.append("targets: ≥ 100× the torch per-trial loop; the preset ≥ 5× the compact peer on its work; the vector "
                 "engine ≥ 2× the compact peer; the default preset under 60 s on 2 cores")
    return {
        "title": "success-rate: batched GD with normalization vs batched torch (Liu et al. 2019)",
        "command": "python tests/bench/run_bench.py --only bench_success",
        "rows": rows,
        "notes": notes,
    }


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
