"""`modelops autoupdate [--watch]` and `autoupdate serve` (library: `modelops.promotion.autoupdate`).

Each pass prints one report through the pass runner (`modelops.cli.passes`); under `-o json` that is
one compact line per pass (JSON Lines).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modelops.cli import complete
from modelops.cli.options import DurationType, push_options, repo_root, resolve_crd_dir, watch_options
from modelops.cli.passes import Passes, one_pass, run_passes
from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from modelops.compile.duration import Duration


def _passes(command: str) -> Passes:
    from modelops.promotion.autoupdate import COLUMNS, rows

    return Passes(command, COLUMNS, rows)


@click.group(name="autoupdate", invoke_without_command=True)
@click.option("--model", "models", multiple=True, shell_complete=complete.models,
              help="Only these models (repeatable).")
@watch_options
@push_options
@click.pass_context
def autoupdate_command(ctx: click.Context, models: tuple[str, ...], interval: Duration | None,
                       max_passes: int | None, no_push: bool, repo: Path | None, crd_dir: Path | None,
                       output: str) -> None:
    """Open promotion pull requests for models whose MLflow candidate beats the deployed version.

    Without a subcommand: one pass (exit 1 only on errors), or repeated passes with --watch.
    """
    if ctx.invoked_subcommand is not None:
        return
    from modelops.cli.progress import progress_bar
    from modelops.promotion.autoupdate import run_pass

    root = repo_root(repo)
    kwargs: dict[str, Any] = {"only": set(models) or None, "push": not no_push,
                              "crd_dir": resolve_crd_dir(crd_dir, root)}
    def one() -> list[Any]:
        with progress_bar("Checking models", output) as on_progress:
            return run_pass(root, on_progress=on_progress, **kwargs)

    run_passes(_passes("autoupdate"), one, output, interval, max_passes)


@autoupdate_command.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port (0: any free port).")
@click.option("--poll", type=DurationType(), default="5m", show_default=True,
              help="Also run a full pass every INTERVAL (0 disables): deliveries can be lost.")
@click.option("--tolerance", type=int, default=300, show_default=True,
              help="Reject deliveries whose timestamp is further off than this many seconds.")
@push_options
def serve_command(host: str, port: int, poll: Duration, tolerance: int, no_push: bool, repo: Path | None,
                  crd_dir: Path | None, output: str) -> None:
    """Receive MLflow registry webhooks and run a pass for the model they name."""
    import os

    from modelops.compile.project import Project
    from modelops.promotion.autoupdate import Service, run_pass

    root = repo_root(repo)
    config = Project.load(root).require()
    secret = os.environ.get(config.mlflow.webhook_secret_env)
    if not secret:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO520",
                                    f"{config.mlflow.webhook_secret_env} is not set: webhooks must be signed "
                                    "(the secret given to MLflow's create_webhook)")])
    kwargs: dict[str, Any] = {"push": not no_push, "crd_dir": resolve_crd_dir(crd_dir, root)}
    kind = _passes("autoupdate serve")

    def run(registered: set[str] | None) -> bool:
        return one_pass(kind, lambda: run_pass(root, registered=registered, **kwargs), output)

    service = Service(secret, tolerance=tolerance, log=lambda line: click.echo(line, err=True), run=run)
    service.serve(host, port, poll.seconds)
