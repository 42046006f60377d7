"""The observability pack, per environment: `generated/<env>/observability.yaml`.

One PrometheusRule, `modelops.observability`, in the environment's namespace, with one group (past
SHARD_SIZE variants, their info series go into PrometheusRules of their own, `modelops.variants-<i>`,
each well under the operator's 512 KiB per rule file):

1. each model variant's info series (`modelops:variant:info`, from the model summaries);
2. the recording rules, once per target type that runs here, over every model: each reads its
   target's metrics and takes `model` and `variant` from the info series it joins on the target's
   own labels (`observability.upstream_labels`), so the series keep the labels `rollout` and the
   alerts read;
3. the environment's alerts, at its thresholds (modelops.yaml `defaults` < `environments.<env>.defaults`),
   over every model that does not write `alerts` of its own (those have their own rule).

Plus one Grafana dashboard ConfigMap (`modelops.dashboard`, `dashboard.py`) with model and variant
template variables. The names hold a dot, which no model's object name can (models are DNS labels).

Every selector says `environment="<env>"`: environments sharing one Prometheus record each model once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelops.compile.generators import dashboard
from modelops.compile.generators.observability import (
    ERROR_RATIO,
    INFO,
    LATENCY,
    RATE_WINDOW,
    REPLICAS,
    REQUESTS,
    alert,
    alert_labels,
    alert_settings_in,
    enabled_in,
    error_alert,
    latency_alert,
    variant_alerts,
)
from modelops.compile.resolve import Layer, Merged, merge_layers
from modelops.compile.spec import RepoConfig, Settings
from modelops.labels import (
    ANNOTATION_SOURCE,
    LABEL_ENV,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_PART_OF,
    MANAGED_BY,
)

FILE = "observability.yaml"
RULE_NAME = "modelops.observability"
VARIANTS_NAME = "modelops.variants"  # the info series' own PrometheusRules, past SHARD_SIZE of them
# Info series per shard at most on average (~430 bytes each): the Prometheus operator refuses a
# PrometheusRule whose rule file exceeds 512 KiB, which one rule for 10,000 models' did tenfold.
SHARD_SIZE = 500
# HTTP 5xx, and the gRPC codes that map to 5xx (the executor reports gRPC codes by name).
ERROR_CODES = "5..|Unknown|Internal|Unavailable|DataLoss|DeadlineExceeded|Unimplemented"
InfoLabels = dict[str, str]


@dataclass(frozen=True)
class Flavor:
    """A target's upstream series: request counter, latency histogram (seconds), ready replicas, and
    the labels they are joined on (besides `namespace`)."""

    keys: tuple[str, ...]
    count: str
    buckets: str
    replicas: str
    replica_keys: tuple[str, ...]
    errors: str | None = f'code=~"{ERROR_CODES}"'  # the matcher of failed requests, None: not counted
    cut: str | None = None  # label_replace arguments deriving a join key the metrics lack


FLAVORS: dict[str, Flavor] = {
    # The executor's request histogram, kube-state-metrics for the predictor's Deployment.
    "seldon-v1": Flavor(("deployment_name", "predictor_name"),
                        "seldon_api_executor_server_requests_seconds_count",
                        "seldon_api_executor_server_requests_seconds_bucket",
                        "kube_deployment_status_replicas_available", ("deployment",)),
    # The agent's counters per Core 2 Model version (`model_internal` = `<Model>_<version>`; `model`
    # is the name a request asked for, an Experiment's default model for all of its arms).
    "seldon-v2": Flavor(("seldon_model",), "seldon_model_infer_total",
                        "seldon_model_infer_api_seconds_bucket", "seldon_loaded_model_gauge",
                        ("seldon_model",),
                        cut='"seldon_model", "$1", "model_internal", "(.+)_[0-9]+"'),
    # The KServe ModelServer's predict histogram (no failure counter: no error ratio), and the
    # scraped pods that are up.
    "kserve": Flavor(("inferenceservice", "modelops_variant"), "request_predict_seconds_count",
                     "request_predict_seconds_bucket", "up", ("inferenceservice", "modelops_variant"),
                     errors=None),
}


def environment_settings(config: RepoConfig, env: str) -> Merged:
    """An environment's own settings: modelops.yaml `defaults` < `environments.<env>.defaults`."""
    keys = tuple(Settings.model_fields)

    def written(settings: Settings) -> dict[str, Any]:
        dumped = settings.model_dump(exclude_unset=True, mode="json")
        return {k: dumped[k] for k in keys if k in dumped}

    return merge_layers([Layer(written(config.defaults), None, ("defaults",)),
                         Layer(written(config.environments[env].defaults), None, ("environments", env))])


def render(config: RepoConfig, env: str, infos: Sequence[InfoLabels], predictions: bool = False,
           ) -> list[dict[str, Any]]:
    """The environment's PrometheusRule and dashboard ConfigMap; none without a watched model. With
    `predictions` (a model stores them) the dashboard gains the predictions row. The series' labels
    (`infos`: dicts of the caller's own) gain their `environment` label in place."""
    if not infos:
        return []
    settings = environment_settings(config, env)
    for labels in infos:  # in place: 10,000 models' series are not copied again
        labels["environment"] = env
    shards = info_shards([
        {"record": INFO, "expr": "vector(1)", "labels": labels}
        for labels in sorted(infos, key=lambda i: (i["namespace"], i["model"], i["variant"]))
    ])
    rules = shards.pop(0) if len(shards) == 1 else []
    for name, flavor in FLAVORS.items():
        if any(info["target"] == name for info in infos):
            rules += records(env, name, flavor)
    alerts_on, _ = enabled_in(settings)
    if alerts_on and any("alerts" not in info for info in infos):
        rules += environment_alerts(env, settings)
    objects = [{
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(config, env, settings, RULE_NAME),
        "spec": {"groups": [{"name": f"modelops.{env}", "rules": rules}]},
    }]
    objects += [{
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(config, env, settings, f"{VARIANTS_NAME}-{index}"),
        "spec": {"groups": [{"name": f"modelops.{env}.variants-{index}", "rules": shard}]},
    } for index, shard in enumerate(shards) if shard]
    if any(info.get("dashboard") != "false" for info in infos):
        recorded = {rule["record"] for rule in rules if "record" in rule} | ({INFO} if shards else set())
        meta = metadata(config, env, settings, dashboard.CONFIGMAP)
        objects.append(dashboard.configmap(meta, env, recorded, predictions))
    return objects


def info_shards(rules: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The info series in one list, or, past SHARD_SIZE of them, in a power of two of shards by a
    hash of each model (its variants stay together; a new model changes one shard, and all of them
    move only when their number doubles)."""
    count = 1
    while len(rules) > count * SHARD_SIZE:
        count *= 2
    if count == 1:
        return [rules]
    shards: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for rule in rules:
        key = f"{rule['labels']['namespace']}/{rule['labels']['model']}".encode()
        shards[int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % count].append(rule)
    return shards


def metadata(config: RepoConfig, env: str, settings: Merged, name: str) -> dict[str, Any]:
    """Labels as on a model's objects (environment labels first, the ownership pair last)."""
    labels = {
        **config.environments[env].labels,
        **(settings.get("labels") or {}),
        LABEL_NAME: "modelops",
        LABEL_INSTANCE: f"modelops-{env}",
        LABEL_PART_OF: MANAGED_BY,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_ENV: env,
    }
    annotations = {**(settings.get("annotations") or {}), ANNOTATION_SOURCE: "modelops.yaml"}
    return {"name": name, "namespace": config.environments[env].namespace, "labels": labels,
            "annotations": annotations}


# --- recording rules ------------------------------------------------------------------------------


def joined(env: str, target: str, flavor: Flavor, inner: str, keys: tuple[str, ...], by: str = "") -> str:
    """`inner` (upstream series) summed per model variant: joined to the info series on `keys`."""
    if flavor.cut:
        inner = f"label_replace({inner}, {flavor.cut})"
    info = f'{INFO}{{environment="{env}",target="{target}"}}'
    on = ", ".join(("namespace", *keys))
    return f"sum by (namespace, model, variant{by}) ({inner} * on ({on}) group_left (model, variant) {info})"


def records(env: str, target: str, flavor: Flavor) -> list[dict[str, Any]]:
    """The recorded series of every model of one target type in the environment."""
    w = RATE_WINDOW
    total = joined(env, target, flavor, f"rate({flavor.count}[{w}])", flavor.keys)
    buckets = joined(env, target, flavor, f"rate({flavor.buckets}[{w}])", flavor.keys, ", le")
    exprs = {REQUESTS: total}
    if flavor.errors is not None:
        failed = joined(env, target, flavor, f"rate({flavor.count}{{{flavor.errors}}}[{w}])", flavor.keys)
        exprs[ERROR_RATIO] = f"({failed} or 0 * {total}) / {total}"
    exprs.update({record: f"histogram_quantile(0.{q[1:]}, {buckets})" for q, record in LATENCY.items()})
    exprs[REPLICAS] = joined(env, target, flavor, flavor.replicas, flavor.replica_keys)
    return [{"record": record, "expr": expr} for record, expr in exprs.items()]


# --- the environment's alerts ---------------------------------------------------------------------


def environment_alerts(env: str, settings: Merged) -> list[dict[str, Any]]:
    """The alerts at the environment's thresholds, for the models without thresholds of their own;
    `team` comes from the info series."""
    thresholds = alert_settings_in(settings)
    labels = alert_labels(settings, env, None)
    alerting = f'{INFO}{{environment="{env}",alerts=""}}'

    def of(series: str, role: str = "", team: bool = True) -> str:
        info = alerting if not role else alerting.replace('alerts=""', f'alerts="",{role}')
        return f"({series} * on (namespace, model, variant) group_left ({'team' if team else ''}) {info})"

    where = f"{{{{ $labels.model }}}} in {env}"
    rules = []
    if latency := thresholds["latency"]:
        rules.append(latency_alert(of(LATENCY["p99"]), latency, where, labels))
    if errors := thresholds["errors"]:
        rules.append(error_alert(of(ERROR_RATIO), errors, where, labels))
    if quiet := thresholds["no_traffic"]:
        rules.append(alert(
            "ModelNoTraffic",
            f"sum by (namespace, model, team) ({alerting}) unless on (namespace, model) "
            f"(sum by (namespace, model) ({REQUESTS}) > 0)",
            quiet["for"], {"severity": "warning", **labels}, f"{where} receives no requests",
            f"No request reached any variant for {quiet['for']} (or its metrics are not scraped).",
        ))
    if compare := thresholds["variants"]:
        p99, ratio = LATENCY["p99"], ERROR_RATIO
        rules += variant_alerts(
            {"latency": (of(p99, 'role!="main"'), of(p99, 'role="main"', team=False)),
             "errors": (of(ratio, 'role!="main"'), of(ratio, 'role="main"', team=False))},
            compare, labels, f"variant {{{{ $labels.variant }}}} of {where}",
            "{{ $labels.variant }}", "main", match="on (namespace, model)")
    return rules
