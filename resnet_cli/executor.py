"""One way to run the cells of every sweep: in this process, in a local process pool, or on dask.distributed.

Why (issue 11): each sweep used to carry its own loop and its own `ProcessPoolExecutor`, the serial path
ran in-process with multi-threaded BLAS while pool workers were single-threaded (so `--jobs 1` and
`--jobs 2` differed in the last bits: 5.5e-12 in depth-sweep), Ctrl-C left workers behind, and nothing
survived an interrupt. `run_cells(fn, tasks, ...)` is the single entry point:

- **Where.** ``jobs=1``: this process. ``jobs>1``: a local `concurrent.futures.ProcessPoolExecutor` with the
  "spawn" start method (no fork of a parent that holds BLAS thread pools or a rich live display).
  ``dask=ADDRESS``: `distributed.Client(ADDRESS).get_executor()`, the same concurrent.futures interface;
  `distributed` is imported only then (extra ``resnet-cli[distributed]``), and a missing package or an
  unreachable scheduler is a one-line UserError. With ``dask`` set, ``jobs`` is ignored. Cells are
  submitted largest `weights` first, so the slowest cells start early and workers finish together.
- **Bit-identical results.** Every cell runs with BLAS and OpenMP limited to one thread wherever it runs,
  in this process too, via `threadpoolctl.threadpool_limits(1)`: applied after the cell function (and so
  numpy) is imported, which environment variables cannot guarantee in a spawned worker (the parent's main
  module, importing numpy, is re-imported before any initializer runs) nor in this process. One thread
  means one summation order, so a fixed seed gives the same bits for every executor and every ``jobs``
  (same machine, same numpy and BLAS build; a dask worker on another CPU type may pick other kernels).
  Each task must carry its full config and seed: cells never depend on the order they run in. On dask a
  task travels as one in-band pickle, so its numpy arrays are aligned on the worker (see `_run_dask`).
- **Interrupts.** Waiting for cells is interruptible. On any exception while cells run — KeyboardInterrupt,
  `signals.Terminated`, or a cell's own error — pending futures are cancelled, pool workers are
  terminated (SIGTERM, then SIGKILL after 1 s) and joined, so no orphan is left, and the exception is
  re-raised, well within 2 s. Workers ignore SIGINT themselves (a terminal's Ctrl-C reaches the whole
  process group; the parent alone decides, and no worker prints a traceback) and, on Linux, ask the kernel
  to kill them should the parent die without cleaning up. Cancelled dask tasks that already run finish
  on their workers (dask cannot stop a running task); their results are dropped.
- **Resumable sweeps.** With ``cache=DIR`` each finished cell is stored at once (atomically), keyed by
  sha256 over the package version, the cell function's module and qualified name and a canonical
  serialization of the task (which holds the seed); a re-run computes only missing cells and returns the
  same values. An entry is trusted only if it carries this key and its payload matches the stored
  sha256; a corrupt, foreign or unreadable entry is reported through ``warn(message)`` and recomputed.

Cache store: hand-written, not `joblib.Memory`. Checked with joblib 1.6: (1) a corrupt entry makes joblib
print a full traceback to stderr (even at verbose=0) before recomputing — against "no traceback" and "no
printing in this module"; (2) an entry copied from another call's folder is returned without complaint —
a foreign result silently trusted, since joblib stores no key or checksum inside its `output.pkl`; (3) its
key covers the function's source text and the path of its module file, not the package version, and a
changed function makes joblib clear that function's whole cache with a printed warning. The store below is
~100 lines: one file per cell, `<key>.cell` = magic line + JSON header (key, sha256, size, version, fn)
+ pickle payload, written with `outputs.write_atomic`; the payload is unpickled only after the key and
checksum match. (A checksum is no signature: do not point ``--cache`` at a folder others can write, as
with any file that Python loads.) The canonical task serialization (`canonical_bytes`) is type-tagged and
covers None/bool/int/float/complex/str/bytes, enums, paths, numpy arrays and scalars (dtype, shape,
bytes), lists, tuples, named tuples, dicts and sets (order-independent), dataclasses and plain objects
(by their fields), and functions/classes by qualified name; anything else is a TypeError rather than a
silently unstable key.

Nothing here prints; `progress(done, total)` is called in the caller's thread, in units of `weights`.
A cell may call `cell_progress(fraction)` as it goes: in this process the caller's progress moves at once;
from a pool worker the fraction lands in a shared array the parent reads every `POLL_SECONDS` (on dask,
progress moves per finished cell). So a bar moves per inner step and its ETA stays honest.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import enum
import hashlib
import json
import math
import os
import pickle
import signal
import threading
import time
import warnings
from pathlib import Path, PurePath
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

import resnet_cli
from resnet_cli.errors import UserError

__all__ = [
    "CacheWarning",
    "CellCache",
    "canonical_bytes",
    "cell_key",
    "cell_progress",
    "pin_blas",
    "run_cells",
]

#: Seconds to wait for a dask scheduler before calling it unreachable.
DASK_CONNECT_TIMEOUT = 10
#: Seconds a terminated worker gets before SIGKILL.
WORKER_GRACE = 1.0
#: Seconds between looks at the progress of cells running in pool workers.
POLL_SECONDS = 0.25

_MISSING = object()


class CacheWarning(UserWarning):
    """A cache entry was ignored (corrupt, foreign, unreadable) or could not be written."""


# --------------------------------------------------------------------------------------------------------
# Running one cell


def pin_blas() -> None:
    """Limit every loaded BLAS/OpenMP library of this process to one thread (left in place)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


# Progress inside a running cell (issue 11 point 2: the bar moves per inner step, not per finished cell).
# A cell function calls `cell_progress(fraction)`; in this process it reaches `run_cells`' progress at
# once, in a pool worker it lands in a shared array slot that the parent polls while it waits.
_CELL_HOOK: Callable[[float], None] | None = None
_SHARED_FRACTIONS: Any = None  # a pool worker's view of the parent's shared array (one slot per cell)


def cell_progress(fraction: float) -> None:
    """Report how far the running cell is, 0..1 (cheap; a no-op outside `run_cells` and on dask)."""
    hook = _CELL_HOOK
    if hook is not None:
        hook(min(max(float(fraction), 0.0), 1.0))


@contextlib.contextmanager
def _cell_hook(hook: Callable[[float], None] | None) -> Iterator[None]:
    global _CELL_HOOK
    previous, _CELL_HOOK = _CELL_HOOK, hook
    try:
        yield
    finally:
        _CELL_HOOK = previous


def _run_pinned(fn: Callable[[Any], Any], task: Any, slot: int | None = None) -> Any:
    """Worker side of a cell: unpickling `fn` has imported numpy by now, so the limit reaches its BLAS."""
    pin_blas()
    shared = _SHARED_FRACTIONS
    if slot is None or shared is None:
        return fn(task)

    def hook(fraction: float) -> None:
        shared[slot] = fraction

    with _cell_hook(hook):
        return fn(task)


#: Pickle protocol of a task sent to a dask worker: in-band data only (as a local pool's pickles on Python 3.11).
TASK_PICKLE_PROTOCOL = 4


def _run_pinned_pickled(fn: Callable[[Any], Any], blob: bytes) -> Any:
    """Dask worker side of a cell: the task arrives as one in-band pickle (see `_run_dask`)."""
    return _run_pinned(fn, pickle.loads(blob))


def _worker_init(fractions: Any = None) -> None:
    """Process-pool worker start: ignore Ctrl-C (the parent stops us), die with the parent (Linux)."""
    global _SHARED_FRACTIONS
    _SHARED_FRACTIONS = fractions
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


# --------------------------------------------------------------------------------------------------------
# Cache keys


def _type_name(obj: Any) -> str:
    t = obj if isinstance(obj, type) else type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _canon(obj: Any, out: bytearray) -> None:
    def text(tag: bytes, s: str) -> None:
        data = s.encode("utf-8")
        out.extend(tag + len(data).to_bytes(8, "big") + data)

    def fields(tag: bytes, name: str, items: Iterable[tuple[str, Any]]) -> None:
        items = list(items)
        text(tag, name)
        out.extend(len(items).to_bytes(8, "big"))
        for key, value in items:
            text(b"k", key)
            _canon(value, out)

    if obj is None:
        out.extend(b"N")
    elif obj is True or obj is False:
        out.extend(b"T" if obj else b"F")
    elif isinstance(obj, enum.Enum):
        text(b"E", f"{_type_name(obj)}.{obj.name}")
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("cannot make a cache key of a numpy array of Python objects")
        dtype = repr(obj.dtype.descr) if obj.dtype.fields else obj.dtype.str
        text(b"A", dtype)
        out.extend(len(obj.shape).to_bytes(8, "big"))
        for n in obj.shape:
            out.extend(int(n).to_bytes(8, "big"))
        data = np.ascontiguousarray(obj).tobytes()
        out.extend(len(data).to_bytes(8, "big") + data)
    elif isinstance(obj, np.generic):
        if obj.dtype.hasobject:
            raise TypeError("cannot make a cache key of a numpy object scalar")
        text(b"G", obj.dtype.str)
        data = obj.tobytes()
        out.extend(len(data).to_bytes(8, "big") + data)
    elif isinstance(obj, int):
        text(b"I", str(int(obj)))
    elif isinstance(obj, float):
        text(b"D", float(obj).hex())
    elif isinstance(obj, complex):
        text(b"C", f"{obj.real.hex()},{obj.imag.hex()}")
    elif isinstance(obj, str):
        text(b"S", str(obj))
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        out.extend(b"B" + len(data).to_bytes(8, "big") + data)
    elif isinstance(obj, PurePath):
        text(b"P", os.fspath(obj))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields(b"O", _type_name(obj), ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)))
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):
        fields(b"O", _type_name(obj), zip(obj._fields, obj))
    elif isinstance(obj, (tuple, list)):
        out.extend((b"(" if isinstance(obj, tuple) else b"[") + len(obj).to_bytes(8, "big"))
        for item in obj:
            _canon(item, out)
    elif isinstance(obj, dict):
        pairs = sorted((canonical_bytes(k), canonical_bytes(v)) for k, v in obj.items())
        out.extend(b"{" + len(pairs).to_bytes(8, "big"))
        for k, v in pairs:
            out.extend(k + v)
    elif isinstance(obj, (set, frozenset)):
        items = sorted(canonical_bytes(v) for v in obj)
        out.extend(b"<" + len(items).to_bytes(8, "big"))
        for item in items:
            out.extend(item)
    elif isinstance(obj, range):
        text(b"R", f"{obj.start},{obj.stop},{obj.step}")
    elif isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__") and hasattr(obj, "__module__")):
        text(b"Q", f"{obj.__module__}.{obj.__qualname__}")
    elif hasattr(obj, "__dict__") or hasattr(type(obj), "__slots__"):
        state: dict[str, Any] = dict(getattr(obj, "__dict__", {}))
        for klass in type(obj).__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                    state[slot] = getattr(obj, slot)
        fields(b"O", _type_name(obj), sorted(state.items()))
    else:
        raise TypeError(f"cannot make a cache key of a {_type_name(obj)}")


def canonical_bytes(obj: Any) -> bytes:
    """A type-tagged byte string that is equal for equal task configs, independent of dict/set order."""
    out = bytearray()
    _canon(obj, out)
    return bytes(out)


def _fn_name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def cell_key(fn: Callable[[Any], Any], task: Any) -> str:
    """sha256 (hex) over the package version, `fn`'s module and qualified name, and the task's canonical bytes."""
    h = hashlib.sha256()
    for part in (b"resnet-cli cell key v1", resnet_cli.__version__.encode(), _fn_name(fn).encode(), canonical_bytes(task)):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------------
# Cache store


def _default_warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=4)


class CellCache:
    """One file per finished cell in `folder`: ``<key>.cell`` (see the module docstring for the format)."""

    MAGIC = b"resnet-cli cell cache v1\n"
    SUFFIX = ".cell"

    def __init__(self, folder: str | os.PathLike, warn: Callable[[str], None] | None = None,
                 flag: str = "--cache") -> None:
        self.folder = Path(folder)
        self.warn = warn or _default_warn
        shown = os.fspath(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise UserError(f"{flag} {shown}: exists and is not a folder") from None
        except OSError as exc:
            raise UserError(f"{flag} {shown}: cannot create the folder ({exc.strerror or exc})") from None
        from resnet_cli.outputs import check_writable

        # A file that could be an entry: checks that entries can be created (and replaced) in the folder.
        check_writable(self.folder / f"probe{self.SUFFIX}", flag)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{self.SUFFIX}"

    def load(self, key: str) -> Any:
        """The stored result for `key`, or `_MISSING` (absent, or ignored with a warning)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return _MISSING
        except OSError as exc:
            self.warn(f"cache entry {path} is unreadable ({exc.strerror or exc}); computing the cell again")
            return _MISSING
        if not data.startswith(self.MAGIC):
            self.warn(f"cache entry {path} is not a resnet-cli cache entry; ignoring it and computing the cell again")
            return _MISSING
        end = data.find(b"\n", len(self.MAGIC))
        try:
            if end < 0:
                raise ValueError("no header")
            header = json.loads(data[len(self.MAGIC):end].decode("utf-8"))
            stored_key, digest, size = header["key"], header["sha256"], header["size"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self.warn(f"cache entry {path} is corrupt (unreadable header); computing the cell again")
            return _MISSING
        if stored_key != key:
            self.warn(f"cache entry {path} holds another cell's result (foreign entry); ignoring it and "
                      "computing the cell again")
            return _MISSING
        payload = data[end + 1:]
        if len(payload) != size or hashlib.sha256(payload).hexdigest() != digest:
            self.warn(f"cache entry {path} is corrupt (checksum mismatch); computing the cell again")
            return _MISSING
        try:
            return pickle.loads(payload)
        except Exception as exc:  # a checksum-valid payload that our code cannot load (e.g. a renamed class)
            self.warn(f"cache entry {path} cannot be loaded ({exc.__class__.__name__}); computing the cell again")
            return _MISSING

    def store(self, key: str, value: Any, fn: Callable[..., Any] | None = None) -> None:
        """Write the entry atomically; a failure (disk full, ...) is a warning: the result is still returned."""
        from resnet_cli.outputs import write_atomic

        path = self.path(key)
        try:
            payload = pickle.dumps(value, protocol=5)
            header = {"key": key, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload),
                      "version": resnet_cli.__version__, "fn": _fn_name(fn) if fn is not None else None}
            blob = self.MAGIC + json.dumps(header, sort_keys=True).encode("utf-8") + b"\n" + payload
            write_atomic(path, blob)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            self.warn(f"cannot write cache entry {path} ({reason}); this cell will be computed again next time")


# --------------------------------------------------------------------------------------------------------
# Interrupt-safe waiting


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """While cleaning up, remember SIGINT/SIGTERM instead of raising mid-clean-up; re-deliver afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}

    def remember(signum: int, frame: Any) -> None:
        caught.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, remember)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])


def _pool_processes(pool: cf.Executor) -> list[Any]:
    for _ in range(10):
        try:
            return list((getattr(pool, "_processes", None) or {}).values())
        except RuntimeError:  # the manager thread changed the dict while we copied it
            time.sleep(0.01)
    return []


def _stop_pool(pool: cf.ProcessPoolExecutor, futures: Iterable[cf.Future]) -> None:
    """Cancel what has not started, terminate the workers (SIGKILL after WORKER_GRACE s) and reap them."""
    for future in futures:
        future.cancel()
    procs = _pool_processes(pool)
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it: keep it now
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + WORKER_GRACE
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        with contextlib.suppress(Exception):
            if proc.is_alive():
                proc.kill()
                proc.join(0.5)
    # The pool's manager thread notices the dead workers and reaps them too; let it finish (bounded) so that
    # nothing of the pool outlives this call.
    if manager is not None and manager is not threading.current_thread():
        manager.join(max(0.1, deadline + 0.5 - time.monotonic()))
        # concurrent.futures' atexit hook wakes every manager it knows through a pipe that the manager closes
        # itself once its workers are dead; the two race, and at exit that printed "Exception ignored …
        # Bad file descriptor" on stderr after a Ctrl-C (about 1 interrupt in 40). With its workers killed,
        # the manager ends on its own (their sentinels wake it): it needs no wake-up, so unregister it.
        with contextlib.suppress(Exception):
            from concurrent.futures import process as cf_process

            cf_process._threads_wakeups.pop(manager, None)


def _drain(executor: cf.Executor, submit: Callable[[int], cf.Future], todo: Sequence[int],
           finish: Callable[[int, Any], None], stop: Callable[[list[cf.Future]], None],
           poll: Callable[[], None] | None = None) -> None:
    """Submit every cell, hand results to `finish` as they complete; on any exception `stop`, re-raise.

    `poll()` runs about every POLL_SECONDS while cells run (progress inside running cells)."""
    futures: dict[cf.Future, int] = {}
    position = {i: n for n, i in enumerate(todo)}
    try:
        for i in todo:
            futures[submit(i)] = i
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=None if poll is None else POLL_SECONDS,
                                    return_when=cf.FIRST_COMPLETED)
            if poll is not None:
                poll()
            for future in sorted(done, key=lambda f: position[futures[f]]):
                finish(futures[future], future.result())
    except BaseException:
        with _signals_deferred():
            stop(list(futures))
        raise


def _run_here(fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int],
              finish: Callable[[int, Any], None], partial: Callable[[dict[int, float]], None]) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        for i in todo:
            with _cell_hook(lambda fraction, i=i: partial({i: fraction})):
                value = fn(tasks[i])
            finish(i, value)


def _run_pool(fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int], workers: int,
              finish: Callable[[int, Any], None], partial: Callable[[dict[int, float]], None]) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    fractions = ctx.Array("d", len(tasks), lock=False)  # slot i: how far cell i is (written by its worker)
    finished: set[int] = set()

    def done(i: int, value: Any) -> None:
        finished.add(i)
        finish(i, value)

    def poll() -> None:
        partial({i: fractions[i] for i in todo if i not in finished and fractions[i] > 0})

    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                  initargs=(fractions,))
    _drain(pool, lambda i: pool.submit(_run_pinned, fn, tasks[i], i), todo, done,
           lambda futures: _stop_pool(pool, futures), poll)
    pool.shutdown(wait=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def _close_failed_client(exc: BaseException, client_type: type) -> None:
    """Close the half-built Client of a failed connection now, while its event loop runs.

    Left alone, its `__del__` tries to close it at interpreter exit, times out and prints a traceback
    ("Exception ignored in: Client.__del__"). The object is only reachable from the traceback's frames.
    """
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, client_type):
            with contextlib.suppress(Exception):
                candidate.close(timeout=1)
            break
        tb = tb.tb_next


def _run_dask(address: str, fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int],
              finish: Callable[[int, Any], None]) -> None:
    try:
        import distributed
    except ImportError:
        raise UserError("--dask needs dask.distributed: pip install 'resnet-cli[distributed]'") from None
    try:
        client = distributed.Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address, ...
        _close_failed_client(exc, distributed.Client)
        raise UserError(f"--dask {address}: cannot reach the scheduler ({_one_line(exc)})") from None
    try:
        executor = client.get_executor(pure=False)

        def stop(futures: list[cf.Future]) -> None:
            for future in futures:
                future.cancel()
            with contextlib.suppress(Exception):
                executor.shutdown(wait=False)

        # Each task goes as one in-band pickle, unpickled on the worker. Handed to dask as objects, a task's
        # numpy arrays arrive as views into the received message frame, at whatever byte offset they land:
        # often not 8-byte aligned, and numpy's matmul then skips BLAS for its own loop (another summation
        # order: depth-sweep's theory_cond10 moved by 2e-15, now and then). Unpickling in-band data gives
        # every array its own aligned allocation, exactly as in a local pool worker.
        def submit(i: int) -> cf.Future:
            return executor.submit(_run_pinned_pickled, fn, pickle.dumps(tasks[i], protocol=TASK_PICKLE_PROTOCOL))

        _drain(executor, submit, todo, finish, stop)
    finally:
        with _signals_deferred(), contextlib.suppress(Exception):
            client.close(timeout=1)


# --------------------------------------------------------------------------------------------------------
# The entry point


def run_cells(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    jobs: int = 1,
    dask: str | None = None,
    cache: str | os.PathLike | None = None,
    weights: Sequence[float] | None = None,
    progress: Callable[[float, float], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[Any]:
    """Run ``fn(task)`` for every task; return the results in task order.

    `fn` is a module-level (picklable) function of one task; a task is a picklable object holding the
    cell's full config and seed. ``jobs``: 1 = this process, N > 1 = a local pool of N spawn workers (never
    more than the cells left to compute; one cell runs here). ``dask``: a scheduler address (``jobs`` then
    ignored). ``cache``: a folder of finished cells (created if missing). ``weights``: per-cell cost, for
    ``progress(done, total)`` and for scheduling (largest first); 1 each by default. ``warn(message)``:
    cache warnings (default: `warnings.warn` with `CacheWarning`). Raises UserError for a bad ``jobs``,
    an unusable ``cache`` folder or ``dask`` scheduler — all before any cell runs.
    """
    tasks = list(tasks)
    n = len(tasks)
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    if len(w) != n:
        raise ValueError(f"run_cells: {len(w)} weights for {n} tasks")
    if any(not math.isfinite(x) or x < 0 for x in w):
        raise ValueError("run_cells: weights must be finite and non-negative")
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise UserError(f"--jobs {jobs}: must be a whole number, at least 1")
    report = progress or (lambda done, total: None)
    store = CellCache(cache, warn) if cache is not None else None

    results: list[Any] = [_MISSING] * n
    keys: list[str] = [""] * n
    done, total = 0.0, float(sum(w))
    if store is not None:
        for i, task in enumerate(tasks):
            keys[i] = cell_key(fn, task)
            value = store.load(keys[i])
            if value is not _MISSING:
                results[i] = value
                done += w[i]
    todo = sorted((i for i in range(n) if results[i] is _MISSING), key=lambda i: -w[i])
    report(done, total)

    def finish(i: int, value: Any) -> None:
        nonlocal done
        results[i] = value
        if store is not None:
            store.store(keys[i], value, fn)
        done += w[i]
        report(done, total)

    def partial(fractions: dict[int, float]) -> None:
        """Finished cells plus the reported share of running ones (never more than the cells' weights)."""
        if fractions:
            report(done + sum(w[i] * min(max(f, 0.0), 1.0) for i, f in fractions.items()), total)

    if todo:
        if dask is not None:
            _run_dask(dask, fn, tasks, todo, finish)
        elif jobs == 1 or len(todo) == 1:
            _run_here(fn, tasks, todo, finish, partial)
        else:
            _run_pool(fn, tasks, todo, min(int(jobs), len(todo)), finish, partial)
    return results
