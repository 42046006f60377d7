"""`modelops rollout [--watch INTERVAL]` (library: `modelops.rollout`).

Each pass prints one report through the pass runner (`modelops.cli.passes`): the decisions table, or
under `-o json` one compact envelope line with `decisions` per pass. Prometheus down is one MO601
line, and no pull request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli import complete
from modelops.cli.options import push_options, repo_root, resolve_crd_dir, watch_options
from modelops.cli.passes import Passes, run_passes

if TYPE_CHECKING:
    from modelops.compile.duration import Duration


@click.command(name="rollout")
@click.option("--prometheus", default=None, metavar="URL",
              help="Prometheus to read (default $PROMETHEUS_URL, else environments.ENV.prometheus).")
@click.option("--model", "models", multiple=True, shell_complete=complete.models,
              help="Only these models (repeatable).")
@watch_options
@push_options
def rollout_command(prometheus: str | None, models: tuple[str, ...], interval: Duration | None,
                    max_passes: int | None, no_push: bool, repo: Path | None, crd_dir: Path | None,
                    output: str) -> None:
    """Advance, hold or abort each canary and shadow on Prometheus evidence, by pull request.

    One pass (exit 1 on errors or when Prometheus cannot be read), or repeated passes with --watch.
    """
    from modelops.rollout.run import COLUMNS, rows, run_pass

    root = repo_root(repo)
    crd = resolve_crd_dir(crd_dir, root)
    only = set(models) or None

    def run() -> list[object]:
        return list(run_pass(root, prometheus=prometheus, only=only, push=not no_push, crd_dir=crd))

    run_passes(Passes("rollout", COLUMNS, rows), run, output, interval, max_passes)
