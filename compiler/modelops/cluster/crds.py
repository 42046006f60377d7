"""`modelops schemas pull`: copy the cluster's CRD schemas into schemas/crds/ for offline validation.

Each CRD modelops validates against (`modelops.compile.emit.validate.CRD_FILES`) is read from
apiextensions.k8s.io/v1 and its `openAPIV3Schema` for the emitted version is written under the same
file name, so `modelops compile` checks output against exactly the CRD versions the cluster runs.
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
    """Manage the CRD schemas in schemas/crds/."""


@schemas_group.command(name="pull")
@cluster_options
def pull_command(repo: Path | None, kubeconfig: Path | None, context: str | None, max_retries: int) -> None:
    """Write the cluster's CRD schemas (SeldonDeployment, ServiceMonitor, ...) into schemas/crds/."""
    from modelops.cli.main import _root
    from modelops.cluster.kube import ApiError, plural
    from modelops.cluster.sync import SyncAbort, connect
    from modelops.compile.emit.tree import write_file
    from modelops.compile.emit.validate import CRD_FILES
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
                problems.append(Diagnostic(where, 1, 1, "MO707", f"cannot read CRD {name}: {exc}"))
                continue
            schema = crd_schema(crd, version)
            if schema is None:
                problems.append(Diagnostic(where, 1, 1, "MO707",
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
