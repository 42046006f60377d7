"""`modelops schemas pull`: copy the cluster's CRD schemas into schemas/crds/ for offline validation.

Each CRD modelops validates against (`modelops.compile.emit.schemas.CRD_FILES`) is read from
apiextensions.k8s.io/v1 and its `openAPIV3Schema` for the emitted version is written under the same
file name, so `modelops compile` checks output against exactly the CRD versions the cluster runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic

if TYPE_CHECKING:
    from modelops.cluster.kube import Cluster

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    for entry in crd.get("spec", {}).get("versions") or []:
        if entry.get("name") == version:
            return (entry.get("schema") or {}).get("openAPIV3Schema")
    return None


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass
class Pulled:
    lines: list[str] = field(default_factory=list)  # `wrote ...` / `skipped ...`, in file order
    problems: list[Diagnostic] = field(default_factory=list)
    written: int = 0
    missing: int = 0


def pull_schemas(cluster: Cluster, target: Path) -> Pulled:
    """Write the schema of every CRD modelops validates against that the cluster serves into `target`."""
    from modelops.cluster.kube import ApiError, plural
    from modelops.compile.emit.schemas import CRD_FILES
    from modelops.compile.emit.tree import write_file

    pulled = Pulled()
    target.mkdir(parents=True, exist_ok=True)
    for (api_version, kind), filename in sorted(CRD_FILES.items(), key=lambda item: item[1]):
        group, _, version = api_version.rpartition("/")
        name = f"{plural(kind)}.{group}"
        where = f"schemas/crds/{filename}"
        try:
            crd = cluster.raw_get(f"{CRD_PATH}/{name}")
        except ApiError as exc:
            if exc.status == 404:
                pulled.missing += 1
                pulled.lines.append(f"skipped {where}: CRD {name} is not installed")
                continue
            pulled.problems.append(Diagnostic(where, 1, 1, "MO707", f"cannot read CRD {name}: {exc}"))
            continue
        schema = crd_schema(crd, version)
        if schema is None:
            pulled.problems.append(Diagnostic(where, 1, 1, "MO707",
                                              f"CRD {name} in the cluster does not serve {api_version}"))
            continue
        write_file(target / filename, schema_text(schema))
        pulled.written += 1
        pulled.lines.append(f"wrote {where} ({api_version} {kind})")
    return pulled
