"""Run a function over many items on every core, in forked workers; results come back in order.

Forked workers share the parent's imports and data, so nothing is pickled on the way in and a
worker starts in milliseconds; only results are pickled back. The work stays in one process when
there is too little of it, one core, no `fork` (not Linux), or other threads (forking them is unsafe).
`MODELOPS_JOBS=N` sets the number of processes (1: never fork).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

JOBS_ENV = "MODELOPS_JOBS"
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # what forked workers inherit


def processes(items: int, min_items: int) -> int:
    """How many processes share `items` pieces of work."""
    if sys.platform != "linux" or threading.active_count() > 1 or items < 2:
        return 1
    setting = os.environ.get(JOBS_ENV, "")
    if setting.isdigit() and int(setting) > 0:
        return min(int(setting), items)
    if items < min_items:
        return 1
    return min(len(os.sched_getaffinity(0)), items)


def map_forked(fn: Callable[[_Item], _Result], items: Sequence[_Item], min_items: int) -> Iterator[_Result]:
    """`fn(item)` for every item, in order, spread over forked processes when that pays off.

    Results arrive while later items are still being worked on, so the caller can use them early.
    """
    count = processes(len(items), min_items)
    if count < 2:
        yield from map(fn, items)
        return
    import multiprocessing

    global _WORK
    _WORK = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            for part in pool.imap(_run_slice, _slices(len(items), count * 8), chunksize=1):
                yield from part
    finally:
        _WORK = None


def _slices(total: int, pieces: int) -> list[tuple[int, int]]:
    """`pieces` contiguous (start, stop) ranges covering range(total), as even as can be."""
    bounds = [total * i // pieces for i in range(pieces + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if a < b]


def _run_slice(bounds: tuple[int, int]) -> list[Any]:
    assert _WORK is not None, "map_forked's workers inherit their work by fork"
    fn, items = _WORK
    return [fn(items[i]) for i in range(*bounds)]
