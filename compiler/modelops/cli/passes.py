"""The one pass runner of `modelops autoupdate` and `modelops rollout` (and `autoupdate serve`).

A pass returns its decisions (dataclasses with an `action`; `error` fails the pass). Each pass prints
one report: the decisions table (`report.table` over the library's rows), or under `-o json` one
compact envelope line (JSON Lines: one line per pass, also for a single pass). One pass exits 1 when it
failed or raised a user error; `--watch INTERVAL` repeats passes until stopped, a failed pass (MLflow
or Prometheus down) being said and tried again next time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import click

from modelops.cli.report import report, table
from modelops.diagnostics import UserError

if TYPE_CHECKING:
    from modelops.compile.duration import Duration


@dataclass(frozen=True)
class Passes:
    """What a kind of pass prints: its command name, table columns and the rows of its decisions."""

    command: str
    columns: Sequence[str]
    rows: Callable[[list[Any]], list[tuple[str, ...]]]


def one_pass(kind: Passes, run: Callable[[], list[Any]], output: str) -> bool:
    """Run a pass and print its report; a user error is printed, not raised. Whether it succeeded."""
    try:
        decisions = run()
    except UserError as exc:
        report(kind.command, output, exc.diagnostics, compact=True)
        sys.stdout.flush()
        return False
    failed = any(d.action == "error" for d in decisions)
    report(kind.command, output, [], {"decisions": [asdict(d) for d in decisions]}, ok=not failed,
           text=lambda: click.echo(table(kind.columns, kind.rows(decisions)), nl=False), compact=True)
    sys.stdout.flush()
    return not failed


def run_passes(kind: Passes, run: Callable[[], list[Any]], output: str, interval: Duration | None,
               max_passes: int | None = None) -> NoReturn:
    """One pass (exit 1 when it failed), or with `interval` a pass every interval until stopped
    (`max_passes`: the tests' way to stop)."""
    if interval is None:
        sys.exit(0 if one_pass(kind, run, output) else 1)
    done = 0
    while max_passes is None or done < max_passes:
        one_pass(kind, run, output)
        done += 1
        if max_passes is None or done < max_passes:
            time.sleep(interval.seconds)
    sys.exit(0)
