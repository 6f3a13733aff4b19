"""Minibatch SGD on samples (Liu et al. 2019 beyond the population loss): our batched `SampleState` against a batched torch autograd peer.

Same work for both: `trials` two-layer ResNet students (Liu et al. 2019, GD with normalization), each with its
own training set of N Gaussian inputs (x: trials × N × d) and labels from its teacher, minibatch SGD with batch
B for `steps` steps at fixed step sizes, the same minibatches (each trial's reshuffled epochs from its own
Generator, replayed for the peer). The peer is what a researcher would write with torch: all trials as one
tensor, patches by `unfold`, the empirical loss summed over trials, `torch.autograd.grad`, then the normalized
update. We report trial-sample-steps per second (trials × B × steps / seconds), the ratio, and check that both
end at the same (v, a).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from resnet_cli.experiments import two_layer as exp
from resnet_cli.models.two_layer import population as tl
from resnet_cli.experiments import two_layer_settings as tls
from resnet_cli.models.two_layer import samples as ts
from resnet_cli.rng import make_rng

import timing  # noqa: E402  (tests/bench/timing.py, on the path run_bench.py sets)


def batch_indices(gens: list[np.random.Generator], n_samples: int, batch: int, steps: int) -> np.ndarray:
    """The minibatch indices `SampleState` reads, step by step (steps × trials × B): the same epoch scheme."""
    perm = [g.permutation(n_samples) for g in gens]
    nxt = [g.permutation(n_samples) for g in gens]
    pos = [0] * len(gens)
    out = np.empty((steps, len(gens), batch), dtype=np.int64)
    for t in range(steps):
        for i, g in enumerate(gens):
            out[t, i] = np.concatenate([perm[i], nxt[i]])[pos[i]:pos[i] + batch]
            pos[i] += batch
            if pos[i] >= n_samples:
                perm[i], nxt[i], pos[i] = nxt[i], g.permutation(n_samples), pos[i] - n_samples
    return out


def torch_sgd(x, y, v0, a0, idx, p, stride, eta_a, eta_w):
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    xt, yt = torch.tensor(x, dtype=dt), torch.tensor(y, dtype=dt)
    u = torch.tensor(v0, dtype=dt).requires_grad_(True)
    a = torch.tensor(a0, dtype=dt).requires_grad_(True)
    index = torch.tensor(idx)
    rows = torch.arange(x.shape[0])[:, None]
    start = time.perf_counter()  # the SGD loop only: tensors are built before, as ours are
    for t in range(idx.shape[0]):
        xb, yb = xt[rows, index[t]], yt[rows, index[t]]  # trials × B × d, trials × B
        z = xb.unfold(-1, p, stride)  # trials × B × k × p
        v = u / u.norm(dim=-1, keepdim=True)
        h = (torch.relu(torch.einsum("nbkp,np->nbk", z, v)) * a[:, None, :]).sum(-1)
        loss = ((h - yb) ** 2).mean(-1).sum()
        gu, ga = torch.autograd.grad(loss, (u, a))
        with torch.no_grad():
            un = u - eta_w * gu
            u.copy_(un / un.norm(dim=-1, keepdim=True))
            a.sub_(eta_a * ga)
    return u.detach().numpy(), a.detach().numpy(), time.perf_counter() - start


def torch_sgd_manual(x, y, v0, a0, idx, p, stride, eta_a, eta_w):
    """The hand-written peer: the same minibatch SGD with gradients written out (no autograd), all trials as
    one tensor: r = h − y, ∇_a = (2/B) Σ_b r σ(z_kᵀv), ∇_v = (2/B) Σ_b r Σ_k a_k 1[z_kᵀv > 0] z_k, projected on
    the tangent of the unit u (‖u‖ = 1 after every step, so ∇_u = (I − uuᵀ)∇_v)."""
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    xt, yt = torch.tensor(x, dtype=dt), torch.tensor(y, dtype=dt)
    u = torch.tensor(v0, dtype=dt)
    u = u / u.norm(dim=-1, keepdim=True)
    a = torch.tensor(a0, dtype=dt)
    index = torch.tensor(idx)
    rows = torch.arange(x.shape[0])[:, None]
    batch = idx.shape[2]
    for t in range(idx.shape[0]):
        z = xt[rows, index[t]].unfold(-1, p, stride)  # trials × B × k × p
        pre = torch.einsum("nbkp,np->nbk", z, u)
        act = torch.relu(pre)
        r = (act * a[:, None, :]).sum(-1) - yt[rows, index[t]]  # trials × B
        ga = (2.0 / batch) * torch.einsum("nb,nbk->nk", r, act)
        gv = (2.0 / batch) * torch.einsum("nb,nbk,nbkp->np", r, (pre > 0) * a[:, None, :], z)
        gu = gv - (gv * u).sum(-1, keepdim=True) * u
        un = u - eta_w * gu
        u = un / un.norm(dim=-1, keepdim=True)
        a = a - eta_a * ga
    return u.numpy(), a.numpy()


def run(quick: bool = False) -> dict:
    p, k, n_samples, batch = 8, 16, 1024, 16
    trials, steps = (50, 100) if quick else (200, 400)
    eta_a, eta_w = 0.01, 0.05
    rng = make_rng(0)
    cfg = exp.TrainSettings(p=p, k=k, trials=trials)
    v_star, a_star = tls.draw_teachers(cfg, rng, trials, p, k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    gens = ts.trial_generators(rng, trials)
    x, y = ts.draw_training_set(gens, v_star, a_star, n_samples)
    ea, ew = np.full(trials, eta_a), np.full(trials, eta_w)
    idx = batch_indices(copy.deepcopy(gens), n_samples, batch, steps)  # the peer replays the same minibatches

    def ours():
        state = ts.SampleState(v0, a0, v_star, a_star, x, y, batch=batch, rngs=copy.deepcopy(gens))
        for _ in range(steps):
            state.step(ea, ew)
        return state.v.copy(), state.a.copy()

    runs = {"ours": ours}
    notes = [f"p = {p}, k = {k}, N = {n_samples} Gaussian inputs per trial, B = {batch}, η_a = {eta_a}, "
             f"η_w = {eta_w}, ResNet students (w0 = 0), one BLAS/torch thread."]
    try:
        import torch  # noqa: F401
        runs["torch manual"] = lambda: torch_sgd_manual(x, y, v0, a0, idx, p, p, eta_a, eta_w)
        runs["torch autograd"] = lambda: torch_sgd(x, y, v0, a0, idx, p, p, eta_a, eta_w)[:2]
    except ImportError:
        notes.append("torch is not installed (`pip install '.[bench]'`): no peer timing.")
    rounds = 3 if quick else 5
    timed = timing.interleaved(runs, rounds)
    work = trials * batch * steps
    labels = {"ours": "ours: SampleState (numpy, batched over trials and samples)",
              "torch manual": "torch, hand-written gradients, all trials as one tensor, same minibatches",
              "torch autograd": "torch, autograd gradients, all trials as one tensor, same minibatches"}
    torch_names = [name for name in timed if name.startswith("torch")]
    peer = min(torch_names, key=lambda name: timed[name].median) if torch_names else None
    rows = [{"engine": ("**PEER**: " if name == peer else "") + labels[name], "trials": trials, "B": batch, "steps": steps, "seconds": f"{t.median:.2f}",
             "CPU s": f"{t.median_cpu:.2f}", "trial-sample-steps/s": f"{work / t.median:,.0f}",
             **({"× peer": f"{timing.paired_ratio(timed, peer, name):.2f}×",
                 "× peer (CPU)": f"{timing.paired_ratio(timed, peer, name, cpu=True):.2f}×"} if peer else {})}
            for name, t in timed.items()]
    notes.insert(0, f"interleaved: {rounds} rounds in rotated order, medians; \"× peer\" = the peer's time ÷ the row's; "
                    "the peer is the faster torch route of this run")
    if peer:
        v_ours, a_ours = timed["ours"].result
        for name in torch_names:
            v_peer, a_peer = timed[name].result
            notes.append(timing.agreement(f"{name} vs ours after the same minibatches",
                                          np.hstack([v_ours, a_ours]), np.hstack([v_peer, a_peer]))[0])
    return {"title": "Minibatch SGD on samples (Liu et al. 2019 beyond the population loss)",
            "command": "python tests/bench/run_bench.py --only bench_sgd", "rows": rows, "notes": notes}


if __name__ == "__main__":
    result = run(quick=True)
    for row in result["rows"]:
        print(row)
    print(*result["notes"], sep="\n")
