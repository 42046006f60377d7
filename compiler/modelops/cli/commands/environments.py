"""`modelops environments [--sync MODE]`: the environments of modelops.yaml, one per line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.options import repo_option, repo_root
from modelops.cli.report import print_diagnostics


@click.command()
@repo_option
@click.option("--sync", "sync_mode", default=None,
              help="Only environments synced this way (ci, argocd, flux).")
def environments(repo: Path | None, sync_mode: str | None) -> None:
    """List the environments of modelops.yaml, one per line (for CI scripts)."""
    from modelops.compile.project import Project

    project = Project.load(repo_root(repo))
    config = project.config
    if config is None:
        print_diagnostics(project.errors, count=True)
        sys.exit(1)
    for name, env in sorted(config.environments.items()):
        if sync_mode is None or getattr(env, "sync", "ci") == sync_mode:
            click.echo(name)
