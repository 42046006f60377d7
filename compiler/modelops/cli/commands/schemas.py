"""`modelops schemas ...`: manage the CRD schemas in schemas/crds/ (library: `modelops.cluster.crds`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.options import cluster_options, repo_root
from modelops.cli.report import print_diagnostics


@click.group(name="schemas")
def schemas_group() -> None:
    """Manage the CRD schemas in schemas/crds/."""


@schemas_group.command(name="pull")
@cluster_options
def pull_command(repo: Path | None, kubeconfig: Path | None, context: str | None, max_retries: int) -> None:
    """Write the cluster's CRD schemas (SeldonDeployment, ServiceMonitor, ...) into schemas/crds/."""
    from modelops.cluster.crds import pull_schemas
    from modelops.cluster.sync import SyncAbort, connect

    root = repo_root(repo)
    try:
        cluster = connect(kubeconfig, context, max_retries)
    except SyncAbort as abort:
        print_diagnostics([abort.diagnostic])
        sys.exit(1)
    try:
        pulled = pull_schemas(cluster, root / "schemas" / "crds")
    finally:
        cluster.close()
    for line in pulled.lines:
        click.echo(line)
    print_diagnostics(pulled.problems)
    click.echo(f"{pulled.written} schema(s) written, {pulled.missing} not installed in the cluster.")
    sys.exit(1 if pulled.problems else 0)
