"""Seldon Core 2 (`mlops.seldon.io/v1alpha1`): a Model per variant, an Experiment for the split.

Naming: the main variant's Model is named after the model, so clients always call `<model>`
(`/v2/models/<model>/infer`); every other variant is the Model `<model>-<variant>`. With several
serving variants or a shadow, the Experiment `<model>-experiment` takes over the main Model's
traffic (`default`), splits it by relative `candidates` weights and copies it to the shadow
(`mirror`, 100 percent).

Stored predictions (`logging.store`): Core 2 writes payloads to Kafka only for Pipelines, so every
variant gets a one-step Pipeline `<Model>-pipeline` and the Experiment splits and mirrors traffic
between those (`resourceType: pipeline`; a model-level mirror stores nothing). Clients then call the
main pipeline (`/v2/pipelines/<model>-pipeline/infer`); the collector consumes the Models' topics.

Core 2 loads models onto shared Servers, so server-level settings (cpu, gpu, probes, env, a
logging URL) are refused with MO301 instead of being dropped. Autoscaling is a standalone HPA per
Model on the `infer_rps` Object metric (needs prometheus-adapter), with the Model's
`minReplicas`/`maxReplicas` left out so Seldon's own scaler stays off; `autoscaling.native` asks
for that scaler instead (the Model's `minReplicas`/`maxReplicas`, no HPA). Metrics come from the
server pods, labelled by `model`: each model gets a PodMonitor on the `seldon-server` pods of its
namespace that keeps only its own series.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.compile.generators import observability, payload_logging
from modelops.compile.resolve import ResolvedModel, ResolvedVariant
from modelops.compile.targets.common import (
    metadata,
    monitoring_of,
    name_budget,
    native_scaling,
    refuse_kserve_only,
    serving_metadata,
    unsupported,
)
from modelops.compile.targets.contract import (
    Description,
    ObjectRef,
    Replicas,
    Role,
    VariantDescription,
    labels_of,
    name_of,
    role_of,
)
from modelops.compile.targets.pipelines import check_pipelines, pipeline_names, render_pipelines
from modelops.compile.targets.seldon_graph import refuse_graph
from modelops.diagnostics import Diagnostic
from modelops.labels import LABEL_NAME, LABEL_VARIANT, LABEL_VERSION

NAME = "seldon-v2"
API_VERSION = "mlops.seldon.io/v1alpha1"
RPS_METRIC = "infer_rps"
PIPELINE_SUFFIX = "-pipeline"
SERVER_POD_LABELS = {LABEL_NAME: "seldon-server"}
METRICS_PATH = "/metrics"
# Server capabilities a Model asks for (MLServer: sklearn, xgboost, lightgbm, mlflow, huggingface;
# Triton: tensorflow, triton).
REQUIREMENTS = {
    "sklearn": "sklearn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "mlflow": "mlflow",
    "tensorflow": "tensorflow",
    "triton": "triton",
    "huggingface": "huggingface",
}


def model_name(model: ResolvedModel, variant: ResolvedVariant) -> str:
    """The variant's chosen `model_name`, else `<model>` for main and `<model>-<variant>` for others."""
    chosen = variant.settings.get("model_name")
    if chosen:
        return str(chosen)
    if variant.name == model.main.name:
        return model.spec.name
    return f"{model.spec.name}-{variant.name}"


def pipeline_name(model: ResolvedModel, variant: ResolvedVariant) -> str:
    """The one-step Pipeline of a variant whose predictions are stored: `<Model>-pipeline`."""
    return f"{model_name(model, variant)}{PIPELINE_SUFFIX}"


def stores(model: ResolvedModel) -> bool:
    """Whether the model's predictions go to a store (through its Pipelines' Kafka topics)."""
    found = payload_logging.sink(model)
    return found is not None and found.store is not None


def experiment_name(model: ResolvedModel) -> str:
    """`names.experiment`, else `<model>-experiment`."""
    chosen = model.spec.names.experiment if model.spec.names else None
    return chosen or f"{model.spec.name}-experiment"


def _needs_experiment(model: ResolvedModel) -> bool:
    return len(model.variants) > 1


def derived_names(model: ResolvedModel) -> list[tuple[str, str]]:
    names = [(model_name(model, v), f"Model of variant {v.name!r}") for v in model.variants]
    if stores(model):
        names += [(pipeline_name(model, v), f"Pipeline of variant {v.name!r}") for v in model.variants]
    if _needs_experiment(model):
        names.append((experiment_name(model), "Experiment"))
    return names + pipeline_names(model)


def check(model: ResolvedModel) -> list[Diagnostic]:
    errors: list[Diagnostic] = []
    spec = model.spec
    if spec.framework == "custom":
        errors.append(unsupported(
            model, None, ("framework",), "framework custom",
            "Core 2 loads artifacts onto shared Servers; define a Server for the image and "
            "deploy with a prepackaged framework",
        ))
    if spec.protocol != "v2":
        errors.append(unsupported(
            model, None, ("protocol",), f"protocol {spec.protocol}",
            "Core 2 serves the Open Inference Protocol only: use protocol v2",
        ))
    for variant in model.variants:
        errors += _check_variant(model, variant)
    errors += payload_logging.check(model, NAME)
    if stores(model) and model.collector is not None and model.collector.kafka is None:
        doc, loc = model.settings.origin(("logging", "store"))
        errors.append((doc or model.doc).diagnostic(
            loc, "MO804", "seldon-v2 writes predictions to Kafka: the collector needs the broker, set "
            f"collector.kafka.broker (host:port of Core 2's Kafka), or environments.{model.env}.kafka.broker "
            "for this environment alone, in modelops.yaml"))
    errors += refuse_graph(model)
    errors += refuse_kserve_only(model)
    errors += check_pipelines(model)
    errors += name_budget(model, derived_names(model))
    return errors


def _check_variant(model: ResolvedModel, variant: ResolvedVariant) -> list[Diagnostic]:
    settings = variant.settings
    errors: list[Diagnostic] = []

    def refuse(path: tuple[str, ...], what: str, hint: str) -> None:
        errors.append(unsupported(model, settings, path, what, hint))

    if not settings.get("artifact", "uri") and model.spec.framework == "huggingface":
        refuse(("artifact",), f"variant {variant.name!r} without artifact.uri",
               "a Core 2 Model needs its storageUri")
    for metric in ("cpu", "memory"):
        if settings.get("autoscaling", metric) is not None:
            refuse(("autoscaling", metric), f"autoscaling.{metric}",
                   "Core 2 scales Models on inference rate: use autoscaling.rps")
    rps = settings.get("autoscaling", "rps")
    if rps is not None and round(rps * 1000) < 1:
        origin, loc = settings.origin(("autoscaling", "rps"))
        errors.append((origin or model.doc).diagnostic(
            loc, "MO247", f"autoscaling.rps {rps} is below 0.001, the smallest averageValue the HPA "
            "can hold (1m): it would render as 0m"))
    for section in ("requests", "limits"):
        for resource in ("cpu", "gpu"):
            if settings.get("resources", section, resource) is not None:
                refuse(("resources", section, resource), f"resources.{section}.{resource}",
                       "Models share their Server's CPUs and GPUs: size the Server instead "
                       "(only memory maps to Model.memory)")
    if settings.get("probes"):
        refuse(("probes",), "probes", "probes belong to the Server that loads the model")
    if settings.get("env"):
        refuse(("env",), "env", "environment variables belong to the Server that loads the model")
    if monitoring_of(settings)["kind"] == "ServiceMonitor":
        refuse(("monitoring", "kind"), "monitoring.kind ServiceMonitor",
               "Core 2 server pods are scraped with a PodMonitor (leave kind unset)")
    mode = settings.get("logging", "mode") or "none"
    if mode in ("request", "response"):
        refuse(("logging", "mode"), f"logging.mode {mode}",
               "Core 2 logs requests and responses together: use mode all")
    if mode != "none" and settings.get("logging", "url"):
        refuse(("logging", "url"), "logging.url",
               "Core 2 writes payloads to its Kafka topics: remove the URL for this environment")
    if mode != "none" and settings.get("logging", "kafka"):
        refuse(("logging", "kafka"), "logging.kafka",
               "Core 2 writes payloads to the Kafka of its installation, in topics it names")
    return errors


def render(model: ResolvedModel) -> list[dict[str, Any]]:
    objects = [_model(model, v) for v in model.variants]
    if stores(model):
        objects += [_pipeline(model, v) for v in model.variants]
    if _needs_experiment(model):
        objects.append(_experiment(model, stores(model)))
    objects += [
        _hpa(model, v) for v in model.variants
        if v.settings.get("autoscaling") is not None and not native_scaling(v.settings)
    ]
    objects += render_pipelines(model)
    if monitoring_of(model.settings)["enabled"]:
        objects.append(_pod_monitor(model))
    objects += observability.render(model)
    return objects


def observed(model: ResolvedModel) -> dict[str, str]:
    """Each variant is its own Core 2 Model, whose agent metrics name it in `model_internal`."""
    return {v.name: model_name(model, v) for v in model.variants}


def _variant_metadata(model: ResolvedModel, variant: ResolvedVariant, *, serving: bool) -> dict[str, Any]:
    """A variant's object metadata; the Model (`serving`) also carries its version."""
    name = model_name(model, variant)
    meta = serving_metadata(model, name, variant.settings) if serving else metadata(model, name)
    meta["labels"][LABEL_VARIANT] = variant.name
    return meta


def _model(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    settings = variant.settings
    spec: dict[str, Any] = {
        "storageUri": settings.get("artifact", "uri"),
        "requirements": requirements(model),
    }
    memory = settings.get("resources", "limits", "memory") or settings.get(
        "resources", "requests", "memory"
    )
    if memory:
        spec["memory"] = memory
    autoscaling = settings.get("autoscaling")
    if autoscaling is not None and native_scaling(settings):
        spec["minReplicas"] = autoscaling.get("min", 1)  # Seldon's lag-based scaler
        if autoscaling.get("max") is not None:  # none: as far as the Servers' capacity goes
            spec["maxReplicas"] = autoscaling["max"]
    elif autoscaling is not None:
        spec["replicas"] = autoscaling.get("min", 1)  # the HPA takes it from here
    else:
        replicas = settings.get("replicas")
        spec["replicas"] = 1 if replicas is None else replicas
    secret = settings.get("artifact", "secret")
    if secret:
        spec["secretName"] = secret
    if (settings.get("logging", "mode") or "none") == "all":
        spec["logger"] = {"percent": settings.get("logging", "sample") or 100}
    return {
        "apiVersion": API_VERSION,
        "kind": "Model",
        "metadata": _variant_metadata(model, variant, serving=True),
        "spec": spec,
    }


def requirements(model: ResolvedModel) -> list[str]:
    """The framework's server capability, then the model file's own `requirements`, each once."""
    wanted = [REQUIREMENTS[model.spec.framework], *(model.spec.requirements or [])]
    return list(dict.fromkeys(wanted))


def _pipeline(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    """A variant's one-step Pipeline: through it, Core 2 writes the Model's Kafka topics."""
    meta = metadata(model, pipeline_name(model, variant))
    meta["labels"][LABEL_VARIANT] = variant.name
    step = model_name(model, variant)
    return {"apiVersion": API_VERSION, "kind": "Pipeline", "metadata": meta,
            "spec": {"steps": [{"name": step}], "output": {"steps": [step]}}}


def _experiment(model: ResolvedModel, pipelines: bool = False) -> dict[str, Any]:
    """The split over the variants' Models, or over their Pipelines when predictions are stored."""
    named = pipeline_name if pipelines else model_name
    serving = [v for v in model.variants if not v.shadow]
    spec: dict[str, Any] = {
        "default": named(model, model.main),
        "resourceType": "pipeline" if pipelines else "model",
        "candidates": [
            {"name": named(model, v), "weight": 100 if v.weight is None else v.weight}
            for v in serving
        ],
    }
    shadow = next((v for v in model.variants if v.shadow), None)
    if shadow is not None:
        spec["mirror"] = {"name": named(model, shadow), "percent": 100}
    return {
        "apiVersion": API_VERSION,
        "kind": "Experiment",
        "metadata": metadata(model, experiment_name(model)),
        "spec": spec,
    }


def _hpa(model: ResolvedModel, variant: ResolvedVariant) -> dict[str, Any]:
    autoscaling = variant.settings.get("autoscaling")
    target = {"apiVersion": API_VERSION, "kind": "Model", "name": model_name(model, variant)}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _variant_metadata(model, variant, serving=False),
        "spec": {
            "scaleTargetRef": target,
            "minReplicas": autoscaling.get("min", 1),
            "maxReplicas": autoscaling["max"],
            "metrics": [
                {
                    "type": "Object",
                    "object": {
                        "describedObject": dict(target),
                        "metric": {"name": RPS_METRIC},
                        "target": {
                            "type": "AverageValue",
                            "averageValue": quantity(autoscaling["rps"]),
                        },
                    },
                }
            ],
        },
    }


def quantity(value: float) -> str:
    """A Kubernetes quantity for a rate: whole numbers as they are, else in milli-units."""
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def _pod_monitor(model: ResolvedModel) -> dict[str, Any]:
    monitoring = monitoring_of(model.settings)
    names = sorted(model_name(model, v) for v in model.variants)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(model, model.spec.name),
        "spec": {
            "selector": {"matchLabels": dict(SERVER_POD_LABELS)},
            "namespaceSelector": {"matchNames": [model.namespace]},
            "podMetricsEndpoints": [
                {
                    "port": "metrics",
                    "path": METRICS_PATH,
                    "interval": monitoring["interval"],
                    "metricRelabelings": [
                        {"action": "keep", "sourceLabels": ["model"], "regex": "|".join(names)}
                    ],
                }
            ],
        },
    }


def health_checked(model_name: str) -> list[ObjectRef]:
    return []  # Models and Experiments report a Ready condition, which controllers read themselves


# --- reading rendered objects back ----------------------------------------------------------------


def recognises(objects: Sequence[Mapping[str, Any]]) -> bool:
    return any(_is_seldon(obj) for obj in objects)


def _is_seldon(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") in ("Model", "Experiment") and str(obj.get("apiVersion", "")).startswith(
        "mlops.seldon.io/")


def describe(objects: Sequence[Mapping[str, Any]]) -> Description:
    """A variant per Model. The Experiment's candidate weights are relative (share = weight / sum);
    without an Experiment the one Model takes all traffic. An HPA aimed at a Model sets its replicas."""
    models = [obj for obj in objects if _is_seldon(obj) and obj.get("kind") == "Model"]
    stored = _stored_pipelines(objects)
    experiment = next((obj for obj in objects if _is_seldon(obj) and obj.get("kind") == "Experiment"
                       and (obj.get("spec") or {}).get("resourceType", "model") == "model"), None)
    experiment = experiment or _over_models(objects, stored)
    called = {model: pipeline for pipeline, model in stored.items()}
    hpas = {_hpa_target(obj): obj for obj in objects if _hpa_target(obj)}
    shares, mirror, main = _split(models, experiment)
    variants = []
    for obj in models:
        name = name_of(obj)
        spec = obj.get("spec") or {}
        role: Role
        if mirror is not None and name == mirror[0]:
            role, traffic, mirrored = "shadow", None, mirror[1]
        else:
            role = "main" if name == main else role_of(shares.get(name, 0), shares.get(main, 0))
            traffic, mirrored = shares.get(name, 0), None
        labels = labels_of(obj)
        hpa = hpas.get(name)
        variants.append(VariantDescription(
            name=str(labels.get(LABEL_VARIANT, name)),
            role=role,
            version=labels.get(LABEL_VERSION),
            artifact=spec.get("storageUri"),
            traffic=traffic,
            mirror=mirrored,
            replicas=_replicas(spec, hpa),
            resources={"model": {"memory": spec["memory"]}} if spec.get("memory") else {},
            logging=_logging(spec) + (f", stored: clients call pipeline {called[name]}"
                                      if name in called else ""),
            spec=[spec, (hpa or {}).get("spec")],
        ))
    described = {("Model", name_of(obj)) for obj in models}
    described |= {("HorizontalPodAutoscaler", name_of(obj)) for obj in hpas.values()}
    described |= {("Pipeline", name) for name in stored}
    if experiment is not None:
        described.add(("Experiment", name_of(experiment)))
    return Description(NAME, variants, frozenset(described))


def _stored_pipelines(objects: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The one-step Pipelines rendered for stored predictions (a variant label): name -> its Model."""
    found = {}
    for obj in objects:
        steps = (obj.get("spec") or {}).get("steps") or []
        if (_is_pipeline(obj) and LABEL_VARIANT in labels_of(obj) and len(steps) == 1
                and name_of(obj).endswith(PIPELINE_SUFFIX)):
            found[name_of(obj)] = str(steps[0].get("name"))
    return found


def _is_pipeline(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Pipeline" and str(obj.get("apiVersion", "")).startswith("mlops.seldon.io/")


def _over_models(objects: Sequence[Mapping[str, Any]], stored: dict[str, str]) -> Mapping[str, Any] | None:
    """The pipeline Experiment over the variants' Pipelines, as if it split their Models."""
    for obj in objects:
        spec = obj.get("spec") or {}
        if not (_is_seldon(obj) and obj.get("kind") == "Experiment"
                and spec.get("resourceType") == "pipeline" and spec.get("default") in stored):
            continue
        translated: dict[str, Any] = {
            "default": stored[spec["default"]],
            "candidates": [{**c, "name": stored.get(str(c.get("name")), c.get("name"))}
                           for c in spec.get("candidates") or []]}
        if spec.get("mirror"):
            mirror = spec["mirror"]
            translated["mirror"] = {**mirror, "name": stored.get(str(mirror.get("name")), mirror.get("name"))}
        return {**obj, "spec": translated}
    return None


def _split(models: list[Mapping[str, Any]], experiment: Mapping[str, Any] | None
           ) -> tuple[dict[str, float], tuple[str, float] | None, str]:
    """(Model name -> percent of traffic, (mirrored Model, percent) or None, the main Model)."""
    if experiment is None:
        main = name_of(models[0]) if models else ""
        return {main: 100}, None, main
    spec = experiment.get("spec") or {}
    weights = {str(c.get("name")): c.get("weight", 0) or 0 for c in spec.get("candidates") or []}
    total = sum(weights.values())
    shares = {name: (100 * weight / total if total else 0) for name, weight in weights.items()}
    mirror_spec = spec.get("mirror")
    mirror = (str(mirror_spec.get("name")), mirror_spec.get("percent", 100)) if mirror_spec else None
    return shares, mirror, str(spec.get("default") or "")


def _hpa_target(obj: Mapping[str, Any]) -> str | None:
    if obj.get("kind") != "HorizontalPodAutoscaler":
        return None
    target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    return str(target.get("name")) if target.get("kind") == "Model" else None


def _replicas(spec: Mapping[str, Any], hpa: Mapping[str, Any] | None) -> Replicas:
    if hpa is not None:
        hpa_spec = hpa.get("spec") or {}
        return Replicas(hpa_spec.get("minReplicas", 1), hpa_spec.get("maxReplicas"), autoscaled=True)
    if "maxReplicas" in spec or "minReplicas" in spec:  # Seldon's own scaler
        return Replicas(spec.get("minReplicas", 1), spec.get("maxReplicas"), autoscaled=True)
    replicas = spec.get("replicas", 1)
    return Replicas(replicas, replicas)


def _logging(spec: Mapping[str, Any]) -> str:
    logger = spec.get("logger")
    if not logger:
        return "off"
    percent = logger.get("percent", 100)
    return "all" if percent == 100 else f"all, {percent}% sampled"
