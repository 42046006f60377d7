"""Validate every emitted object before it is written.

Custom resources are checked against the upstream CRD schemas (a directory of `openAPIV3Schema`
JSON files), closed so that unknown fields are rejected as a strict API server would. Core objects
are checked against kubernetes-validate's bundled strict schemas. Validators are built once per run.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.33.0"
CRD_FILES = {
    ("machinelearning.seldon.io/v1", "SeldonDeployment"): "seldondeployment-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
}
CORE_FILES = {
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscaler-autoscaling-v2.json",
}


class ManifestValidator:
    """Checks objects by (apiVersion, kind); returns readable problems, never raises on bad data."""

    def __init__(self, crd_dir: Path | None) -> None:
        self.crd_dir = crd_dir
        self._validators: dict[tuple[str, str], Any] = {}

    def problems(self, obj: dict[str, Any]) -> list[str]:
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        validator = self._validator(key)
        if validator is None:
            return []
        errors = sorted(validator.iter_errors(_without_none(obj)), key=lambda e: list(e.path))
        return [f"{_json_path(e.absolute_path)}: {e.message}" for e in errors]

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
            schema = close_objects(json.loads(path.read_text()))
            return jsonschema.Draft7Validator(schema)
        if key in CORE_FILES:
            return _core_validator(CORE_FILES[key])
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


def _close(node: Any) -> None:
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
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
def _core_registry() -> Registry:
    definitions = json.loads((_core_definitions_dir() / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


def _core_validator(filename: str) -> Any:
    schema = json.loads((_core_definitions_dir() / filename).read_text())
    registry = Resource.from_contents(schema) @ _core_registry()
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _json_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(root)"
