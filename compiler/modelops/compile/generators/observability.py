"""The observability pack: a PrometheusRule and a Grafana dashboard per model and environment.

Recording rules turn the target's own metrics into per-variant series every alert and dashboard
panel shares (labels `namespace`, `model`, `variant`):

    modelops:requests:rate5m            requests per second
    modelops:errors:ratio_rate5m        share of failed requests (HTTP 5xx, gRPC server errors)
    modelops:latency_seconds:p50_5m     latency quantiles (also p95, p99)
    modelops:replicas:available         ready replicas

Targets call `render(model, flavor)`; `flavor` picks the upstream metric names:
`seldon-v1` reads the executor's `seldon_api_executor_server_requests_seconds_*` (labels
`deployment_name`, `predictor_name`, `code`) and kube-state-metrics; `seldon-v2` reads the agent's
`seldon_model_infer_total` / `seldon_model_infer_api_seconds_*` (one Core 2 Model per variant, told
apart by the `model_internal` label, since `model` is the Experiment's default model for every arm)
and `seldon_loaded_model_gauge`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.compile.emit.block_yaml import Literal
from modelops.compile.resolve import ResolvedModel, ResolvedVariant
from modelops.compile.targets.common import metadata

RATE_WINDOW = "5m"
REQUESTS = "modelops:requests:rate5m"
ERROR_RATIO = "modelops:errors:ratio_rate5m"
LATENCY = {q: f"modelops:latency_seconds:{q}_5m" for q in ("p50", "p95", "p99")}
REPLICAS = "modelops:replicas:available"
# HTTP 5xx, and the gRPC codes that map to 5xx (the executor reports gRPC codes by name).
ERROR_CODES = "5..|Unknown|Internal|Unavailable|DataLoss|DeadlineExceeded|Unimplemented"
DASHBOARD_LABEL = "grafana_dashboard"
DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"p99_ms": 500, "for": "10m"},
    "errors": {"ratio": 0.05, "for": "5m"},
    "no_traffic": {"for": "15m"},
    "variants": {"latency_ratio": 1.5, "error_margin": 0.02, "for": "15m"},
}
ON_BY_DEFAULT = ("latency", "errors", "variants")


@dataclass(frozen=True)
class Metrics:
    """Upstream series of one variant: request counter, latency histogram buckets, replicas."""

    count: str
    buckets: str
    replicas: str
    replicas_agg: str = "sum"


def upstream(
    model: ResolvedModel, variant: ResolvedVariant, flavor: str, names: Mapping[str, str]
) -> Metrics:
    """The selectors for one variant's metrics on the given target flavor."""
    ns, name = model.namespace, model.spec.name
    if flavor == "seldon-v1":
        sel = f'namespace="{ns}",deployment_name="{name}",predictor_name="{variant.name}"'
        deployment = f"{name}-{variant.name}-0-{names.get(variant.name, name)}"
        return Metrics(
            count=f"seldon_api_executor_server_requests_seconds_count{{{sel}}}",
            buckets=f"seldon_api_executor_server_requests_seconds_bucket{{{sel}}}",
            replicas=f'kube_deployment_status_replicas_available{{namespace="{ns}",deployment="{deployment}"}}',
        )
    if flavor == "seldon-v2":
        # `model` is the name a request asked for (an Experiment's default model for all of its
        # arms); `model_internal` is `<Model>_<version>` of the Model that served it.
        core2 = names.get(variant.name, f"{name}-{variant.name}")
        sel = f'namespace="{ns}",model_internal=~"{core2}_[0-9]+"'
        return Metrics(
            count=f"seldon_model_infer_total{{{sel}}}",
            buckets=f"seldon_model_infer_api_seconds_bucket{{{sel}}}",
            replicas=f"seldon_loaded_model_gauge{{{sel}}}",
        )
    raise ValueError(f"unknown observability flavor {flavor!r}")


def enabled(model: ResolvedModel) -> tuple[bool, bool]:
    """(alerts, dashboard): both need monitoring, since they read the scraped metrics."""
    settings = model.settings
    if (settings.get("monitoring") or {}).get("enabled", True) is False:
        return False, False
    alerts = (settings.get("alerts") or {}).get("enabled", True)
    dashboard = settings.get("dashboard")
    return bool(alerts), dashboard is not False


def render(model: ResolvedModel, flavor: str, names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The PrometheusRule and dashboard ConfigMap of a model, as switched on by its settings.

    `names` maps variant -> the object name whose metrics to read, where the target does not
    derive it (seldon-v2: the Core 2 Model of each variant; default `<model>-<variant>`).
    """
    alerts_on, dashboard_on = enabled(model)
    objects = []
    if alerts_on or dashboard_on:
        objects.append(prometheus_rule(model, flavor, names or {}, alerts=alerts_on))
    if dashboard_on:
        objects.append(dashboard_configmap(model))
    return objects


# --- PrometheusRule -------------------------------------------------------------------------------


def prometheus_rule(
    model: ResolvedModel, flavor: str, names: Mapping[str, str], *, alerts: bool = True
) -> dict[str, Any]:
    rules = [rule for v in model.variants for rule in _records(model, v, upstream(model, v, flavor, names))]
    if alerts:
        rules += _alerts(model)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(model, model.spec.name),
        "spec": {"groups": [{"name": f"modelops.{model.env}.{model.spec.name}", "rules": rules}]},
    }


def _records(model: ResolvedModel, variant: ResolvedVariant, metrics: Metrics) -> list[dict[str, Any]]:
    labels = {"model": model.spec.name, "variant": variant.name}
    count, buckets, w = metrics.count, metrics.buckets, RATE_WINDOW
    errors = metrics.count.replace("}", f',code=~"{ERROR_CODES}"}}')
    total = f"sum by (namespace) (rate({count}[{w}]))"
    exprs = {
        REQUESTS: total,
        ERROR_RATIO: f"(sum by (namespace) (rate({errors}[{w}])) or 0 * {total}) / {total}",
        **{
            record: f"histogram_quantile(0.{q[1:]}, sum by (namespace, le) (rate({buckets}[{w}])))"
            for q, record in LATENCY.items()
        },
        REPLICAS: f"{metrics.replicas_agg} by (namespace) ({metrics.replicas})",
    }
    return [{"record": record, "expr": expr, "labels": dict(labels)} for record, expr in exprs.items()]


def alert_settings(model: ResolvedModel) -> dict[str, dict[str, Any] | None]:
    """Each alert's thresholds after defaults, or None when it is off."""
    configured = model.settings.get("alerts") or {}
    result: dict[str, dict[str, Any] | None] = {}
    for name, defaults in DEFAULTS.items():
        value = configured.get(name)
        if (value is None and name not in ON_BY_DEFAULT) or (value or {}).get("enabled", True) is False:
            result[name] = None
        else:
            result[name] = {**defaults, **(value or {})}
    return result


def _alerts(model: ResolvedModel) -> list[dict[str, Any]]:
    settings = alert_settings(model)
    sel = f'namespace="{model.namespace}",model="{model.spec.name}"'
    where = f"{model.spec.name} in {model.env}"
    rules = []
    if latency := settings["latency"]:
        rules.append(_alert(
            model, "ModelLatencyHigh", f"{LATENCY['p99']}{{{sel}}} > {_num(latency['p99_ms'] / 1000)}",
            latency["for"], "warning",
            f"p99 latency of {where} (variant {{{{ $labels.variant }}}}) is above its SLO",
            f"p99 latency is {{{{ $value | humanizeDuration }}}}, the SLO is {_num(latency['p99_ms'])}ms.",
        ))
    if errors := settings["errors"]:
        rules.append(_alert(
            model, "ModelErrorRatioHigh", f"{ERROR_RATIO}{{{sel}}} > {_num(errors['ratio'])}",
            errors["for"], "critical",
            f"{where} (variant {{{{ $labels.variant }}}}) fails too many requests",
            f"{{{{ $value | humanizePercentage }}}} of requests fail, the threshold is "
            f"{_num(errors['ratio'] * 100)}%.",
        ))
    if quiet := settings["no_traffic"]:
        rules.append(_alert(
            model, "ModelNoTraffic",
            f"sum by (namespace, model) ({REQUESTS}{{{sel}}}) == 0 or absent({REQUESTS}{{{sel}}})",
            quiet["for"], "warning",
            f"{where} receives no requests",
            f"No request reached any variant for {quiet['for']} (or its metrics are not scraped).",
        ))
    compare = settings["variants"]
    if compare is None:
        return rules
    main = model.main.name
    for variant in model.variants:
        if variant.name == main:
            continue
        this, base = f'{sel},variant="{variant.name}"', f'{sel},variant="{main}"'
        role = "shadow" if variant.shadow else "variant"
        rules.append(_alert(
            model, "ModelVariantSlowerThanMain",
            f"{LATENCY['p99']}{{{this}}} > ignoring(variant) group_left() "
            f"({LATENCY['p99']}{{{base}}} * {_num(compare['latency_ratio'])})",
            compare["for"], "warning",
            f"{role} {variant.name} of {where} is slower than {main}",
            f"p99 latency of {variant.name} is {{{{ $value | humanizeDuration }}}}, more than "
            f"{_num(compare['latency_ratio'])}x that of {main}.",
        ))
        rules.append(_alert(
            model, "ModelVariantErrorsAboveMain",
            f"{ERROR_RATIO}{{{this}}} > ignoring(variant) group_left() "
            f"({ERROR_RATIO}{{{base}}} + {_num(compare['error_margin'])})",
            compare["for"], "warning",
            f"{role} {variant.name} of {where} fails more requests than {main}",
            f"{{{{ $value | humanizePercentage }}}} of requests to {variant.name} fail, more than "
            f"{main}'s share plus {_num(compare['error_margin'] * 100)} points.",
        ))
    return rules


def _alert(
    model: ResolvedModel, name: str, expr: str, duration: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    labels = {
        "severity": severity,
        "team": model.spec.team,
        "environment": model.env,
        **((model.settings.get("alerts") or {}).get("labels") or {}),
    }
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": labels,
        "annotations": {"summary": summary, "description": description},
    }


def _num(value: float) -> str:
    return f"{value:.12g}"


# --- Grafana dashboard ----------------------------------------------------------------------------


PANELS = (
    ("Requests per second", REQUESTS, "sum", "reqps"),
    ("Error ratio", ERROR_RATIO, "max", "percentunit"),
    ("Latency p50", LATENCY["p50"], "max", "s"),
    ("Latency p95", LATENCY["p95"], "max", "s"),
    ("Latency p99", LATENCY["p99"], "max", "s"),
    ("Ready replicas", REPLICAS, "sum", "none"),
)


def dashboard_uid(model: ResolvedModel) -> str:
    """Grafana uids hold at most 40 characters: long names get a stable hash instead."""
    uid = f"modelops-{model.env}-{model.spec.name}"
    if len(uid) <= 40:
        return uid
    return "modelops-" + hashlib.sha256(uid.encode()).hexdigest()[:31]


def dashboard(model: ResolvedModel) -> dict[str, Any]:
    """The dashboard: one panel per recorded series, every panel split by variant."""
    datasource = {"type": "prometheus", "uid": "${datasource}"}
    sel = f'namespace="{model.namespace}",model="{model.spec.name}"'
    panels = []
    for index, (title, record, agg, unit) in enumerate(PANELS):
        panels.append({
            "id": index + 1,
            "type": "timeseries",
            "title": title,
            "datasource": datasource,
            "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}},
            "targets": [{
                "refId": "A",
                "datasource": datasource,
                "expr": f"{agg} by (variant) ({record}{{{sel}}})",
                "legendFormat": "{{variant}}",
            }],
        })
    return {
        "uid": dashboard_uid(model),
        "title": f"{model.spec.name} ({model.env})",
        "description": f"modelops: {model.spec.name} in {model.env}/{model.namespace}, by variant.",
        "tags": ["modelops", model.env, model.spec.team],
        "editable": False,
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "annotations": {"list": []},
        "templating": {"list": [{
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
        }]},
        "panels": panels,
    }


def dashboard_configmap(model: ResolvedModel) -> dict[str, Any]:
    meta = metadata(model, f"{model.spec.name}-dashboard")
    meta["labels"][DASHBOARD_LABEL] = "1"
    text = json.dumps(dashboard(model), indent=2, sort_keys=True) + "\n"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {f"modelops-{model.env}-{model.spec.name}.json": Literal(text)},
    }
