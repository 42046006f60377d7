"""Validate every emitted object before it is written.

Custom resources are checked against the upstream CRD schemas (a directory of `openAPIV3Schema`
JSON files), closed so that unknown fields are rejected as a strict API server would. Core objects
are checked against kubernetes-validate's bundled strict schemas. Validators are built once per run,
with jsonschema-rs: the pure-Python jsonschema took most of a 1,000-model compile.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import jsonschema_rs

KUBERNETES_VERSION = "1.33.0"
CRD_FILES = {
    ("machinelearning.seldon.io/v1", "SeldonDeployment"): "seldondeployment-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
    ("mlops.seldon.io/v1alpha1", "Model"): "seldon2-model.json",
    ("mlops.seldon.io/v1alpha1", "Experiment"): "seldon2-experiment.json",
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve-inferenceservice.json",
    ("argoproj.io/v1alpha1", "Application"): "argocd-application.json",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argocd-applicationset.json",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "flux-kustomization.json",
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): "flux-gitrepository.json",
}
CORE_FILES = {
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "ServiceAccount"): "serviceaccount-v1.json",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscaler-autoscaling-v2.json",
}


class ManifestValidator:
    """Checks objects by (apiVersion, kind); returns readable problems, never raises on bad data.

    `cache_dir` keeps the part of Kubernetes' definitions that core objects use (see
    `_core_definitions`); without it they are read whole.
    """

    def __init__(self, crd_dir: Path | None, cache_dir: Path | None = None) -> None:
        self.crd_dir = crd_dir
        self.cache_dir = cache_dir
        self._validators: dict[tuple[str, str], Any] = {}

    def problems(self, obj: dict[str, Any]) -> list[str]:
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        validator = self._validator(key)
        if validator is None:
            return []
        try:
            found = list(validator.iter_errors(obj))
        except ValueError:  # a str subclass (a YAML literal block): the validator takes plain str only
            found = list(validator.iter_errors(_plain(obj)))
        errors = [(_json_path(e.instance_path), e.message) for e in found]
        return [f"{path}: {message}" for path, message in sorted(errors)]

    def covers(self, key: tuple[str, str]) -> bool:
        return self._validator(key) is not None

    def _validator(self, key: tuple[str, str]) -> Any:
        if key not in self._validators:
            self._validators[key] = self._build(key)
        return self._validators[key]

    def _build(self, key: tuple[str, str]) -> Any:
        if key in CRD_FILES:
            if self.crd_dir is None:
                return None
            path = self.crd_dir / CRD_FILES[key]
            if not path.is_file():
                return None
            schema = json.loads(path.read_text())
            _close(schema)  # a fresh copy: no need for close_objects' deep copy
            return jsonschema_rs.Draft7Validator(schema, validate_formats=False, retriever=_offline)
        if key in CORE_FILES:
            return _core_validator(CORE_FILES[key], self.cache_dir)
        return None


def default_crd_dir(explicit: str | None, root: Path) -> Path | None:
    """`--crd-dir`, else MODELOPS_CRD_DIR, else the repo's `schemas/crds` if it exists."""
    chosen = explicit or os.environ.get("MODELOPS_CRD_DIR")
    if chosen:
        return Path(chosen)
    local = root / "schemas" / "crds"
    return local if local.is_dir() else None


def close_objects(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI schema where every object with `properties` rejects unknown keys."""
    schema = copy.deepcopy(schema)
    _close(schema)
    return schema


def _ecma_case_insensitive(pattern: str) -> str:
    """`(?i)abort` -> `[aA][bB]...`: JSON Schema patterns are ECMA-262, which has no inline flags
    (PrometheusRule's `partial_response_strategy` uses one)."""
    out, in_class, escaped = [], False, False
    for char in pattern.replace("(?i)", ""):
        if escaped or char == "\\":
            escaped = not escaped and char == "\\"
            out.append(char)
            continue
        in_class = (in_class or char == "[") and char != "]"
        out.append(f"[{char.lower()}{char.upper()}]" if char.isascii() and char.isalpha() and not in_class
                   else char)
    return "".join(out)


def _close(node: Any) -> None:
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        if isinstance(node.get("pattern"), str) and "(?i)" in node["pattern"]:
            node["pattern"] = _ecma_case_insensitive(node["pattern"])
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)


@cache
def _core_definitions_dir() -> Path:
    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed")
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"


@cache
def _core_registry(cache_dir: Path | None) -> Any:
    definitions = _core_definitions(cache_dir)
    return jsonschema_rs.Registry([(definitions["$id"], definitions)], retriever=_offline)


def _core_validator(filename: str, cache_dir: Path | None) -> Any:
    schema = json.loads((_core_definitions_dir() / filename).read_text())
    return jsonschema_rs.Draft202012Validator(
        schema, validate_formats=False, registry=_core_registry(cache_dir), retriever=_offline
    )


_DEFINITION_REF = re.compile(r'"\$ref":\s*"[^"#]*#/\$defs/([^"]+)"')


def _core_definitions(cache_dir: Path | None) -> dict[str, Any]:
    """The Kubernetes definitions that CORE_FILES reference, directly or not (42 of 707).

    Parsing all 1.4 MB of them on every start cost 6% of a cold `validate`, so the subset is kept in
    `cache_dir`, named by the identity of the file it comes from; a missing or broken copy is rebuilt.
    """
    source = _core_definitions_dir() / "_definitions.json"
    kept = None
    if cache_dir is not None:
        stat = source.stat()
        identity = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0{sorted(CORE_FILES.values())}"
        kept = cache_dir / f"core-definitions-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.json"
        try:
            subset = json.loads(kept.read_text(encoding="utf-8"))
            if isinstance(subset, dict) and "$id" in subset:
                return subset
        except (OSError, ValueError):
            pass
    everything = json.loads(source.read_text(encoding="utf-8"))
    subset = {**everything, "$defs": _referenced(everything["$defs"])}
    if kept is not None:
        _keep(kept, subset)
    return subset


def _referenced(definitions: dict[str, Any]) -> dict[str, Any]:
    texts = [(_core_definitions_dir() / name).read_text(encoding="utf-8") for name in CORE_FILES.values()]
    found: set[str] = set()
    while texts:
        for name in _DEFINITION_REF.findall(texts.pop()):
            if name not in found:
                found.add(name)
                texts.append(json.dumps(definitions[name]))
    return {name: definitions[name] for name in sorted(found)}


def _keep(path: Path, subset: dict[str, Any]) -> None:
    """Best effort: a read-only checkout still validates, reading the definitions whole."""
    from modelops.compile.emit.tree import write_file

    try:
        write_file(path, json.dumps(subset, sort_keys=True))
        for old in path.parent.glob("core-definitions-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass


def _offline(uri: str) -> Any:
    """Every schema comes from disk: a reference to anything else is a bug, never a download."""
    raise ValueError(f"schema reference {uri} is not available offline")


def _plain(value: Any) -> Any:
    """A copy with every str subclass turned into str."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    return value


def _json_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(root)"
