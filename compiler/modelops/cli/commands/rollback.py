"""`modelops rollback MODEL --env ENV`: a pull request back to the version the environment ran before."""

from __future__ import annotations

from pathlib import Path

import click

from modelops.cli import complete
from modelops.cli.commands.promote import print_outcome
from modelops.cli.options import push_options, repo_root, resolve_crd_dir


@click.command(name="rollback")
@click.argument("model", shell_complete=complete.models)
@click.option("--env", required=True, shell_complete=complete.environments,
              help="Environment to change.")
@click.option("--main", "main", is_flag=True,
              help="Move main back to the version it ran before, even while a canary or shadow runs "
                   "(which is dropped too).")
@push_options
def rollback_command(model: str, env: str, main: bool, no_push: bool, repo: Path | None,
                     crd_dir: Path | None, output: str) -> None:
    """Open a pull request that aborts the running canary or shadow (main stays), or else moves main
    back to the version it ran before (from git history)."""
    from modelops.promotion.rollback import rollback

    root = repo_root(repo)
    outcome = rollback(root, model, env, main=main, push=not no_push, crd_dir=resolve_crd_dir(crd_dir, root))
    verb = "Aborted the trial of" if outcome.role == "abort" else "Rolled back"
    print_outcome("rollback", outcome, output, verb)
