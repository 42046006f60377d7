"""`modelops schemas list|pull`: where each kind's schema comes from; the cluster's CRD schemas.

Only `pull` imports the Kubernetes client (library: `modelops.cluster.crds`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.options import (
    cluster_options,
    crd_dir_option,
    output_option,
    repo_option,
    repo_root,
    resolve_crd_dir,
)
from modelops.cli.report import print_diagnostics, report


@click.group(name="schemas")
def schemas_group() -> None:
    """The schemas generated objects are validated against."""


@schemas_group.command(name="list")
@repo_option
@crd_dir_option
@output_option
def list_command(repo: Path | None, crd_dir: Path | None, output: str) -> None:
    """Per kind: the schema compile validates it against (flag, env, repo or bundled) and its path."""
    from modelops.compile.emit.schemas import SchemaSet, Source, provenance

    root = repo_root(repo)
    resolve_crd_dir(crd_dir, root)
    bundled = provenance()
    rows: list[dict[str, str | None]] = []
    table: list[list[str]] = []
    for source in SchemaSet.find(crd_dir, root).sources():
        if isinstance(source, Source):
            api_version, kind, origin, path = source.api_version, source.kind, source.origin, str(source.path)
            entry = bundled.get(f"{source.path.parent.name}/{source.path.name}") if source.closed else None
            upstream = f"{entry['project']} {entry['version']}" if entry else None
        else:
            (api_version, kind), origin, path, upstream = source, "none", None, None
        rows.append({"apiVersion": api_version, "kind": kind, "origin": origin, "path": path,
                     "upstream": upstream})
        table.append([api_version, kind, origin, path or "-", upstream or ""])

    def text() -> None:
        widths = [max(len(row[i]) for row in table) for i in range(5)]
        for row in table:
            click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    report("schemas list", output, [], {"schemas": rows}, text=text)


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
