"""Seldon Core v1: one SeldonDeployment per model and environment, plus its monitoring objects.

Autoscaling goes through `componentSpecs[].hpaSpec` (the operator creates the HPA): a standalone
HPA cannot target a SeldonDeployment, whose scale subresource has no label selector. Seldon's own
Services do not expose the executor's metrics port, so a headless Service selects the model's pods
for the ServiceMonitor (or a PodMonitor scrapes them directly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.compile.generators import observability, payload_logging
from modelops.compile.resolve import Merged, ResolvedModel, ResolvedVariant
from modelops.compile.targets import seldon_graph
from modelops.compile.targets.common import (
    container_settings,
    image_of,
    metadata,
    name_budget,
    refuse_core2_only,
    refuse_kserve_only,
    refuse_native,
    serving_metadata,
    unsupported,
    version_of,
)
from modelops.compile.targets.contract import (
    Description,
    ObjectRef,
    Replicas,
    Role,
    VariantDescription,
    name_of,
    role_of,
)
from modelops.compile.targets.pipelines import refuse_pipelines
from modelops.compile.targets.seldon_graph import SERVERS
from modelops.diagnostics import Diagnostic
from modelops.labels import LABEL_INSTANCE, LABEL_METRICS, LABEL_NAME, LABEL_VARIANT, LABEL_VERSION

NAME = "seldon-v1"
API_VERSION = "machinelearning.seldon.io/v1"
METRICS_PORT = 8000
METRICS_PATH = "/prometheus"



def deployment_name(model_name: str) -> str:
    """The SeldonDeployment is named after the model (Seldon derives every other name from it)."""
    return model_name


def health_checked(model_name: str) -> list[ObjectRef]:
    return [ObjectRef(API_VERSION, "SeldonDeployment", deployment_name(model_name))]


def graph_name(model: ResolvedModel) -> str:
    """The graph node and its container: `names.graph`, else the model name."""
    chosen = model.spec.names.graph if model.spec.names else None
    return chosen or model.spec.name


def derived_names(model: ResolvedModel) -> list[tuple[str, str]]:
    """Every object name Seldon or modelops derives for this model, with what it names."""
    name, sdep, graph = model.spec.name, deployment_name(model.spec.name), graph_name(model)
    names = [(f"{name}-metrics", "metrics Service")]
    for variant in model.variants:
        names.append((f"{sdep}-{variant.name}", f"Service of variant {variant.name!r}"))
        names.append((f"{sdep}-{variant.name}-{graph}", f"model Service of variant {variant.name!r}"))
        graph_names = seldon_graph.derived_names(model, variant.name, graph)
        if not any(what == f"Deployment of variant {variant.name!r}" for _, what in graph_names):
            names.append((f"{sdep}-{variant.name}-0-{graph}", f"Deployment of variant {variant.name!r}"))
        names += graph_names
    return names


# The protocols Seldon Core v1's operator has a TENSORFLOW_SERVER image for (predictor_servers in the
# seldon-config ConfigMap): with any other, the SeldonDeployment never becomes available.
TENSORFLOW_SERVER_PROTOCOLS = ("tensorflow", "seldon")


def check(model: ResolvedModel) -> list[Diagnostic]:
    doc = model.doc
    errors: list[Diagnostic] = []
    if model.spec.framework == "lightgbm":
        errors.append(unsupported(
            model, None, ("framework",), "framework lightgbm",
            "no prepackaged server; log it with mlflow.lightgbm and use framework: mlflow, "
            "or use framework: custom",
        ))
    if model.spec.framework == "tensorflow" and model.spec.protocol not in TENSORFLOW_SERVER_PROTOCOLS:
        written = ("protocol",) if doc.has(("protocol",)) else ("framework",)
        errors.append(unsupported(
            model, None, written, f"framework tensorflow with protocol {model.spec.protocol}",
            "its TENSORFLOW_SERVER speaks only the tensorflow and seldon protocols: set protocol: "
            "tensorflow, or use target seldon-v2 or kserve (Triton serves v2)",
        ))
    if model.spec.protocol == "v1":
        errors.append(unsupported(
            model, None, ("protocol",), "protocol v1",
            "it is KServe's; Seldon Core v1 speaks `protocol: seldon`, `tensorflow` or `v2`",
        ))
    for variant in model.variants:
        if variant.settings.get("autoscaling", "rps") is not None:
            errors.append(unsupported(model, variant.settings, ("autoscaling", "rps"), "autoscaling.rps",
                                      "scale on cpu or memory"))
    errors += refuse_native(model)
    errors += seldon_graph.check(model, graph_name(model))
    errors += refuse_pipelines(model)
    errors += refuse_core2_only(model)
    errors += name_budget(model, derived_names(model))
    errors += payload_logging.check(model, NAME)
    errors += refuse_kserve_only(model)
    return errors


def render(model: ResolvedModel) -> list[dict[str, Any]]:
    objects = [_seldon_deployment(model)]
    if _monitoring(model.settings)["enabled"]:
        objects.extend(_monitoring_objects(model))
    objects.extend(observability.render(model))
    return objects


def observed(model: ResolvedModel) -> dict[str, str]:
    """The executor labels each predictor's metrics with the graph (`deployment_name`)."""
    graph = graph_name(model)
    return {v.name: graph for v in model.variants}


def _monitoring(settings: Merged) -> dict[str, Any]:
    configured = settings.get("monitoring") or {}
    return {
        "enabled": configured.get("enabled", True),
        "interval": configured.get("interval", "30s"),
        "kind": configured.get("kind", "ServiceMonitor"),
    }


def _seldon_deployment(model: ResolvedModel) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SeldonDeployment",
        "metadata": serving_metadata(model, deployment_name(model.spec.name)),
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
        "graph": _full_graph(model, variant),
        "componentSpecs": _component_specs(model, settings),
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


def _full_graph(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    """The model's node inside the graph around it; nodes log to the model's sink unless they name one."""
    node = _graph(model, variant)
    return seldon_graph.render(model, node, (node.get("logger") or {}).get("url"))


def _graph(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    settings = variant.settings
    graph: dict[str, Any] = {"name": graph_name(model), "type": "MODEL"}
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
        url = payload_logging.logger_url(model, variant.name, version_of(settings, model.spec.image))
        if url:
            graph["logger"]["url"] = url
    return graph


def _component_specs(model: ResolvedModel, settings: Merged) -> list[dict[str, Any]]:
    """The model's pods (its container, then the graph nodes sharing them), then nodes with their own."""
    container: dict[str, Any] = {"name": graph_name(model)}
    image = image_of(settings, model.spec.image)
    if image:
        container["image"] = image
    container.update(container_settings(model, settings, "http"))
    shared, own = seldon_graph.containers(model, graph_name(model))
    component: dict[str, Any] = {"spec": {"containers": [container, *shared]}}
    autoscaling = settings.get("autoscaling")
    if autoscaling is not None:
        component["hpaSpec"] = _hpa_spec(autoscaling)
    return [component, *own]


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
    pods = {"seldon-deployment-id": deployment_name(name)}
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
                        LABEL_INSTANCE: service_meta["labels"][LABEL_INSTANCE],
                        LABEL_NAME: name,
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


# --- reading rendered objects back ----------------------------------------------------------------


def recognises(objects: Sequence[Mapping[str, Any]]) -> bool:
    return any(_is_deployment(obj) for obj in objects)


def _is_deployment(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "SeldonDeployment" and str(obj.get("apiVersion", "")).startswith(
        "machinelearning.seldon.io/")


def describe(objects: Sequence[Mapping[str, Any]]) -> Description:
    """Each predictor of the SeldonDeployment: traffic as written (it sums to 100), shadows mirror all."""
    sdep = next((obj for obj in objects if _is_deployment(obj)), {})
    predictors = list((sdep.get("spec") or {}).get("predictors") or [])
    main = _main_predictor(predictors)
    main_share = _traffic(main) if main else 100
    variants = []
    for predictor in predictors:
        share = _traffic(predictor)
        role: Role
        if predictor.get("shadow"):
            role, traffic, mirror = "shadow", None, 100.0
        else:
            role = "main" if predictor is main else role_of(share, main_share)
            traffic, mirror = share, None
        graph = predictor.get("graph") or {}
        component = (predictor.get("componentSpecs") or [{}])[0]
        container = (((component.get("spec") or {}).get("containers")) or [{}])[0]
        variants.append(VariantDescription(
            name=str(predictor.get("name")),
            role=role,
            version=(predictor.get("labels") or {}).get(LABEL_VERSION),
            artifact=graph.get("modelUri"),
            traffic=traffic,
            mirror=mirror,
            replicas=_replicas(predictor, component),
            resources=container.get("resources") or {},
            logging=(graph.get("logger") or {}).get("mode", "off"),
            spec=predictor,
        ))
    described = frozenset({("SeldonDeployment", name_of(sdep))}) if sdep else frozenset()
    return Description(NAME, variants, described)


def _main_predictor(predictors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The predictor named `main`, else the serving one with the most traffic (as `ResolvedModel.main`)."""
    named = [p for p in predictors if p.get("name") == "main"]
    if named:
        return named[0]
    return max(predictors, key=lambda p: (not p.get("shadow"), _traffic(p)), default=None)


def _traffic(predictor: Mapping[str, Any]) -> float:
    traffic = predictor.get("traffic", 100)
    return traffic if isinstance(traffic, int | float) else 100


def _replicas(predictor: Mapping[str, Any], component: Mapping[str, Any]) -> Replicas:
    hpa = component.get("hpaSpec")
    if hpa:
        return Replicas(hpa.get("minReplicas", 1), hpa.get("maxReplicas"), autoscaled=True)
    replicas = predictor.get("replicas", 1)
    return Replicas(replicas, replicas)
