"""Seldon Core v1: one SeldonDeployment per model and environment, plus its monitoring objects.

Autoscaling goes through `componentSpecs[].hpaSpec` (the operator creates the HPA): a standalone
HPA cannot target a SeldonDeployment, whose scale subresource has no label selector. Seldon's own
Services do not expose the executor's metrics port, so a headless Service selects the model's pods
for the ServiceMonitor (or a PodMonitor scrapes them directly).
"""

from __future__ import annotations

from typing import Any

from modelops.compile.generators import observability, payload_logging
from modelops.compile.resolve import Merged, ResolvedModel, ResolvedVariant
from modelops.compile.targets.common import (
    LABEL_VARIANT,
    LABEL_VERSION,
    container_settings,
    metadata,
    unsupported,
    version_of,
)
from modelops.diagnostics import Diagnostic

NAME = "seldon-v1"
MAX_NAME = 63
METRICS_PORT = 8000
METRICS_PATH = "/prometheus"
LABEL_METRICS = "modelops.io/metrics"

SERVERS = {
    "sklearn": "SKLEARN_SERVER",
    "xgboost": "XGBOOST_SERVER",
    "mlflow": "MLFLOW_SERVER",
    "tensorflow": "TENSORFLOW_SERVER",
    "triton": "TRITON_SERVER",
    "huggingface": "HUGGINGFACE_SERVER",
}


def derived_names(model: ResolvedModel) -> list[tuple[str, str]]:
    """Every object name Seldon or modelops derives for this model, with what it names."""
    name = model.spec.name
    names = [(f"{name}-metrics", "metrics Service")]
    for variant in model.variants:
        names.append((f"{name}-{variant.name}", f"Service of variant {variant.name!r}"))
        names.append((f"{name}-{variant.name}-{name}", f"model Service of variant {variant.name!r}"))
        names.append(
            (f"{name}-{variant.name}-0-{name}", f"Deployment of variant {variant.name!r}")
        )
    return names


# The protocols Seldon Core v1's operator has a TENSORFLOW_SERVER image for (predictor_servers in the
# seldon-config ConfigMap): with any other, the SeldonDeployment never becomes available.
TENSORFLOW_SERVER_PROTOCOLS = ("tensorflow", "seldon")


def check(model: ResolvedModel) -> list[Diagnostic]:
    doc = model.doc
    errors: list[Diagnostic] = []
    if model.spec.framework == "lightgbm":
        errors.append(
            doc.diagnostic(
                ("framework",),
                "MO301",
                "framework lightgbm is not supported on target seldon-v1 (no prepackaged server): "
                "log it with mlflow.lightgbm and use framework: mlflow, or use framework: custom",
            )
        )
    if model.spec.framework == "tensorflow" and model.spec.protocol not in TENSORFLOW_SERVER_PROTOCOLS:
        written = ("protocol",) if doc.has(("protocol",)) else ("framework",)
        errors.append(unsupported(
            model, None, written, f"framework tensorflow with protocol {model.spec.protocol}",
            "its TENSORFLOW_SERVER speaks only the tensorflow and seldon protocols: set protocol: "
            "tensorflow, or use target seldon-v2 or kserve (Triton serves v2)",
        ))
    for variant in model.variants:
        if variant.settings.get("autoscaling", "rps") is not None:
            origin_doc, loc = variant.settings.origin(("autoscaling", "rps"))
            errors.append(
                (origin_doc or doc).diagnostic(
                    loc,
                    "MO301",
                    "autoscaling.rps is not supported on target seldon-v1: scale on cpu or memory",
                )
            )
    for derived, what in derived_names(model):
        if len(derived) > MAX_NAME:
            errors.append(
                doc.diagnostic(
                    ("name",),
                    "MO210",
                    f"{what} name {derived!r} is {len(derived)} characters, "
                    f"{len(derived) - MAX_NAME} over Kubernetes' 63: shorten the model or variant name",
                )
            )
    errors += payload_logging.check(model, NAME)
    return errors


def render(model: ResolvedModel) -> list[dict[str, Any]]:
    objects = [_seldon_deployment(model)]
    if _monitoring(model.settings)["enabled"]:
        objects.extend(_monitoring_objects(model))
    objects.extend(observability.render(model, NAME))
    return objects


def _monitoring(settings: Merged) -> dict[str, Any]:
    configured = settings.get("monitoring") or {}
    return {
        "enabled": configured.get("enabled", True),
        "interval": configured.get("interval", "30s"),
        "kind": configured.get("kind", "ServiceMonitor"),
    }


def _seldon_deployment(model: ResolvedModel) -> dict[str, Any]:
    return {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": metadata(model, model.spec.name),
        "spec": {
            "name": model.spec.name,
            "protocol": model.spec.protocol,
            "predictors": [_predictor(model, v) for v in model.variants],
        },
    }


def _predictor(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    settings = variant.settings
    predictor: dict[str, Any] = {
        "name": variant.name,
        "labels": {
            LABEL_VARIANT: variant.name,
            LABEL_VERSION: version_of(settings, model.spec.image),
        },
        "graph": _graph(model, settings),
        "componentSpecs": [_component_spec(model, settings)],
    }
    if variant.shadow:
        predictor["shadow"] = True
    else:
        predictor["traffic"] = 100 if variant.weight is None else variant.weight
    if executor_env := payload_logging.executor_env(model):
        predictor["svcOrchSpec"] = {"env": executor_env}
    if settings.get("autoscaling") is None:
        replicas = settings.get("replicas")
        predictor["replicas"] = 1 if replicas is None else replicas
    return predictor


def _graph(model: ResolvedModel, settings: Merged) -> dict[str, Any]:
    graph: dict[str, Any] = {"name": model.spec.name, "type": "MODEL"}
    server = SERVERS.get(model.spec.framework)
    if server:
        graph["implementation"] = server
    uri = settings.get("artifact", "uri")
    if uri:
        graph["modelUri"] = uri
    secret = settings.get("artifact", "secret")
    if secret:
        graph["envSecretRefName"] = secret
    logging = settings.get("logging") or {}
    if logging.get("mode", "none") != "none":
        graph["logger"] = {"mode": logging["mode"]}
        if logging.get("url"):
            graph["logger"]["url"] = logging["url"]
    return graph


def _component_spec(model: ResolvedModel, settings: Merged) -> dict[str, Any]:
    container: dict[str, Any] = {"name": model.spec.name}
    if model.spec.image:
        container["image"] = model.spec.image
    container.update(container_settings(model, settings, "http"))
    component: dict[str, Any] = {"spec": {"containers": [container]}}
    autoscaling = settings.get("autoscaling")
    if autoscaling is not None:
        component["hpaSpec"] = _hpa_spec(autoscaling)
    return component


def _hpa_spec(autoscaling: dict[str, Any]) -> dict[str, Any]:
    metrics = [
        {
            "type": "Resource",
            "resource": {
                "name": resource,
                "target": {"type": "Utilization", "averageUtilization": autoscaling[resource]},
            },
        }
        for resource in ("cpu", "memory")
        if autoscaling.get(resource) is not None
    ]
    return {
        "minReplicas": autoscaling.get("min", 1),
        "maxReplicas": autoscaling["max"],
        "metricsv2": metrics,
    }


def _monitoring_objects(model: ResolvedModel) -> list[dict[str, Any]]:
    monitoring = _monitoring(model.settings)
    name = model.spec.name
    pods = {"seldon-deployment-id": name}
    if monitoring["kind"] == "PodMonitor":
        return [
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PodMonitor",
                "metadata": metadata(model, name),
                "spec": {
                    "selector": {"matchLabels": pods},
                    "namespaceSelector": {"matchNames": [model.namespace]},
                    "podMetricsEndpoints": [
                        {"port": "metrics", "path": METRICS_PATH, "interval": monitoring["interval"]}
                    ],
                },
            }
        ]
    service_meta = metadata(model, f"{name}-metrics")
    service_meta["labels"][LABEL_METRICS] = "true"
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": service_meta,
            "spec": {
                "clusterIP": "None",
                "selector": pods,
                "ports": [
                    {
                        "name": "metrics",
                        "port": METRICS_PORT,
                        "targetPort": "metrics",
                        "protocol": "TCP",
                    }
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": metadata(model, name),
            "spec": {
                "selector": {
                    "matchLabels": {
                        "app.kubernetes.io/instance": service_meta["labels"]["app.kubernetes.io/instance"],
                        "app.kubernetes.io/name": name,
                        LABEL_METRICS: "true",
                    }
                },
                "namespaceSelector": {"matchNames": [model.namespace]},
                "endpoints": [
                    {"port": "metrics", "path": METRICS_PATH, "interval": monitoring["interval"]}
                ],
            },
        },
    ]
