"""A progress bar on stderr for long work (compile, sync, autoupdate over many items).

Shown only when stderr is a terminal, the output is text and there are at least `MIN_ITEMS` items;
piped, redirected, under `-o json` or with `MODELOPS_PROGRESS=0` it is silent, so logs and machine
output stay clean. The library reports `(done, total)` through a plain callback and knows nothing of
terminals; this module is the one place that draws (click's progress bar: no extra dependency).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

MIN_ITEMS = 20  # fewer items finish before a bar would tell anyone anything
PROGRESS_ENV = "MODELOPS_PROGRESS"

OnProgress = Callable[[int, int], None]


def wanted(output: str) -> bool:
    """Whether a bar may be drawn: text output, stderr a terminal, not switched off."""
    if output != "text" or os.environ.get(PROGRESS_ENV, "").strip() == "0":
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def progress_bar(label: str, output: str) -> Iterator[OnProgress]:
    """A callback `(done, total)` that draws and advances a bar. The bar ends when done reaches total
    (what the command prints next starts on a line of its own), or at the latest on exit."""
    if not wanted(output):
        yield _ignore
        return
    bar: Any = None

    def advance(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            if total < MIN_ITEMS:
                return
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                                    show_eta=True, width=30)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)
            bar = None

    try:
        yield advance
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _ignore(done: int, total: int) -> None:
    """No bar: progress goes nowhere."""
