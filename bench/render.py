"""Plain-Python rendering of a benchmark model into the objects modelops emits for it.

No validation, no positions, no checks: just the merge rule and the three Seldon Core v1 objects
(SeldonDeployment, metrics Service, ServiceMonitor) per environment. The floor and the Kapitan kadet
component both use it, so the three tools produce the same documents for the benchmark corpus.
"""

from __future__ import annotations

import hashlib
from typing import Any

SERVERS = {"sklearn": "SKLEARN_SERVER", "xgboost": "XGBOOST_SERVER", "mlflow": "MLFLOW_SERVER",
           "tensorflow": "TENSORFLOW_SERVER", "triton": "TRITON_SERVER", "huggingface": "HUGGINGFACE_SERVER"}
MLFLOW_PROBES = {
    "readinessProbe": {"initialDelaySeconds": 60, "periodSeconds": 10, "timeoutSeconds": 5,
                       "failureThreshold": 30},
    "livenessProbe": {"initialDelaySeconds": 120, "periodSeconds": 10, "timeoutSeconds": 5,
                      "failureThreshold": 30},
}
SETTINGS = ("replicas", "autoscaling", "resources", "artifact", "monitoring", "logging", "labels",
            "annotations")


def merge(target: dict[str, Any], source: dict[str, Any], top: bool = True) -> dict[str, Any]:
    """modelops' merge rule: mappings merge, scalars replace, null removes; a new uri drops mlflow."""
    for key, value in source.items():
        if value is None:
            target.pop(key, None)
            continue
        inherited = target.get("artifact")
        new_uri = key == "artifact" and top and "uri" in value and "mlflow" not in value
        if new_uri and isinstance(inherited, dict):
            inherited.pop("mlflow", None)
        if isinstance(value, dict):
            existing = target.get(key)
            target[key] = merge(dict(existing) if isinstance(existing, dict) else {}, value, False)
        else:
            target[key] = value
    return target


def _layer(data: dict[str, Any], keys: tuple[str, ...] = SETTINGS) -> dict[str, Any]:
    return {k: data[k] for k in keys if k in data}


def version_of(settings: dict[str, Any]) -> str:
    artifact = settings.get("artifact") or {}
    if (artifact.get("mlflow") or {}).get("version") is not None:
        return str(artifact["mlflow"]["version"])
    return "sha-" + hashlib.sha256((artifact.get("uri") or "").encode()).hexdigest()[:10]


def render(config: dict[str, Any], spec: dict[str, Any], source: str) -> dict[str, list[dict[str, Any]]]:
    """{environment: [objects]} for one model."""
    out = {}
    envs = spec.get("environments") or dict.fromkeys(config["environments"], {})
    for env in sorted(envs):
        out[env] = _render_env(config, spec, source, env, envs[env] or {})
    return out


def _render_env(config: dict, spec: dict, source: str, env: str, override: dict) -> list[dict[str, Any]]:
    env_config = config["environments"][env]
    settings: dict[str, Any] = {}
    for layer in (config.get("defaults", {}), env_config.get("defaults", {}), spec, override):
        merge(settings, _layer(layer))
    traffic = override.get("traffic") or spec.get("traffic") or {"main": {}}
    variants = {name: merge(merge({}, settings), _layer(v, ("artifact", "resources", "replicas")))
                for name, v in traffic.items()}
    main = variants["main"] if "main" in variants else variants[
        max(traffic, key=lambda n: (not traffic[n].get("shadow"), traffic[n].get("weight") or 0))]
    name, namespace = spec["name"], override.get("namespace") or env_config["namespace"]
    labels = {
        **env_config.get("labels", {}),
        **settings.get("labels", {}),
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": f"{name}-{env}",
        "app.kubernetes.io/part-of": "modelops",
        "app.kubernetes.io/managed-by": "modelops",
        "modelops.io/team": spec["team"],
        "modelops.io/environment": env,
    }

    def metadata(object_name: str, **extra: str) -> dict[str, Any]:
        return {"name": object_name, "namespace": namespace, "labels": {**labels, **extra},
                "annotations": {**settings.get("annotations", {}), "modelops.io/source": source}}

    predictors = [_predictor(spec, variant, traffic[vname], vname) for vname, variant in variants.items()]
    interval = (settings.get("monitoring") or {}).get("interval", "30s")
    return [
        {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
         "metadata": metadata(name, **{"modelops.io/version": version_of(main)}),
         "spec": {"name": name, "protocol": spec.get("protocol", "v2"), "predictors": predictors}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": metadata(f"{name}-metrics", **{"modelops.io/metrics": "true"}),
         "spec": {"clusterIP": "None", "selector": {"seldon-deployment-id": name},
                  "ports": [{"name": "metrics", "port": 8000, "targetPort": "metrics", "protocol": "TCP"}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": metadata(name),
         "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": f"{name}-{env}",
                                               "app.kubernetes.io/name": name,
                                               "modelops.io/metrics": "true"}},
                  "namespaceSelector": {"matchNames": [namespace]},
                  "endpoints": [{"port": "metrics", "path": "/prometheus", "interval": interval}]}},
    ]


def _predictor(spec: dict, settings: dict, variant: dict, name: str) -> dict[str, Any]:
    artifact = settings.get("artifact") or {}
    graph: dict[str, Any] = {"name": spec["name"], "type": "MODEL",
                             "implementation": SERVERS[spec["framework"]]}
    if artifact.get("uri"):
        graph["modelUri"] = artifact["uri"]
    if artifact.get("secret"):
        graph["envSecretRefName"] = artifact["secret"]
    logging = settings.get("logging") or {}
    if logging.get("mode", "none") != "none":
        graph["logger"] = {"mode": logging["mode"], **({"url": logging["url"]} if logging.get("url") else {})}
    container: dict[str, Any] = {"name": spec["name"]}
    resources = {k: {q: str(v) for q, v in settings["resources"][k].items()}
                 for k in ("requests", "limits") if (settings.get("resources") or {}).get(k)}
    if resources:
        container["resources"] = resources
    if spec["framework"] == "mlflow":
        container.update({k: {**v, "tcpSocket": {"port": "http"}} for k, v in MLFLOW_PROBES.items()})
    component: dict[str, Any] = {"spec": {"containers": [container]}}
    autoscaling = settings.get("autoscaling")
    if autoscaling is not None:
        component["hpaSpec"] = {
            "minReplicas": autoscaling.get("min", 1), "maxReplicas": autoscaling["max"],
            "metricsv2": [{"type": "Resource", "resource": {"name": r, "target": {
                "type": "Utilization", "averageUtilization": autoscaling[r]}}}
                for r in ("cpu", "memory") if autoscaling.get(r) is not None],
        }
    predictor: dict[str, Any] = {
        "name": name,
        "labels": {"modelops.io/variant": name, "modelops.io/version": version_of(settings)},
        "graph": graph,
        "componentSpecs": [component],
    }
    if variant.get("shadow"):
        predictor["shadow"] = True
    else:
        predictor["traffic"] = variant.get("weight", 100)
    if autoscaling is None:
        predictor["replicas"] = settings.get("replicas", 1)
    return predictor
