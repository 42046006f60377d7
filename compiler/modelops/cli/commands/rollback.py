"""`modelops rollback MODEL --env ENV`: a pull request back to the version the environment ran before."""

from __future__ import annotations

from pathlib import Path

import click

from modelops.cli.commands.promote import print_outcome
from modelops.cli.options import push_options, repo_root, resolve_crd_dir


@click.command(name="rollback")
@click.argument("model")
@click.option("--env", required=True, help="Environment to change.")
@push_options
def rollback_command(model: str, env: str, no_push: bool, repo: Path | None, crd_dir: Path | None,
                     output: str) -> None:
    """Open a pull request moving an environment back to the version it ran before (from git history)."""
    from modelops.promotion.promote import rollback

    root = repo_root(repo)
    outcome = rollback(root, model, env, push=not no_push, crd_dir=resolve_crd_dir(crd_dir, root))
    print_outcome("rollback", outcome, output, "Rolled back")
