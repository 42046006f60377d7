"""KServe (`serving.kserve.io/v1beta1`): one InferenceService per model and environment.

The environment's `kserve_mode` decides how variants share traffic:

- Standard (formerly RawDeployment): `spec.predictor` is the main variant and every other serving
  variant is an entry of `spec.canary` (KServe v0.20) with its `trafficPercent`; main takes the
  rest. KServe refuses autoscaling fields on canaries: a canary runs its `replicas`, else KServe
  derives its count from the main's minimum and the traffic share.
- Serverless (Knative): KServe keeps the last rolled-out revision and sends `canaryTrafficPercent`
  to the newest one, so the predictor is rendered from the canary variant; the main variant must be
  what is running now (a canary is rolled out on top of the main it replaces). At most two arms.

KServe has no shadow. Storage credentials go through a ServiceAccount listing the Secret. Metrics:
KServe annotates the predictor pods with their runtime's metrics port and path
(`serving.kserve.io/enable-prometheus-scraping`), and a PodMonitor scrapes exactly that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from modelops.compile.generators import observability, payload_logging
from modelops.compile.resolve import Merged, ResolvedModel, ResolvedVariant
from modelops.compile.targets.common import (
    container_settings,
    image_of,
    metadata,
    monitoring_of,
    name_budget,
    refuse_core2_only,
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
from modelops.compile.targets.seldon_graph import refuse_graph
from modelops.diagnostics import Diagnostic
from modelops.labels import ANNOTATION_ROLLED_OUT, LABEL_VARIANT, LABEL_VERSION

NAME = "kserve"
API_VERSION = "serving.kserve.io/v1beta1"
ANNOTATION_MODE = "serving.kserve.io/deploymentMode"
ANNOTATION_SCRAPE = "serving.kserve.io/enable-prometheus-scraping"
ANNOTATION_AGGREGATE = "serving.kserve.io/enable-metric-aggregation"
STANDARD_MODES = ("Standard", "RawDeployment")  # RawDeployment: what Standard was called before
LABEL_ISVC = "serving.kserve.io/inferenceservice"
CONTAINER = "kserve-container"
HTTP_PORT = 8080
# framework -> (modelFormat.name, runtime to pin or None for KServe's automatic choice)
FORMATS: dict[str, tuple[str, str | None]] = {
    "sklearn": ("sklearn", None),
    "xgboost": ("xgboost", None),
    "lightgbm": ("lightgbm", None),
    "mlflow": ("mlflow", "kserve-mlserver"),
    "tensorflow": ("tensorflow", None),
    "triton": ("triton", "kserve-tritonserver"),
    "huggingface": ("huggingface", None),
}
SCALE_METRICS = ("cpu", "memory", "rps", "concurrency")
KNATIVE_METRICS = ("rps", "concurrency")  # what Knative's autoscaler measures, an HPA does not
ANNOTATION_AUTOSCALER = "serving.kserve.io/autoscalerClass"


def _serving(model: ResolvedModel) -> list[ResolvedVariant]:
    return [v for v in model.variants if not v.shadow]


def _others(model: ResolvedModel) -> list[ResolvedVariant]:
    """Serving variants besides main: the canaries (or the other A/B arms)."""
    return [v for v in _serving(model) if v.name != model.main.name]


def _standard(model: ResolvedModel) -> bool:
    return model.env_config.kserve_mode == "Standard"


def derived_names(model: ResolvedModel) -> list[tuple[str, str]]:
    """Deployments/Knative Services KServe creates, and modelops' own objects."""
    name = model.spec.name
    names = [(f"{name}-predictor", "predictor")]
    if _standard(model):
        names += [(f"{name}-{v.name}-predictor", f"canary predictor {v.name!r}") for v in _others(model)]
    account = service_account(model)
    if account:
        names.append((account, "storage ServiceAccount"))
    return names


def service_account(model: ResolvedModel) -> str | None:
    """The ServiceAccount listing the storage secret: `artifact.service_account`, else <model>-storage."""
    for variant in _emitted(model):
        if variant.settings.get("artifact", "secret"):
            chosen = variant.settings.get("artifact", "service_account")
            return str(chosen) if chosen else f"{model.spec.name}-storage"
    return None


def host_labels(model: ResolvedModel) -> list[tuple[str, str]]:
    """DNS labels `<isvc>-predictor-<namespace>` KServe builds; each must fit 63 characters."""
    return [(f"{n}-{model.namespace}", f"{what} host label") for n, what in derived_names(model)
            if n.endswith("-predictor")]


def check(model: ResolvedModel) -> list[Diagnostic]:
    errors: list[Diagnostic] = []
    if model.spec.protocol in ("seldon", "kfserving"):
        errors.append(unsupported(model, None, ("protocol",), f"protocol {model.spec.protocol}",
                                  "KServe speaks `protocol: v2` (the Open Inference Protocol) or "
                                  "`protocol: v1` (its v1, the default of its sklearn, xgboost and "
                                  "lightgbm servers)"))
    errors += refuse_graph(model)
    errors += refuse_native(model)
    errors += refuse_pipelines(model)
    errors += refuse_core2_only(model)
    for variant in model.variants:
        if variant.shadow:
            errors.append(unsupported(
                model, None, (*variant.loc, "shadow"), f"shadow variant {variant.name!r}",
                "KServe cannot mirror traffic; run it as a canary with a small weight instead",
            ))
        errors += _check_variant(model, variant)
    others = _others(model)
    if not _standard(model) and len(others) > 1:
        errors.append(unsupported(
            model, None, others[1].loc, f"a split across {len(others) + 1} serving variants",
            "Serverless mode has one canary (canaryTrafficPercent); use kserve_mode: Standard "
            "for more arms",
        ))
    secrets = {v.settings.get("artifact", "secret") for v in _emitted(model)} - {None}
    if len(secrets) > 1:
        errors.append(unsupported(
            model, None, model.traffic_loc, "variants with different artifact.secret",
            "one InferenceService reads its storage with one ServiceAccount",
        ))
    errors += payload_logging.check(model, NAME)
    errors += name_budget(model, derived_names(model))
    errors += name_budget(model, host_labels(model))
    return errors


def _check_variant(model: ResolvedModel, variant: ResolvedVariant) -> list[Diagnostic]:
    settings = variant.settings
    errors: list[Diagnostic] = []
    if not settings.get("artifact", "uri") and model.spec.framework == "huggingface":
        errors.append(unsupported(model, settings, ("artifact",),
                                  f"variant {variant.name!r} without artifact.uri",
                                  "KServe's huggingface runtime needs the model's storageUri"))
    if settings.get("replicas") == 0:
        errors.append(unsupported(model, settings, ("replicas",), "replicas 0",
                                  "maxReplicas 0 means unbounded in KServe; drop the environment "
                                  "from the model instead"))
    autoscaling = settings.get("autoscaling") or {}
    metrics = [m for m in SCALE_METRICS if autoscaling.get(m) is not None]
    for metric in metrics[1:]:
        errors.append(unsupported(model, settings, ("autoscaling", metric),
                                  f"autoscaling on both {metrics[0]} and {metric}",
                                  "KServe scales on one metric (scaleMetric): keep one"))
    rps = autoscaling.get("rps")
    for metric in KNATIVE_METRICS:
        if autoscaling.get(metric) is not None and _standard(model):
            errors.append(unsupported(model, settings, ("autoscaling", metric),
                                      f"autoscaling.{metric} in Standard mode",
                                      f"its HPA scales on cpu or memory; {metric} needs kserve_mode: "
                                      "Serverless"))
    errors += _check_serverless_only(model, settings)
    if rps is not None and not _standard(model) and not float(rps).is_integer():
        errors.append(unsupported(model, settings, ("autoscaling", "rps"),
                                  f"autoscaling.rps {rps}", "scaleTarget is a whole number"))
    if (settings.get("logging", "mode") or "none") != "none" and settings.get("logging", "kafka"):
        errors.append(unsupported(model, settings, ("logging", "kafka"), "logging.kafka",
                                  "KServe's logger posts CloudEvents to an HTTP url (e.g. a Knative "
                                  "Kafka broker)"))
    if monitoring_of(settings)["kind"] == "ServiceMonitor":
        errors.append(unsupported(model, settings, ("monitoring", "kind"),
                                  "monitoring.kind ServiceMonitor",
                                  "KServe predictors are scraped with a PodMonitor (leave kind unset)"))
    return errors


def _check_serverless_only(model: ResolvedModel, settings: Merged) -> list[Diagnostic]:
    """containerConcurrency is Knative's; the KEDA autoscaler class is Standard mode's."""
    errors = []
    if settings.get("container_concurrency") is not None and _standard(model):
        errors.append(unsupported(model, settings, ("container_concurrency",),
                                  "container_concurrency in Standard mode",
                                  "it is Knative's containerConcurrency: use kserve_mode: Serverless"))
    autoscaler = settings.get("autoscaling", "autoscaler")
    if autoscaler == "keda" and not _standard(model):
        errors.append(unsupported(model, settings, ("autoscaling", "autoscaler"),
                                  "autoscaling.autoscaler keda in Serverless mode",
                                  "Knative scales Serverless predictors; KEDA needs kserve_mode: Standard"))
    return errors


def _emitted(model: ResolvedModel) -> list[ResolvedVariant]:
    """The variants whose settings appear in the InferenceService."""
    if _standard(model):
        return _serving(model)
    others = _others(model)
    return others[:1] if others else [model.main]


def render(model: ResolvedModel) -> list[dict[str, Any]]:
    objects = [_inference_service(model)]
    secret = next((v.settings.get("artifact", "secret") for v in _emitted(model)
                   if v.settings.get("artifact", "secret")), None)
    account = service_account(model)
    if secret and account:
        objects.append({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(model, account),
            "secrets": [{"name": secret}],
        })
    if monitoring_of(model.settings)["enabled"]:
        objects.append(_pod_monitor(model))
    objects += observability.render(model)
    return objects


def observed(model: ResolvedModel) -> dict[str, str]:
    """Every variant's pods belong to the InferenceService (the PodMonitor copies its label)."""
    return {v.name: model.spec.name for v in model.variants}


def _inference_service(model: ResolvedModel) -> dict[str, Any]:
    meta = serving_metadata(model, model.spec.name)
    annotations = meta["annotations"]
    annotations[ANNOTATION_MODE] = model.env_config.kserve_mode
    if _standard(model) and model.main.settings.get("autoscaling", "autoscaler") == "keda":
        annotations[ANNOTATION_AUTOSCALER] = "keda"
    if monitoring_of(model.settings)["enabled"]:
        annotations[ANNOTATION_SCRAPE] = "true"
        if not _standard(model):
            annotations[ANNOTATION_AGGREGATE] = "true"
    spec: dict[str, Any] = {}
    others = _others(model)
    if _standard(model):
        spec["predictor"] = _component(model, model.main, canary=False)
        if others:
            spec["canary"] = [
                {
                    "trafficPercent": v.weight or 0,
                    "predictor": {"name": v.name, **_canary_component(model, v)},
                }
                for v in others
            ]
    elif others:
        canary = others[0]
        spec["predictor"] = _component(model, canary, canary=False)
        spec["predictor"]["canaryTrafficPercent"] = canary.weight or 0
        annotations[ANNOTATION_ROLLED_OUT] = version_of(model.main.settings, model.spec.image)
    else:
        spec["predictor"] = _component(model, model.main, canary=False)
    return {"apiVersion": API_VERSION, "kind": "InferenceService", "metadata": meta, "spec": spec}


def _component(model: ResolvedModel, variant: ResolvedVariant, *, canary: bool) -> dict[str, Any]:
    settings = variant.settings
    component: dict[str, Any] = {
        "labels": {
            LABEL_VARIANT: variant.name,
            LABEL_VERSION: version_of(settings, model.spec.image),
        }
    }
    container = _container(model, settings)
    if model.spec.framework == "custom":
        image = image_of(settings, model.spec.image)
        component["containers"] = [{"name": CONTAINER, "image": image, **container}]
    else:
        component["model"] = {**_model_source(model, settings), **container}
    component.update(_scaling(settings, canary=canary))
    if settings.get("container_concurrency") is not None:
        component["containerConcurrency"] = settings.get("container_concurrency")
    logging = settings.get("logging") or {}
    if logging.get("mode", "none") != "none":
        component["logger"] = {"mode": logging["mode"]}
        url = payload_logging.logger_url(model, variant.name, version_of(settings, model.spec.image))
        if url:
            component["logger"]["url"] = url
        if logging.get("store"):  # the caller's request id pairs main with its mirror (Ce-Metadata)
            component["logger"]["metadataHeaders"] = [payload_logging.REQUEST_ID_HEADER]
    if settings.get("artifact", "secret"):
        component["serviceAccountName"] = service_account(model)
    return component


def _canary_component(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    component = _component(model, variant, canary=True)
    if "model" in component:  # a canary's model container must be named (the v0.20 CRD requires it)
        component["model"] = {"name": CONTAINER, **component["model"]}
    return component


def _model_source(model: ResolvedModel, settings: Merged) -> dict[str, Any]:
    framework = model.spec.framework
    fmt, runtime = FORMATS[framework]
    protocol = "v1" if model.spec.protocol in ("tensorflow", "v1") else "v2"
    if framework == "tensorflow" and protocol == "v2":
        runtime = "kserve-tritonserver"  # TF Serving speaks v1 only; Triton serves SavedModels on v2
    source: dict[str, Any] = {"modelFormat": {"name": fmt}, "protocolVersion": protocol}
    if runtime:
        source["runtime"] = runtime
    uri = settings.get("artifact", "uri")
    if uri:
        source["storageUri"] = uri
    return source


def _container(model: ResolvedModel, settings: Merged) -> dict[str, Any]:
    return container_settings(model, settings, HTTP_PORT)


def _scaling(settings: Merged, *, canary: bool) -> dict[str, Any]:
    autoscaling = settings.get("autoscaling")
    if autoscaling is None:
        replicas = settings.get("replicas")
        replicas = 1 if replicas is None else replicas
        return {"minReplicas": replicas} if canary else {"minReplicas": replicas, "maxReplicas": replicas}
    if canary:
        return {}  # KServe derives a canary's replicas from main's minimum and its traffic share
    metric = next(m for m in SCALE_METRICS if autoscaling.get(m) is not None)
    scaling: dict[str, Any] = {"minReplicas": autoscaling.get("min", 1)}
    if autoscaling.get("max") is not None:  # none: Knative scales without an upper bound
        scaling["maxReplicas"] = autoscaling["max"]
    if autoscaling.get("autoscaler") == "keda":  # a ScaledObject on the same resource target
        target = {"type": "Utilization", "averageUtilization": int(autoscaling[metric])}
        scaling["autoScaling"] = {"metrics": [
            {"type": "Resource", "resource": {"name": metric, "target": target}}]}
        return scaling
    return {**scaling, "scaleMetric": metric, "scaleTarget": int(autoscaling[metric])}


def _pod_monitor(model: ResolvedModel) -> dict[str, Any]:
    monitoring = monitoring_of(model.settings)
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    pod_label = "__meta_kubernetes_pod_label_"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(model, model.spec.name),
        "spec": {
            "selector": {"matchLabels": {LABEL_ISVC: model.spec.name}},
            "namespaceSelector": {"matchNames": [model.namespace]},
            "podMetricsEndpoints": [
                {
                    "interval": monitoring["interval"],
                    "relabelings": [
                        # one target per pod: the model container, at the port KServe annotated
                        {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                         "regex": CONTAINER},
                        {"action": "keep", "sourceLabels": [f"{annotation}scrape"], "regex": "true"},
                        {"action": "replace", "sourceLabels": ["__address__", f"{annotation}port"],
                         "regex": "([^:]+)(?::\\d+)?;(\\d+)", "replacement": "$1:$2",
                         "targetLabel": "__address__"},
                        {"action": "replace", "sourceLabels": [f"{annotation}path"],
                         "regex": "(.+)", "targetLabel": "__metrics_path__"},
                        # what the observability pack joins on: the InferenceService and variant
                        {"action": "replace", "sourceLabels": [f"{pod_label}{_label_key(LABEL_ISVC)}"],
                         "targetLabel": "inferenceservice"},
                        {"action": "replace", "sourceLabels": [f"{pod_label}{_label_key(LABEL_VARIANT)}"],
                         "targetLabel": "modelops_variant"},
                    ],
                }
            ],
        },
    }


def _label_key(label: str) -> str:
    """A pod label as Prometheus' Kubernetes discovery names it (every other character is `_`)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


def health_checked(model_name: str) -> list[ObjectRef]:
    return []  # an InferenceService reports a Ready condition, which controllers read themselves


# --- reading rendered objects back ----------------------------------------------------------------


def recognises(objects: Sequence[Mapping[str, Any]]) -> bool:
    return any(_is_isvc(obj) for obj in objects)


def _is_isvc(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "InferenceService" and str(obj.get("apiVersion", "")).startswith(
        "serving.kserve.io/")


def describe(objects: Sequence[Mapping[str, Any]]) -> Description:
    """Standard: the predictor is main and takes what `canary[].trafficPercent` leave. Serverless with
    `canaryTrafficPercent`: the predictor is the canary, main the rolled-out revision (its version
    annotated, the rest of it no longer in the object)."""
    isvc = next((obj for obj in objects if _is_isvc(obj)), {})
    spec = isvc.get("spec") or {}
    predictor = spec.get("predictor") or {}
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    variants: list[VariantDescription] = []
    if "canaryTrafficPercent" in predictor and annotations.get(ANNOTATION_MODE) not in STANDARD_MODES:
        percent = predictor["canaryTrafficPercent"]
        variants.append(VariantDescription(
            name="main", role="main", version=annotations.get(ANNOTATION_ROLLED_OUT), artifact=None,
            traffic=100 - percent, partial=True,
        ))
        variants.append(_variant(predictor, "canary", role_of(percent, 100 - percent), percent))
    else:
        canaries = list(spec.get("canary") or [])
        rest = max(0, 100 - sum(c.get("trafficPercent", 0) or 0 for c in canaries))
        variants.append(_variant(predictor, "main", "main", rest))
        for canary in canaries:
            component = canary.get("predictor") or {}
            share = canary.get("trafficPercent", 0) or 0
            variants.append(_variant(component, str(component.get("name", "canary")), role_of(share, rest),
                                     share))
    described = frozenset({("InferenceService", name_of(isvc))}) if isvc else frozenset()
    return Description(NAME, variants, described)


def _variant(component: Mapping[str, Any], default_name: str, role: Role, traffic: float
             ) -> VariantDescription:
    labels = component.get("labels") or {}
    model = component.get("model") or {}
    container = model or (component.get("containers") or [{}])[0]
    return VariantDescription(
        name=str(labels.get(LABEL_VARIANT, default_name)),
        role=role,
        version=labels.get(LABEL_VERSION),
        artifact=model.get("storageUri"),
        traffic=traffic,
        replicas=_replicas(component),
        resources=container.get("resources") or {},
        logging=(component.get("logger") or {}).get("mode", "off"),
        spec={k: v for k, v in component.items() if k != "canaryTrafficPercent"},
    )


def _replicas(component: Mapping[str, Any]) -> Replicas:
    low, high = component.get("minReplicas"), component.get("maxReplicas")
    if "scaleMetric" in component or (high is not None and low != high):
        return Replicas(low, high, autoscaled=True)
    if low is None and high is None:
        return Replicas(None, None)  # a canary: KServe derives it from main's minimum and its share
    return Replicas(low if low is not None else high, low if low is not None else high)
