"""Pieces every target shares: labels, annotations, versions, resources."""

from __future__ import annotations

import hashlib
from typing import Any

from modelops.compile.resolve import Merged, ResolvedModel
from modelops.compile.source import Loc
from modelops.diagnostics import Diagnostic
from modelops.labels import (
    ANNOTATION_SOURCE,
    LABEL_ENV,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_PART_OF,
    LABEL_TEAM,
    LABEL_VERSION,
    MANAGED_BY,
)

GPU_RESOURCE = "nvidia.com/gpu"


def version_of(settings: Merged, spec_image: str | None = None) -> str:
    """A label-safe version: the pinned MLflow version, else a short hash of the URI or image."""
    version = settings.get("artifact", "mlflow", "version")
    if version is not None:
        return str(version)
    source = settings.get("artifact", "uri") or settings.get("image") or spec_image or ""
    return "sha-" + hashlib.sha256(source.encode()).hexdigest()[:10]


def image_of(settings: Merged, spec_image: str | None) -> str | None:
    """The variant's own image (framework custom), else the model's."""
    image = settings.get("image")
    return str(image) if image else spec_image


def native_scaling(settings: Merged) -> bool:
    """Whether the variant asks for Seldon Core 2's own scaler (`autoscaling.native: true`)."""
    return settings.get("autoscaling", "native") is True


def refuse_native(model: ResolvedModel) -> list[Diagnostic]:
    """MO301 for `autoscaling.native` on a target without a native model scaler."""
    return [
        unsupported(model, v.settings, ("autoscaling", "native"), "autoscaling.native",
                    "only Seldon Core 2 has its own model scaler: scale with an HPA (cpu, memory, rps)")
        for v in model.variants if native_scaling(v.settings)
    ]


KSERVE_ONLY = (
    (("autoscaling", "concurrency"), "Knative's concurrency metric"),
    (("autoscaling", "autoscaler"), "KServe's autoscalerClass"),
    (("container_concurrency",), "Knative's containerConcurrency"),
    (("artifact", "service_account"), "KServe's storage ServiceAccount"),
)


def refuse_kserve_only(model: ResolvedModel) -> list[Diagnostic]:
    """MO301 for the keys only KServe (and its Knative) has, on a Seldon target."""
    return [
        unsupported(model, v.settings, path, ".".join(path), f"it sets {what}: use target kserve")
        for v in model.variants for path, what in KSERVE_ONLY
        if v.settings.get(*path) is not None
    ]


def refuse_core2_only(model: ResolvedModel) -> list[Diagnostic]:
    """MO301 for `requirements`, which only a Seldon Core 2 Model has."""
    if not model.spec.requirements:
        return []
    return [unsupported(model, None, ("requirements",), "requirements",
                        "they pick a Seldon Core 2 Server by its capabilities: use target seldon-v2")]


def labels(model: ResolvedModel) -> dict[str, str]:
    """Labels on every emitted object; the ownership pair (managed-by, environment) comes last.

    No version here: a release would mark every object changed. Only the serving objects carry
    `modelops.io/version` (`serving_metadata`), where it says what runs.
    """
    return {
        **model.env_config.labels,
        **(model.settings.get("labels") or {}),
        LABEL_NAME: model.spec.name,
        LABEL_INSTANCE: f"{model.spec.name}-{model.env}",
        LABEL_PART_OF: MANAGED_BY,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_TEAM: model.spec.team,
        LABEL_ENV: model.env,
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


def serving_metadata(model: ResolvedModel, name: str, settings: Merged | None = None) -> dict[str, Any]:
    """`metadata` plus the version label of what the object serves (default: the main variant)."""
    meta = metadata(model, name)
    served = model.main.settings if settings is None else settings
    meta["labels"][LABEL_VERSION] = version_of(served, model.spec.image)
    return meta


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


PROBE_FIELDS = {
    "initial_delay": "initialDelaySeconds",
    "period": "periodSeconds",
    "timeout": "timeoutSeconds",
    "failure_threshold": "failureThreshold",
}
# MLflow servers install the model's conda/pip environment at start: give them time.
DEFAULT_PROBES = {
    "mlflow": {
        "readiness": {"initial_delay": 60, "period": 10, "timeout": 5, "failure_threshold": 30},
        "liveness": {"initial_delay": 120, "period": 10, "timeout": 5, "failure_threshold": 30},
    }
}


def container_settings(model: ResolvedModel, settings: Merged, port: int | str) -> dict[str, Any]:
    """The model container's resources, env and TCP probes on `port`, each only when set."""
    container: dict[str, Any] = {}
    resources = resource_requirements(settings)
    if resources:
        container["resources"] = resources
    env = env_list(settings)
    if env:
        container["env"] = env
    for kind, field in (("readiness", "readinessProbe"), ("liveness", "livenessProbe")):
        configured = {
            **DEFAULT_PROBES.get(model.spec.framework, {}).get(kind, {}),
            **(settings.get("probes", kind) or {}),
        }
        if configured:
            container[field] = {
                "tcpSocket": {"port": port},
                **{PROBE_FIELDS[key]: value for key, value in configured.items()},
            }
    return container


def monitoring_of(settings: Merged) -> dict[str, Any]:
    """Monitoring with its defaults: on, every 30s, kind as written (None when unset)."""
    configured = settings.get("monitoring") or {}
    return {
        "enabled": configured.get("enabled", True),
        "interval": configured.get("interval", "30s"),
        "kind": configured.get("kind"),
    }


def unsupported(
    model: ResolvedModel, settings: Merged | None, path: Loc, what: str, hint: str = ""
) -> Diagnostic:
    """MO301 `WHAT is not supported on target T: HINT` at the key that asks for the feature.

    With `settings`, the position is wherever the merge took the key from (the model file, or
    modelops.yaml for repo defaults); without, `path` is a position in the model file.
    """
    doc, loc = model.doc, path
    if settings is not None:
        origin_doc, loc = settings.origin(path)
        doc = origin_doc or model.doc
    message = f"{what} is not supported on target {model.target}" + (f": {hint}" if hint else "")
    return doc.diagnostic(loc, "MO301", message)


def name_budget(model: ResolvedModel, names: list[tuple[str, str]], limit: int = 63) -> list[Diagnostic]:
    """MO210 for every derived name longer than Kubernetes allows, saying by how much."""
    return [
        model.doc.diagnostic(
            ("name",),
            "MO210",
            f"{what} name {name!r} is {len(name)} characters, "
            f"{len(name) - limit} over Kubernetes' {limit}: shorten the model or variant name",
        )
        for name, what in names
        if len(name) > limit
    ]
