"""Pieces every target shares: labels, annotations, versions, resources."""

from __future__ import annotations

import hashlib
from typing import Any

from compiler.resolve import Merged, ResolvedModel

MANAGED_BY = "modelops"
LABEL_ENV = "modelops.io/environment"
LABEL_TEAM = "modelops.io/team"
LABEL_VERSION = "modelops.io/version"
LABEL_VARIANT = "modelops.io/variant"
ANNOTATION_SOURCE = "modelops.io/source"
GPU_RESOURCE = "nvidia.com/gpu"


def version_of(settings: Merged, spec_image: str | None = None) -> str:
    """A label-safe version: the pinned MLflow version, else a short hash of the URI or image."""
    version = settings.get("artifact", "mlflow", "version")
    if version is not None:
        return str(version)
    source = settings.get("artifact", "uri") or spec_image or ""
    return "sha-" + hashlib.sha256(source.encode()).hexdigest()[:10]


def labels(model: ResolvedModel) -> dict[str, str]:
    """Labels on every emitted object; the ownership pair (managed-by, environment) comes last."""
    return {
        **model.env_config.labels,
        **(model.settings.get("labels") or {}),
        "app.kubernetes.io/name": model.spec.name,
        "app.kubernetes.io/instance": f"{model.spec.name}-{model.env}",
        "app.kubernetes.io/part-of": "modelops",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        LABEL_TEAM: model.spec.team,
        LABEL_ENV: model.env,
        LABEL_VERSION: version_of(model.main.settings, model.spec.image),
    }


def metadata(model: ResolvedModel, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": model.namespace,
        "labels": labels(model),
        "annotations": {
            **(model.settings.get("annotations") or {}),
            ANNOTATION_SOURCE: model.doc.path,
        },
    }


def resource_requirements(settings: Merged) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for section in ("requests", "limits"):
        values = settings.get("resources", section) or {}
        rendered = {k: v for k, v in values.items() if k != "gpu"}
        if values.get("gpu") is not None:
            rendered[GPU_RESOURCE] = values["gpu"]
        if rendered:
            result[section] = rendered
    return result


def env_list(settings: Merged) -> list[dict[str, str]]:
    env = settings.get("env") or {}
    return [{"name": key, "value": env[key]} for key in sorted(env)]
