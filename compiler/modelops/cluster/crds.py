"""`modelops schemas`: `list` where each kind's schema comes from, `pull` the cluster's CRD schemas.

`pull` reads each CRD modelops emits (`modelops.compile.emit.schemas.CRD_FILES`) from
apiextensions.k8s.io/v1 and its `openAPIV3Schema` for the emitted version is written under the same
file name, so `modelops compile` checks output against exactly the CRD versions the cluster runs.
Only `pull` imports the Kubernetes client.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from modelops.cluster.sync import cluster_options

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    for entry in crd.get("spec", {}).get("versions") or []:
        if entry.get("name") == version:
            return (entry.get("schema") or {}).get("openAPIV3Schema")
    return None


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@click.group(name="schemas")
def schemas_group() -> None:
    """The schemas generated objects are validated against."""


@schemas_group.command(name="list")
@click.option("--repo", "-C", "repo", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Repository root (default: the nearest folder holding modelops.yaml).")
@click.option("--crd-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of CRD schemas, as compile takes it.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Human-readable text or JSON for machines.")
def list_command(repo: Path | None, crd_dir: Path | None, output: str) -> None:
    """Per kind: the schema compile validates it against (flag, env, repo or bundled) and its path."""
    from modelops.cli.main import _crd_dir, _root
    from modelops.compile.emit.schemas import SchemaSet, Source, provenance

    root = _root(repo)
    _crd_dir(crd_dir, root)
    bundled = provenance()
    rows = []
    for source in SchemaSet.find(crd_dir, root).sources():
        if not isinstance(source, Source):
            rows.append({"apiVersion": source[0], "kind": source[1], "origin": "none", "path": None,
                         "upstream": None})
            continue
        entry = bundled.get(f"{source.path.parent.name}/{source.path.name}") if source.closed else None
        rows.append({"apiVersion": source.api_version, "kind": source.kind, "origin": source.origin,
                     "path": str(source.path), "upstream": f"{entry['project']} {entry['version']}" if entry
                     else None})
    if output == "json":
        click.echo(json.dumps({"schemas": rows}, indent=2, sort_keys=True))
        return
    table = [[r["apiVersion"], r["kind"], r["origin"], r["path"] or "-", r["upstream"] or ""] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@schemas_group.command(name="pull")
@cluster_options
def pull_command(repo: Path | None, kubeconfig: Path | None, context: str | None, max_retries: int) -> None:
    """Write the cluster's CRD schemas (SeldonDeployment, ServiceMonitor, ...) into schemas/crds/."""
    from modelops.cli.main import _root
    from modelops.cluster.kube import ApiError, plural
    from modelops.cluster.sync import CLUSTER, SyncAbort, connect
    from modelops.compile.emit.schemas import CRD_FILES
    from modelops.compile.emit.tree import write_file
    from modelops.diagnostics import Diagnostic

    root = _root(repo)
    target = root / "schemas" / "crds"
    problems: list[Diagnostic] = []
    written = missing = 0
    try:
        cluster = connect(kubeconfig, context, max_retries)
    except SyncAbort as abort:
        click.echo(str(abort.diagnostic), err=True)
        sys.exit(1)
    try:
        for (api_version, kind), filename in sorted(CRD_FILES.items(), key=lambda item: item[1]):
            group, _, version = api_version.rpartition("/")
            name = f"{plural(kind)}.{group}"
            where = f"schemas/crds/{filename}"
            try:
                crd = cluster.raw_get(f"{CRD_PATH}/{name}")
            except ApiError as exc:
                if exc.status == 404:
                    missing += 1
                    click.echo(f"skipped {where}: CRD {name} is not installed")
                    continue
                problems.append(Diagnostic(where, 1, 1, CLUSTER, f"cannot read CRD {name}: {exc}"))
                continue
            schema = crd_schema(crd, version)
            if schema is None:
                problems.append(Diagnostic(where, 1, 1, CLUSTER,
                                           f"CRD {name} in the cluster does not serve {api_version}"))
                continue
            write_file(target / filename, schema_text(schema))
            written += 1
            click.echo(f"wrote {where} ({api_version} {kind})")
    finally:
        cluster.close()
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(f"{written} schema(s) written, {missing} not installed in the cluster.")
    sys.exit(1 if problems else 0)
