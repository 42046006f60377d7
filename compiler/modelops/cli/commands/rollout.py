"""`modelops rollout [--watch INTERVAL]` (library: `modelops.rollout`).

Each pass prints one report: the decisions table, or under `-o json` the envelope with `decisions`
(one compact line per pass with --watch). Prometheus down is one MO601 line, and no pull request.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from modelops.cli.commands.autoupdate import seconds
from modelops.cli.options import push_options, repo_root, resolve_crd_dir
from modelops.cli.report import report
from modelops.diagnostics import UserError


def _pass(root: Path, output: str, compact: bool, kwargs: dict[str, Any]) -> bool:
    from modelops.rollout.run import run_pass, table

    decisions = run_pass(root, **kwargs)
    failed = any(d.action == "error" for d in decisions)
    report("rollout", output, [], {"decisions": [asdict(d) for d in decisions]}, ok=not failed,
           text=lambda: click.echo(table(decisions), nl=False), compact=compact)
    sys.stdout.flush()
    return not failed


@click.command(name="rollout")
@click.option("--prometheus", default=None, metavar="URL",
              help="Prometheus to read (default $PROMETHEUS_URL, else environments.ENV.prometheus).")
@click.option("--model", "models", multiple=True, help="Only these models (repeatable).")
@click.option("--watch", "interval", default=None, metavar="INTERVAL",
              help="Repeat passes every INTERVAL (60, 30s, 5m, 1h) until stopped.")
@click.option("--max-passes", type=int, default=None, hidden=True)
@push_options
def rollout_command(prometheus: str | None, models: tuple[str, ...], interval: str | None,
                    max_passes: int | None, no_push: bool, repo: Path | None, crd_dir: Path | None,
                    output: str) -> None:
    """Advance, hold or abort each canary and shadow on Prometheus evidence, by pull request.

    One pass (exit 1 on errors or when Prometheus cannot be read), or repeated passes with --watch.
    """
    root = repo_root(repo)
    kwargs = {"prometheus": prometheus, "only": set(models) or None, "push": not no_push,
              "crd_dir": resolve_crd_dir(crd_dir, root)}
    if interval is None:
        sys.exit(0 if _pass(root, output, False, kwargs) else 1)
    pause, done = seconds(interval), 0
    while max_passes is None or done < max_passes:
        try:
            _pass(root, output, True, kwargs)
        except UserError as exc:  # Prometheus down for one pass: say so, try again next time
            report("rollout", output, exc.diagnostics, compact=True)
        done += 1
        if max_passes is None or done < max_passes:
            time.sleep(pause)
