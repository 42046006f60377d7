"""`modelops promote MODEL --env ENV`: a deployment change as a pull request (`modelops.promotion`)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli import complete
from modelops.cli.options import push_options, repo_root, resolve_crd_dir
from modelops.cli.report import report

if TYPE_CHECKING:
    from modelops.promotion.propose import Outcome

_WHERE = {"local": "created locally (not pushed)", "pushed": "pushed",
          "unchanged": "already up to date on the remote"}


def print_outcome(command: str, outcome: Outcome, output: str, verb: str) -> None:
    """What a promotion or rollback did: the branch and its pull request."""

    def text() -> None:
        for note in outcome.notes:
            click.echo(f"note: {note}", err=True)
        for warning in outcome.warnings:
            click.echo(f"warning: {warning}", err=True)
        if outcome.state == "nothing-to-do":
            click.echo("Nothing to do.")
            return
        click.echo(f"{verb} {outcome.model} in {outcome.env}: branch {outcome.branch} "
                   f"{_WHERE[outcome.state]}.")
        if outcome.pull_request:
            pr = outcome.pull_request
            click.echo(f"Pull request #{pr['number']} {pr['action']}: {pr['url']}")
        elif outcome.compare_url:
            click.echo(f"Open the pull request: {outcome.compare_url}")

    report(command, output, [], asdict(outcome), text=text)


@click.command(name="promote")
@click.argument("model", shell_complete=complete.models)
@click.option("--version", type=click.IntRange(min=1), default=None, help="MLflow version to deploy.")
@click.option("--alias", default=None, help="Deploy the version this MLflow alias points at.")
@click.option("--from-canary", is_flag=True, help="Move the canary's version to main and drop the canary.")
@click.option("--as", "role", type=click.Choice(["main", "canary", "shadow"]), default="main",
              show_default=True, help="How the version runs.")
@click.option("--traffic", type=click.IntRange(1, 99), default=None,
              help="Canary share in percent (--as canary; default 10).")
@click.option("--env", required=True, shell_complete=complete.environments,
              help="Environment to change.")
@push_options
def promote_command(model: str, env: str, version: int | None, alias: str | None, from_canary: bool,
                    role: str, traffic: int | None, no_push: bool, repo: Path | None,
                    crd_dir: Path | None, output: str) -> None:
    """Open a pull request deploying an MLflow model version to an environment."""
    from modelops.promotion.promote import Request, promote

    if sum([version is not None, alias is not None, from_canary]) != 1:
        raise click.UsageError("give exactly one of --version, --alias or --from-canary")
    if from_canary and role != "main":
        raise click.UsageError("--from-canary promotes to main: leave out --as")
    if traffic is not None and role != "canary":
        raise click.UsageError("--traffic is for --as canary")
    if role == "canary" and traffic is None:
        traffic = 10
    root = repo_root(repo)
    request = Request(model, env, version, alias, from_canary, role, traffic)  # type: ignore[arg-type]
    outcome = promote(root, request, push=not no_push, crd_dir=resolve_crd_dir(crd_dir, root))
    print_outcome("promote", outcome, output, "Promoted")
    sys.exit(0)
