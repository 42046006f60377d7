"""`modelops autoupdate [--watch]` and `autoupdate serve` (library: `modelops.promotion.autoupdate`).

Each pass prints one report; under `-o json` that is one compact line per pass (JSON Lines).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modelops.cli.options import push_options, repo_root, resolve_crd_dir
from modelops.cli.report import report
from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from modelops.promotion.autoupdate import Decision


def seconds(text: str) -> float:
    """`90`, `30s`, `5m`, `1h` -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", text.strip())
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration such as 60, 30s, 5m or 1h")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def _failed(decisions: list[Decision]) -> bool:
    return any(d.action == "error" for d in decisions)


def print_pass(command: str, decisions: list[Decision], output: str) -> None:
    """One pass: the decisions table, or one JSON line."""
    from modelops.promotion.autoupdate import table

    report(command, output, [], {"decisions": [asdict(d) for d in decisions]}, ok=not _failed(decisions),
           text=lambda: click.echo(table(decisions), nl=False), compact=True)
    sys.stdout.flush()


def _safe_pass(command: str, root: Path, output: str, **kwargs: Any) -> bool:
    """Run and print a pass; errors are printed, not raised (watch and serve keep going)."""
    from modelops.promotion.autoupdate import run_pass

    try:
        decisions = run_pass(root, **kwargs)
    except UserError as exc:
        report(command, output, exc.diagnostics, compact=True)
        return False
    print_pass(command, decisions, output)
    return not _failed(decisions)


@click.group(name="autoupdate", invoke_without_command=True)
@click.option("--model", "models", multiple=True, help="Only these models (repeatable).")
@click.option("--watch", "interval", default=None, metavar="INTERVAL",
              help="Repeat passes every INTERVAL (60, 30s, 5m, 1h) until stopped.")
@click.option("--max-passes", type=int, default=None, hidden=True)
@push_options
@click.pass_context
def autoupdate_command(ctx: click.Context, models: tuple[str, ...], interval: str | None,
                       max_passes: int | None, no_push: bool, repo: Path | None, crd_dir: Path | None,
                       output: str) -> None:
    """Open promotion pull requests for models whose MLflow candidate beats the deployed version.

    Without a subcommand: one pass (exit 1 only on errors), or repeated passes with --watch.
    """
    if ctx.invoked_subcommand is not None:
        return
    from modelops.promotion.autoupdate import run_pass

    root = repo_root(repo)
    kwargs = {"only": set(models) or None, "push": not no_push, "crd_dir": resolve_crd_dir(crd_dir, root)}
    if interval is None:
        decisions = run_pass(root, **kwargs)  # type: ignore[arg-type]
        print_pass("autoupdate", decisions, output)
        sys.exit(1 if _failed(decisions) else 0)
    pause, done = seconds(interval), 0
    while max_passes is None or done < max_passes:
        _safe_pass("autoupdate", root, output, **kwargs)
        done += 1
        if max_passes is None or done < max_passes:
            time.sleep(pause)


@autoupdate_command.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port (0: any free port).")
@click.option("--poll", default="5m", show_default=True,
              help="Also run a full pass every INTERVAL (0 disables): deliveries can be lost.")
@click.option("--tolerance", type=int, default=300, show_default=True,
              help="Reject deliveries whose timestamp is further off than this many seconds.")
@push_options
def serve_command(host: str, port: int, poll: str, tolerance: int, no_push: bool, repo: Path | None,
                  crd_dir: Path | None, output: str) -> None:
    """Receive MLflow registry webhooks and run a pass for the model they name."""
    import os

    from modelops.compile.project import load_config
    from modelops.promotion.autoupdate import Service

    root = repo_root(repo)
    config, _, errors = load_config(root)
    if config is None:
        raise UserError(errors)
    secret = os.environ.get(config.mlflow.webhook_secret_env)
    if not secret:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO520",
                                    f"{config.mlflow.webhook_secret_env} is not set: webhooks must be signed "
                                    "(the secret given to MLflow's create_webhook)")])
    kwargs = {"push": not no_push, "crd_dir": resolve_crd_dir(crd_dir, root)}
    service = Service(secret, tolerance=tolerance, log=lambda line: click.echo(line, err=True),
                      run=lambda registered: _safe_pass("autoupdate serve", root, output,
                                                        registered=registered, **kwargs))
    service.serve(host, port, seconds(poll))

