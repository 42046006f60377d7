"""Make the schemas modelops ships: structural copies of the upstream CRDs and Kubernetes definitions.

    python compiler/tools/bundle_schemas.py --upstream DIR [--check] [--kubernetes DIR] [--out DIR]

DIR holds the upstream CRDs' `openAPIV3Schema`s as JSON (the file names of UPSTREAM); the core kinds
come from the installed kubernetes-validate's strict schemas. Each copy keeps what validation needs
(types, properties, required, enums, patterns, bounds, `x-kubernetes-*` markers), drops descriptions,
examples and defaults, and is closed (unknown fields rejected) as the compiler would close it, so a
compile does not redo it. Output is compact JSON with sorted keys; `bundled/provenance.json` records
each file's kind, upstream project and version and the sha256 of the file it was made from.
`--check` writes nothing and exits 1 if the bundled files differ from what DIR makes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from modelops.compile.emit.schemas import (
    ALL_CRD_FILES,
    BUNDLED,
    CORE_DEFINITIONS,
    CORE_FILES,
    KUBERNETES_VERSION,
)
from modelops.compile.emit.validate import close_objects

# upstream file -> (project, version); the versions read are in the project's research notes.
SELDON_V1 = ("SeldonIO/seldon-core", "v1.18.2")
SELDON_V2 = ("SeldonIO/seldon-core", "v2.10.2")
PROMETHEUS = ("prometheus-operator/prometheus-operator", "v0.93.0")
ARGO = ("argoproj/argo-cd", "v3.5.1")
UPSTREAM = {
    "seldondeployment-v1.json": SELDON_V1,
    "seldon2-model.json": SELDON_V2,
    "seldon2-experiment.json": SELDON_V2,
    "seldon2-pipeline.json": SELDON_V2,
    "seldon2-server.json": SELDON_V2,
    "servicemonitor.json": PROMETHEUS,
    "podmonitor.json": PROMETHEUS,
    "prometheusrule.json": PROMETHEUS,
    "kserve-inferenceservice.json": ("kserve/kserve", "v0.20.0"),
    "argocd-application.json": ARGO,
    "argocd-applicationset.json": ARGO,
    "flux-kustomization.json": ("fluxcd/kustomize-controller", "v1.9.4"),
    "flux-gitrepository.json": ("fluxcd/source-controller", "unrecorded"),
}

# Keywords copied as they are; the values of the others are schemas (or maps or lists of them).
VALUES = {
    "type", "required", "enum", "const", "pattern", "format", "nullable", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems",
    "maxItems", "uniqueItems", "minProperties", "maxProperties", "$ref", "$id", "$schema",
}
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions"}
SCHEMAS = {"items", "additionalProperties", "additionalItems", "not"}
SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
DROPPED = {"description", "example", "examples", "default", "title", "$comment", "externalDocs"}


class UnknownKeyword(ValueError):
    """An upstream keyword this script does not know: decide whether validation needs it."""


def structural(node: Any, where: str = "") -> Any:
    """`node` without documentation; raises UnknownKeyword rather than dropping anything else."""
    if not isinstance(node, dict):
        return [structural(item, where) for item in node] if isinstance(node, list) else node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED:
            continue
        if key in SCHEMA_MAPS:
            out[key] = {name: structural(sub, f"{where}/{key}/{name}") for name, sub in value.items()}
        elif key in SCHEMAS or key in SCHEMA_LISTS:
            out[key] = structural(value, f"{where}/{key}")
        elif key in VALUES or key.startswith("x-kubernetes-"):
            out[key] = value
        else:
            raise UnknownKeyword(f"unknown schema keyword {key!r} at {where or '/'}")
    return out


def compact(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def crd_files(upstream: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`crds/<name>` -> text, and their provenance entries."""
    files, entries = {}, []
    for (api_version, kind), name in sorted(ALL_CRD_FILES.items(), key=lambda item: item[1]):
        raw = (upstream / name).read_bytes()
        try:
            schema = structural(json.loads(raw))
        except UnknownKeyword as exc:
            raise UnknownKeyword(f"{upstream / name}: {exc}") from None
        files[f"crds/{name}"] = compact(close_objects(schema))
        project, version = UPSTREAM[name]
        entries.append({"file": f"crds/{name}", "kind": kind, "apiVersion": api_version, "project": project,
                        "version": version, "source": name, "sha256": hashlib.sha256(raw).hexdigest()})
    return files, entries


_DEFINITION_REF = re.compile(r'"\$ref":"[^"#]*#/\$defs/([^"]+)"')


def core_files(source: Path, project: tuple[str, str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`kubernetes/<name>` -> text for the core kinds and the definitions they reach (not all 707)."""
    files, entries = {}, []
    for (api_version, kind), name in sorted(CORE_FILES.items(), key=lambda item: item[1]):
        raw = (source / name).read_bytes()
        files[f"kubernetes/{name}"] = compact(structural(json.loads(raw)))
        entries.append(_core_entry(name, kind, api_version, project, raw))
    raw = (source / CORE_DEFINITIONS).read_bytes()
    everything = structural(json.loads(raw))
    kept = _referenced(everything["$defs"], list(files.values()))
    files[f"kubernetes/{CORE_DEFINITIONS}"] = compact({**everything, "$defs": kept})
    entries.append(_core_entry(CORE_DEFINITIONS, f"{len(kept)} of {len(everything['$defs'])} definitions",
                               "", project, raw))
    return files, entries


def _core_entry(name: str, kind: str, api_version: str, project: tuple[str, str],
                raw: bytes) -> dict[str, Any]:
    return {"file": f"kubernetes/{name}", "kind": kind, "apiVersion": api_version, "project": project[0],
            "version": f"{project[1]} (Kubernetes v{KUBERNETES_VERSION} strict)",
            "source": f"v{KUBERNETES_VERSION}-local-strict/{name}", "sha256": hashlib.sha256(raw).hexdigest()}


def _referenced(definitions: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    found: set[str] = set()
    while texts:
        for name in _DEFINITION_REF.findall(texts.pop()):
            if name not in found:
                found.add(name)
                texts.append(compact(definitions[name]))
    return {name: definitions[name] for name in sorted(found)}


def kubernetes_validate(folder: Path | None) -> tuple[Path, tuple[str, str]]:
    """The strict schemas of KUBERNETES_VERSION (from the installed kubernetes-validate unless
    `folder` is given) and the kubernetes-validate version recorded for them."""
    try:
        version = installed_version("kubernetes-validate")
    except PackageNotFoundError:
        version = "unknown"
    if folder is not None:
        return folder, ("kubernetes-validate", version)
    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("kubernetes-validate is not installed: pip install 'kubernetes-validate==1.37.0'")
    base = Path(next(iter(spec.submodule_search_locations)))
    folder = base / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    return folder, ("kubernetes-validate", version)


def bundle(upstream: Path, kubernetes: tuple[Path, tuple[str, str]]) -> dict[str, str]:
    """Every bundled file (relative to `bundled/`) -> its text."""
    files, entries = crd_files(upstream)
    core, core_entries = core_files(*kubernetes)
    files.update(core)
    entries += core_entries
    files["provenance.json"] = json.dumps({"files": entries}, indent=1, sort_keys=True) + "\n"
    return files


def stale(files: dict[str, str], out: Path) -> list[str]:
    """Bundled files that differ from `files`, are missing, or are extra."""
    present = {p.relative_to(out).as_posix() for p in out.rglob("*.json")} if out.is_dir() else set()
    differing = [name for name, text in files.items()
                 if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    return sorted({*differing, *(present - files.keys())})


def write(files: dict[str, str], out: Path) -> None:
    for name in stale(files, out):
        path = out / name
        if name in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[name], encoding="utf-8")
        else:
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, required=True, help="folder of the upstream CRD schemas")
    parser.add_argument("--out", type=Path, default=BUNDLED, help="where to write (default: the package's)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the bundle is stale")
    parser.add_argument("--kubernetes", type=Path, default=None,
                        help="Kubernetes strict schemas (default: the installed kubernetes-validate's)")
    args = parser.parse_args(argv)
    missing = sorted(name for name in ALL_CRD_FILES.values() if not (args.upstream / name).is_file())
    if missing:
        print(f"{args.upstream}: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    try:
        files = bundle(args.upstream, kubernetes_validate(args.kubernetes))
    except UnknownKeyword as exc:
        print(exc, file=sys.stderr)
        return 1
    changed = stale(files, args.out)
    if args.check:
        for name in changed:
            print(f"{args.out / name} is stale: run `make schemas-bundle`", file=sys.stderr)
        return 1 if changed else 0
    write(files, args.out)
    print(f"{len(files)} files in {args.out}, {len(changed)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
