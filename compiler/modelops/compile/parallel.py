"""Run a function over many items on every core, in forked workers; results come back in order.

Forked workers share the parent's imports and data, so nothing is pickled on the way in and a
worker starts in milliseconds; only results are pickled back. The work stays in one process when
there is too little of it, one core, no `fork` (not Linux), or other threads (forking them is unsafe).
`MODELOPS_JOBS=N` sets the number of processes (1: never fork).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

JOBS_ENV = "MODELOPS_JOBS"
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # what forked workers inherit


def processes(items: int, min_items: int) -> int:
    """How many processes share `items` pieces of work."""
    if sys.platform != "linux" or threading.active_count() > 1 or items < 2:
        return 1
    cores = cpus()
    setting = jobs_setting()
    if setting is not None:
        return min(setting, items, 4 * cores)
    if items < min_items:
        return 1
    return min(cores, items)


def jobs_setting() -> int | None:
    """MODELOPS_JOBS as a number of processes; None when unset (a bad value is one stderr line)."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        print(f"modelops: {JOBS_ENV}={value!r} is not a positive whole number: ignored", file=sys.stderr)
        return None
    return number


def cpus() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (containers)."""
    count = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return count


def map_forked(fn: Callable[[_Item], _Result], items: Sequence[_Item], min_items: int) -> Iterator[_Result]:
    """`fn(item)` for every item, in order, spread over forked processes when that pays off.

    Results arrive while later items are still being worked on, so the caller can use them early.
    Each worker has a pipe of its own and shares no lock with the others or the parent (a pool's
    shared queue locks could be left held by a worker a signal killed, and the pool's shutdown then
    waited for them forever); whatever way the run ends, the workers are killed and reaped.
    """
    count = processes(len(items), min_items)
    if count < 2:
        yield from map(fn, items)
        return
    import multiprocessing
    from multiprocessing.connection import wait

    global _WORK
    _WORK = (fn, items)
    slices = list(enumerate(_slices(len(items), count * 8)))
    context = multiprocessing.get_context("fork")
    workers: list[tuple[Any, Any]] = []
    try:
        for k in range(count):
            receive, send = context.Pipe(duplex=False)
            worker = context.Process(target=_work, args=(send, slices[k::count], os.getpid()), daemon=True)
            worker.start()
            send.close()
            workers.append((worker, receive))
        arrived: dict[int, list[Any]] = {}
        expected = {receive: len(slices[k::count]) for k, (_, receive) in enumerate(workers)}
        for index in range(len(slices)):
            while index not in arrived:
                for ready in wait([c for c, left in expected.items() if left]):
                    connection: Any = ready
                    try:
                        number, failure, part = connection.recv()
                    except EOFError:  # a worker ended before it sent all its slices
                        raise RuntimeError("a modelops worker process died") from None
                    if failure:
                        raise RuntimeError(f"a modelops worker process failed:\n{failure}")
                    arrived[number] = part
                    expected[connection] -= 1
            yield from arrived.pop(index)
    finally:
        _WORK = None
        for worker, receive in workers:
            if worker.is_alive():
                worker.kill()
            worker.join()
            receive.close()


def _work(send: Any, slices: list[tuple[int, tuple[int, int]]], parent: int) -> None:
    """A worker: its share of the slices, each sent as (slice number, traceback or "", results)."""
    _die_with_parent(parent)
    try:
        for number, bounds in slices:
            failure, part = _run_slice(bounds)
            send.send((number, failure, part))
            if failure:
                return
    finally:
        send.close()


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the compile that forked it dies (SIGKILL included), so no worker
    outlives it holding the compile lock: Linux's PR_SET_PDEATHSIG, checked once against a parent
    that died before it was set."""
    import ctypes

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent handles it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a worker ends silently; the parent reaps it
    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    if os.getppid() != parent:
        os._exit(1)


def _slices(total: int, pieces: int) -> list[tuple[int, int]]:
    """`pieces` contiguous (start, stop) ranges covering range(total), as even as can be."""
    bounds = [total * i // pieces for i in range(pieces + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if a < b]


def _run_slice(bounds: tuple[int, int]) -> tuple[str, list[Any]]:
    """(traceback or "", results): an exception travels as text, since one that cannot be rebuilt
    in the parent would fail to arrive at all."""
    assert _WORK is not None, "map_forked's workers inherit their work by fork"
    fn, items = _WORK
    try:
        return "", [fn(items[i]) for i in range(*bounds)]
    except Exception:
        return traceback.format_exc(), []
