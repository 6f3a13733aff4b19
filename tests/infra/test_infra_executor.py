"""executor.run_cells: bit-identical results for every executor, BLAS pinned, the resumable cell cache."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import resnet_cli
from resnet_cli.errors import UserError
from resnet_cli.executor import CacheWarning, CellCache, canonical_bytes, cell_key, run_cells

from infra_tasks import EigTask, blas_threads, dying_cell, eig_cell, failing_cell, pid_cell, pool_workers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def same_bits(a: list, b: list) -> bool:
    """Equal arrays and equal pickles, cell by cell (a list's pickle also encodes object identity)."""
    return len(a) == len(b) and all(
        np.array_equal(x, y) and pickle.dumps(x) == pickle.dumps(y) for x, y in zip(a, b)
    )


def calls(log_dir: Path) -> int:
    return len(list(log_dir.glob("call-*")))


def test_jobs_1_and_jobs_2_give_the_same_bits():
    tasks = [EigTask(seed) for seed in range(5)]
    serial = run_cells(eig_cell, tasks, jobs=1)
    pooled = run_cells(eig_cell, tasks, jobs=2)
    assert same_bits(serial, pooled)
    assert same_bits(serial, run_cells(eig_cell, tasks, jobs=3))
    assert not pool_workers()


def test_every_cell_runs_on_one_blas_thread_even_where_blas_has_more(tmp_path):
    """A past bug: the in-process path used the parent's multi-threaded BLAS. Start a process whose
    OpenBLAS has 2 threads; inside run_cells every cell sees 1 (in-process and in workers), the parent's own
    setting is restored afterwards, and jobs=1 equals jobs=2 bit for bit. Another: scipy's BLAS, loaded after
    the pin by the first cell that needed it, ran on every core."""
    script = tmp_path / "threads.py"
    script.write_text(
        "import json, pickle\n"
        "import numpy as np\n"
        "from resnet_cli.executor import run_cells\n"
        "from infra_tasks import EigTask, blas_threads, eig_cell, scipy_blas_threads\n"
        "if __name__ == '__main__':\n"
        "    before = blas_threads(None)\n"
        "    here = run_cells(blas_threads, [0], jobs=1)[0]\n"
        "    pool = run_cells(blas_threads, [0, 1], jobs=2)\n"
        "    lazy = run_cells(scipy_blas_threads, [0, 1], jobs=2)\n"
        "    after = blas_threads(None)\n"
        "    tasks = [EigTask(s) for s in range(3)]\n"
        "    a, b = run_cells(eig_cell, tasks, jobs=1), run_cells(eig_cell, tasks, jobs=2)\n"
        "    same = all(np.array_equal(x, y) and pickle.dumps(x) == pickle.dumps(y) for x, y in zip(a, b))\n"
        "    print(json.dumps({'before': before, 'here': here, 'pool': pool, 'lazy': lazy, 'after': after, 'same': same}))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    if seen["before"] and max(seen["before"]) < 2:
        pytest.skip(f"this BLAS does not start 2 threads here ({seen['before']})")
    # pinning loads scipy's own BLAS first (scipy's wheels bundle one apart from numpy's; the cells import it
    # lazily, after the pin): every library a cell sees is on one thread, scipy's included
    assert len(seen["here"]) >= len(seen["before"]) and set(seen["here"]) == {1}
    assert [len(p) >= len(seen["before"]) and set(p) == {1} for p in seen["pool"]] == [True, True]
    assert [set(p) for p in seen["lazy"]] == [{1}, {1}]
    assert seen["after"][: len(seen["before"])] == seen["before"]
    assert seen["same"]


def test_a_run_gives_the_same_bits_whatever_blas_threads_the_process_starts_with():
    """The cells ran on one BLAS thread but the run's own part did not: with OPENBLAS_NUM_THREADS=2 a
    depth-sweep's data (its L_min) and every cell computed from them differed in the last bits from a run with
    one thread (and so with the machine's core count, OpenBLAS's default). Now the whole run is on one thread."""
    args = ["depth-sweep", "--measure", "final-loss", "--depth", "2,4", "--network", "xavier", "--trials", "2",
            "--steps", "100", "--jobs", "1", "--json", "--quiet"]
    probe = "import numpy, threadpoolctl; print(max(i['num_threads'] for i in threadpoolctl.threadpool_info()))"
    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads}
        if threads == "2":
            started = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
            if int(started.stdout.strip() or 0) < 2:
                pytest.skip(f"this BLAS does not start 2 threads here ({started.stdout.strip()})")
        done = subprocess.run([sys.executable, "-m", "resnet_cli", *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["data"]["l_min"] > 0


def test_results_in_task_order_and_progress_in_weights():
    seen: list[tuple[float, float]] = []
    tasks = list(range(6))
    weights = [1, 5, 2, 0, 3, 1]
    for jobs in (1, 2):
        seen.clear()
        out = run_cells(failing_cell_safe, tasks, jobs=jobs, weights=weights,
                        progress=lambda done, total: seen.append((done, total)))
        assert out == [t * 10 for t in tasks]
        assert seen[0] == (0.0, 12.0) and seen[-1] == (12.0, 12.0)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert len(seen) == len(tasks) + 1


def failing_cell_safe(task: int) -> int:
    return task * 10


def test_bad_arguments():
    with pytest.raises(UserError, match=r"^--jobs 0: must be"):
        run_cells(eig_cell, [EigTask(0)], jobs=0)
    with pytest.raises(ValueError):
        run_cells(eig_cell, [EigTask(0)], weights=[1, 2])
    assert run_cells(eig_cell, [], jobs=2) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_in_a_cell_propagates_and_leaves_no_worker(jobs):
    with pytest.raises(ValueError, match="cell 3 failed"):
        run_cells(failing_cell, list(range(6)), jobs=jobs)
    assert not pool_workers()


def test_a_worker_that_dies_is_an_error_naming_its_cell_and_leaves_no_worker():
    """A worker process that vanishes mid-cell (OOM killer, os._exit) ends the sweep with an error naming the
    cell and the exit code, instead of waiting for a result that never comes."""
    with pytest.raises(RuntimeError, match=r"^a worker process died \(exit code 3\) while running cell 2$"):
        run_cells(dying_cell, list(range(5)), jobs=2)
    assert not pool_workers()


def test_shared_workers_serve_every_sweep_inside_and_leave_none_after():
    """`reproduce` runs its sweeps inside one `shared_workers` block: the same processes run every sweep
    (spawned once), the results are those of a pool of its own, their CPU counts in `cpu_seconds` while they
    live, and none is left after the block."""
    from resnet_cli.executor.pool import shared_workers, worker_cpu_seconds
    from resnet_cli.reproductions.common import cpu_seconds

    tasks = [EigTask(seed) for seed in range(4)]
    with shared_workers(2):
        before = cpu_seconds()
        first = run_cells(pid_cell, list(range(4)), jobs=2)
        second = run_cells(pid_cell, list(range(4, 8)), jobs=2)
        assert same_bits(run_cells(eig_cell, tasks, jobs=2), run_cells(eig_cell, tasks, jobs=1))
        pids = {pid for _, pid, _ in first}
        assert len(pids) == 2 and pids == {pid for _, pid, _ in second} == set(pool_workers())
        assert [task for task, _, _ in first + second] == list(range(8))
        burnt = sum(cpu for _, _, cpu in first + second)
        assert worker_cpu_seconds() >= burnt and cpu_seconds() - before >= burnt
    assert not pool_workers() and worker_cpu_seconds() == 0.0
    assert not (set(pool_workers()) & pids)


def test_an_error_inside_shared_workers_stops_them_and_the_next_sweep_spawns_afresh():
    from resnet_cli.executor.pool import shared_workers

    with shared_workers(2):
        pids = {pid for _, pid, _ in run_cells(pid_cell, [0, 1], jobs=2)}
        with pytest.raises(ValueError, match="cell 3 failed"):
            run_cells(failing_cell, list(range(6)), jobs=2)
        assert not pool_workers()
        again = {pid for _, pid, _ in run_cells(pid_cell, [0, 1], jobs=2)}
        assert len(again) == 2 and not again & pids
    assert not pool_workers()
    with pytest.raises(KeyboardInterrupt):
        with shared_workers(2):
            run_cells(pid_cell, [0, 1], jobs=2)
            assert len(pool_workers()) == 2
            raise KeyboardInterrupt  # between sweeps: the idle workers are stopped and reaped as well
    assert not pool_workers()


# ---------------------------------------------------------------------------------------------- the cache


def test_cache_hit_computes_nothing_and_returns_the_same_bits(tmp_path):
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    tasks = [EigTask(seed, n=120, log_dir=str(log)) for seed in range(4)]
    warnings: list[str] = []
    first = run_cells(eig_cell, tasks, jobs=2, cache=cache, warn=warnings.append)
    assert calls(log) == 4
    progress: list[tuple[float, float]] = []
    second = run_cells(eig_cell, tasks, jobs=2, cache=cache, warn=warnings.append,
                       progress=lambda d, t: progress.append((d, t)))
    assert calls(log) == 4
    assert progress == [(4.0, 4.0)]
    assert same_bits(first, second)
    assert same_bits(first, run_cells(eig_cell, tasks, jobs=1))
    assert warnings == []
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{cell_key(eig_cell, t)}.cell" for t in tasks)


def test_only_missing_cells_are_computed(tmp_path):
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    tasks = [EigTask(seed, n=120, log_dir=str(log)) for seed in range(4)]
    first = run_cells(eig_cell, tasks, cache=cache)
    (cache / f"{cell_key(eig_cell, tasks[2])}.cell").unlink()
    again = run_cells(eig_cell, tasks, jobs=2, cache=cache)
    assert calls(log) == 5
    assert len(list(log.glob("call-2-*"))) == 2
    assert same_bits(first, again)


def _entry(cache: Path, task) -> Path:
    return cache / f"{cell_key(eig_cell, task)}.cell"


@pytest.mark.parametrize(
    "damage, word",
    [
        (lambda b: b[:-5] + bytes([b[-5] ^ 0xFF]) + b[-4:], "corrupt"),  # one flipped payload byte
        (lambda b: b[: len(b) // 2], "corrupt"),  # truncated
        (lambda b: b"\x80\x04garbage", "not a resnet-cli cache entry"),
        (lambda b: CellCache.MAGIC + b"{not json\n" + b, "corrupt"),
        (lambda b: CellCache.MAGIC + b"[" * 100_000 + b"\n" + b, "corrupt"),  # nested past the recursion limit
        (lambda b: b"", "not a resnet-cli cache entry"),
    ],
    ids=["flipped-byte", "truncated", "garbage", "bad-header", "deep-header", "empty"],
)
def test_a_damaged_entry_is_ignored_with_a_warning_and_recomputed(tmp_path, damage, word):
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    task = EigTask(7, n=120, log_dir=str(log))
    (good,) = run_cells(eig_cell, [task], cache=cache)
    entry = _entry(cache, task)
    entry.write_bytes(damage(entry.read_bytes()))
    warnings: list[str] = []
    (again,) = run_cells(eig_cell, [task], cache=cache, warn=warnings.append)
    assert calls(log) == 2
    assert np.array_equal(good, again)
    assert len(warnings) == 1 and word in warnings[0] and str(entry) in warnings[0] and "\n" not in warnings[0]
    # The recomputed cell replaced the damaged entry: the next run trusts it again.
    warnings.clear()
    run_cells(eig_cell, [task], cache=cache, warn=warnings.append)
    assert calls(log) == 2 and warnings == []


def test_a_foreign_entry_is_never_trusted(tmp_path):
    """Another cell's (valid) entry under this cell's name: warned about, recomputed, not returned."""
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    mine, other = EigTask(1, n=120, log_dir=str(log)), EigTask(2, n=120, log_dir=str(log))
    (theirs,) = run_cells(eig_cell, [other], cache=cache)
    _entry(cache, mine).write_bytes(_entry(cache, other).read_bytes())
    warnings: list[str] = []
    (result,) = run_cells(eig_cell, [mine], cache=cache, warn=warnings.append)
    assert np.array_equal(result, eig_cell(EigTask(1, n=120)))
    assert not np.array_equal(result, theirs)
    assert len(warnings) == 1 and "foreign" in warnings[0]


def test_an_unreadable_entry_is_a_warning(tmp_path):
    cache = tmp_path / "cache"
    task = EigTask(3, n=50)
    run_cells(eig_cell, [task], cache=cache)
    entry = _entry(cache, task)
    entry.unlink()
    entry.mkdir()  # reading a folder fails with an OSError even for root
    warnings: list[str] = []
    (result,) = run_cells(eig_cell, [task], cache=cache, warn=warnings.append)
    assert np.array_equal(result, eig_cell(task))
    assert any("unreadable" in w for w in warnings)
    assert any("cannot write cache entry" in w for w in warnings)  # and it cannot be replaced either


def test_default_warning_is_a_cache_warning(tmp_path):
    cache = tmp_path / "cache"
    task = EigTask(3, n=50)
    run_cells(eig_cell, [task], cache=cache)
    _entry(cache, task).write_bytes(b"junk")
    with pytest.warns(CacheWarning, match="not a resnet-cli cache entry"):
        run_cells(eig_cell, [task], cache=cache)


def test_cache_folder_problems_are_one_line_user_errors(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(UserError, match=r"^--cache .*: exists and is not a folder$"):
        run_cells(eig_cell, [EigTask(0)], cache=afile)
    with pytest.raises(UserError, match=r"^--cache .*cannot create the folder"):
        run_cells(eig_cell, [EigTask(0)], cache=afile / "sub")
    (tmp_path / "new" / "deep").mkdir(parents=True)
    run_cells(eig_cell, [EigTask(0, n=20)], cache=tmp_path / "new" / "deep" / "cache")
    assert len(list((tmp_path / "new" / "deep" / "cache").glob("*.cell"))) == 1


def test_cache_key_covers_config_seed_function_and_version(monkeypatch):
    base = cell_key(eig_cell, EigTask(1))
    assert base == cell_key(eig_cell, EigTask(1))
    assert base != cell_key(eig_cell, EigTask(2))  # seed
    assert base != cell_key(eig_cell, EigTask(1, n=301))  # config
    assert base != cell_key(blas_threads, EigTask(1))  # function
    monkeypatch.setattr(resnet_cli, "__version__", "999.0")
    assert base != cell_key(eig_cell, EigTask(1))  # package version


def test_canonical_bytes_is_stable_and_type_aware():
    assert canonical_bytes({"a": 1, "b": [1.5, None]}) == canonical_bytes({"b": [1.5, None], "a": 1})
    assert canonical_bytes({3, 1, 2}) == canonical_bytes({2, 3, 1})
    assert canonical_bytes(1) != canonical_bytes(1.0) != canonical_bytes(True)
    assert canonical_bytes(0.0) != canonical_bytes(-0.0)
    assert canonical_bytes((1, 2)) != canonical_bytes([1, 2])
    a = np.arange(6.0)
    assert canonical_bytes(a) == canonical_bytes(a.copy())
    assert canonical_bytes(a) != canonical_bytes(a.reshape(2, 3))
    assert canonical_bytes(a) != canonical_bytes(a.astype(np.float32))
    assert canonical_bytes(a[::2]) == canonical_bytes(np.ascontiguousarray(a[::2]))
    with pytest.raises(TypeError, match="cannot make a cache key"):
        canonical_bytes(np.array([object()]))
    with pytest.raises(TypeError, match="cannot make a cache key"):
        canonical_bytes(iter([]))


def test_config_shaped_tasks_have_stable_keys():
    """Tasks like the sweeps' (nested settings dataclasses, a data set holding arrays, enums, paths) are keyable,
    and equal configs built separately give equal keys."""
    import enum
    from dataclasses import dataclass, field
    from pathlib import Path as P

    class Init(enum.Enum):
        ZERO = "zero"
        XAVIER = "xavier"

    @dataclass(frozen=True)
    class Data:
        X: np.ndarray
        name: str

    @dataclass
    class Settings:
        depths: list = field(default_factory=lambda: [2, 4, 8])
        init: Init = Init.ZERO
        out: P | None = None
        options: dict = field(default_factory=lambda: {"tol": 1e-8, "method": "exact"})
        seed: int = 0

    def task(seed=0):
        return (Settings(seed=seed, out=P("a.json")), Data(np.arange(12.0).reshape(3, 4), "digits"), "2-shortcut", 8)

    assert cell_key(eig_cell, task()) == cell_key(eig_cell, task())
    assert cell_key(eig_cell, task()) != cell_key(eig_cell, task(seed=1))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_keep_freed_memory_for_reuse(tmp_path):
    """keep_freed_memory (every pool worker calls it): three 8 MB arrays freed and allocated again 20 times
    fault their pages in once, not 20 times (minor page faults counted by the kernel, no timing)."""
    script = tmp_path / "faults.py"
    script.write_text(
        "import resource\n"
        "import numpy as np\n"
        "from resnet_cli.executor.cell import keep_freed_memory\n"
        "def faults():\n"
        "    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "    for _ in range(20):\n"
        "        a, b, c = np.ones(2**20), np.ones(2**20), np.ones(2**20)\n"
        "        del a, b, c\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start\n"
        "before = faults()\n"
        "keep_freed_memory()\n"
        "faults()\n"
        "print(before, faults())\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, after = map(int, out.stdout.split())
    if before < 5000:
        pytest.skip(f"this allocator already reuses the block ({before} faults)")
    assert after < before / 10


def test_an_unset_jobs_stays_in_this_process_for_a_run_estimated_under_two_seconds(monkeypatch):
    """--jobs left unset: the CPU count (at most 2), except where the experiment's own estimate puts the run
    under POOL_FROM_SECONDS on one core; an explicit --jobs, --dask or no estimate keep the CPU count."""
    from dataclasses import replace

    from resnet_cli.executor import pool
    from resnet_cli.experiments import depth_sweep, hessian, sweep
    from resnet_cli.report import to_jsonable

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    small = hessian.HessianSettings(depth=2, trials=2)
    assert hessian.cost(replace(small, jobs=1)).seconds < sweep.POOL_FROM_SECONDS
    assert sweep.workers(small, hessian.cost) == 1 and sweep.with_jobs(small, hessian.cost).jobs == 1
    large = depth_sweep.DepthSweepSettings(depth=[32, 64], trials=10)
    assert depth_sweep.cost(replace(large, jobs=1)).seconds > sweep.POOL_FROM_SECONDS
    assert sweep.workers(large, depth_sweep.cost) == 2 and sweep.with_jobs(large, depth_sweep.cost).jobs == 2
    assert sweep.workers(replace(small, jobs=2), hessian.cost) == 2 and sweep.workers(small) == 2
    assert sweep.with_jobs(replace(small, dask="tcp://x:1"), hessian.cost).jobs is None
    # `hessian --at trained`: the training runs in this process before the cells, so only the spectra count
    trained = hessian.HessianSettings(depth=2, trials=2, at="trained", init="xavier", steps=2_000_000)
    assert hessian.cost(replace(trained, jobs=1)).seconds > 10 * sweep.POOL_FROM_SECONDS
    assert hessian.spectra_cost(replace(trained, jobs=1)).seconds < sweep.POOL_FROM_SECONDS
    assert sweep.workers(trained, hessian.spectra_cost) == 1 and hessian.cost(trained).workers == 1
    assert sweep.workers(replace(trained, depth=48, trials=4), hessian.spectra_cost) == 2  # large spectra: a pool

    def no_pool(*args, **kwargs):
        raise AssertionError("a pool was started")

    monkeypatch.setattr(pool, "run_pool", no_pool)
    here = json.dumps(to_jsonable(hessian.run(small).to_dict()))
    monkeypatch.undo()
    assert here == json.dumps(to_jsonable(hessian.run(replace(small, jobs=2)).to_dict()))  # and in a pool of 2
