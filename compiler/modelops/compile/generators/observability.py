"""The observability pack, per model: what a model adds to its environment's shared rules.

Recording rules (written once per environment, `observability_env`) turn each target's own metrics
into per-variant series every alert, dashboard panel and `modelops rollout` reads (labels
`namespace`, `model`, `variant`):

    modelops:requests:rate5m            requests per second
    modelops:errors:ratio_rate5m        share of failed requests (HTTP 5xx, gRPC server errors)
    modelops:latency_seconds:p50_5m     latency quantiles (also p95, p99)
    modelops:replicas:available         ready replicas

They find a variant's upstream series through its info series, `modelops:variant:info` (value 1):
one per model variant and environment, labelled with the model, variant, team and environment and
with the labels its target's metrics carry (`info_series`). A model adds only that, unless it writes
`alerts` of its own: then its alerts are its own PrometheusRule (`render`), and the environment's
alerts leave it out (info label `alerts="model"`; `alerts="off"` when it switched them off).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.compile.resolve import Merged, ResolvedModel
from modelops.compile.targets.common import metadata

RATE_WINDOW = "5m"
REQUESTS = "modelops:requests:rate5m"
ERROR_RATIO = "modelops:errors:ratio_rate5m"
LATENCY = {q: f"modelops:latency_seconds:{q}_5m" for q in ("p50", "p95", "p99")}
REPLICAS = "modelops:replicas:available"
INFO = "modelops:variant:info"
DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"p99_ms": 500, "for": "10m"},
    "errors": {"ratio": 0.05, "for": "5m"},
    "no_traffic": {"for": "15m"},
    "variants": {"latency_ratio": 1.5, "error_margin": 0.02, "for": "15m"},
}
ON_BY_DEFAULT = ("latency", "errors", "variants")


def enabled(model: ResolvedModel) -> tuple[bool, bool]:
    """(alerts, dashboard): both need monitoring, since they read the scraped metrics."""
    return enabled_in(model.settings)


def enabled_in(settings: Merged) -> tuple[bool, bool]:
    """(alerts, dashboard) as merged settings (a model's, or an environment's own) switch them."""
    if (settings.get("monitoring") or {}).get("enabled", True) is False:
        return False, False
    alerts = (settings.get("alerts") or {}).get("enabled", True)
    return bool(alerts), settings.get("dashboard") is not False


def own_alerts(model: ResolvedModel) -> bool:
    """Whether the model (or its `environments.<env>`) writes `alerts`: its thresholds are its own."""
    origins = model.settings.origins.items()
    return any(path[:1] == ("alerts",) and doc is model.doc for path, (doc, _) in origins)


def upstream_labels(model: ResolvedModel, variant: str, flavor: str,
                    names: Mapping[str, str]) -> dict[str, str]:
    """The labels a variant's upstream metrics carry on the given target flavor (the join keys):

    `seldon-v1`: the executor's `deployment_name` (the graph) and `predictor_name` (the variant),
    kube-state-metrics' `deployment`; `seldon-v2`: the Core 2 Model (`seldon_model`, cut from the
    agent's `model_internal` = `<Model>_<version>`); `kserve`: the pod labels the PodMonitor copies,
    `inferenceservice` and `modelops_variant`.
    """
    name = model.spec.name
    own = names.get(variant, name)
    if flavor == "seldon-v1":
        return {"deployment_name": own, "predictor_name": variant,
                "deployment": f"{name}-{variant}-0-{own}"}
    if flavor == "seldon-v2":
        return {"seldon_model": own}
    if flavor == "kserve":
        return {"inferenceservice": own, "modelops_variant": variant}
    raise ValueError(f"unknown observability flavor {flavor!r}")


def info_series(model: ResolvedModel, flavor: str, names: Mapping[str, str]) -> list[dict[str, str]]:
    """The labels of each variant's `modelops:variant:info` series; none when the pack is off.

    `names` maps variant -> the object whose metrics identify it (`Target.observed`).
    """
    alerts_on, dashboard_on = enabled(model)
    if not (alerts_on or dashboard_on):
        return []
    flags: dict[str, str] = {}
    if not alerts_on:
        flags["alerts"] = "off"
    elif own_alerts(model):
        flags["alerts"] = "model"
    if not dashboard_on:
        flags["dashboard"] = "false"
    main = model.main.name
    return [
        {
            "namespace": model.namespace, "model": model.spec.name, "variant": v.name,
            "team": model.spec.team,
            "role": "main" if v.name == main else "shadow" if v.shadow else "variant",
            "target": flavor, **upstream_labels(model, v.name, flavor, names), **flags,
        }
        for v in model.variants
    ]


def render(model: ResolvedModel) -> list[dict[str, Any]]:
    """The model's own PrometheusRule: only for a model with alert thresholds of its own."""
    alerts_on, _ = enabled(model)
    if not alerts_on or not own_alerts(model):
        return []
    return [{
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(model, model.spec.name),
        "spec": {"groups": [{"name": f"modelops.{model.env}.{model.spec.name}", "rules": _alerts(model)}]},
    }]


# --- alerts ---------------------------------------------------------------------------------------


def alert_settings(model: ResolvedModel) -> dict[str, dict[str, Any] | None]:
    """Each alert's thresholds after defaults, or None when it is off."""
    return alert_settings_in(model.settings)


def alert_settings_in(settings: Merged) -> dict[str, dict[str, Any] | None]:
    configured = settings.get("alerts") or {}
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
    labels = alert_labels(model.settings, model.env, model.spec.team)
    rules = []
    if latency := settings["latency"]:
        rules.append(latency_alert(f"{LATENCY['p99']}{{{sel}}}", latency, where, labels))
    if errors := settings["errors"]:
        rules.append(error_alert(f"{ERROR_RATIO}{{{sel}}}", errors, where, labels))
    if quiet := settings["no_traffic"]:
        rules.append(alert(
            "ModelNoTraffic",
            f"sum by (namespace, model) ({REQUESTS}{{{sel}}}) == 0 or absent({REQUESTS}{{{sel}}})",
            quiet["for"], {"severity": "warning", **labels},
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
        rules += variant_alerts(
            {"latency": (f"{LATENCY['p99']}{{{this}}}", f"{LATENCY['p99']}{{{base}}}"),
             "errors": (f"{ERROR_RATIO}{{{this}}}", f"{ERROR_RATIO}{{{base}}}")},
            compare, labels, f"{role} {variant.name} of {where}", variant.name, main)
    return rules


def alert_labels(settings: Merged, env: str, team: str | None) -> dict[str, str]:
    """The static labels of every alert (`team` comes from the info series where it is None)."""
    labels = {"team": team} if team is not None else {}
    return {**labels, "environment": env, **((settings.get("alerts") or {}).get("labels") or {})}


def latency_alert(p99: str, latency: dict[str, Any], where: str, labels: dict[str, str]) -> dict[str, Any]:
    return alert(
        "ModelLatencyHigh", f"{p99} > {num(latency['p99_ms'] / 1000)}", latency["for"],
        {"severity": "warning", **labels},
        f"p99 latency of {where} (variant {{{{ $labels.variant }}}}) is above its SLO",
        f"p99 latency is {{{{ $value | humanizeDuration }}}}, the SLO is {num(latency['p99_ms'])}ms.",
    )


def error_alert(ratio: str, errors: dict[str, Any], where: str, labels: dict[str, str]) -> dict[str, Any]:
    return alert(
        "ModelErrorRatioHigh", f"{ratio} > {num(errors['ratio'])}", errors["for"],
        {"severity": "critical", **labels},
        f"{where} (variant {{{{ $labels.variant }}}}) fails too many requests",
        f"{{{{ $value | humanizePercentage }}}} of requests fail, the threshold is "
        f"{num(errors['ratio'] * 100)}%.",
    )


def variant_alerts(series: dict[str, tuple[str, str]], compare: dict[str, Any], labels: dict[str, str],
                   who: str, variant: str, main: str,
                   match: str = "ignoring(variant)") -> list[dict[str, Any]]:
    """A trial variant against main: `series` maps latency/errors -> (the variant's, main's) PromQL,
    matched by `match` (one model: ignoring the variant; an environment: on namespace and model)."""
    (this_p99, main_p99), (this_err, main_err) = series["latency"], series["errors"]
    ratio, margin = num(compare["latency_ratio"]), num(compare["error_margin"])
    return [
        alert("ModelVariantSlowerThanMain",
              f"{this_p99} > {match} group_left() ({main_p99} * {ratio})",
              compare["for"], {"severity": "warning", **labels},
              f"{who} is slower than {main}",
              f"p99 latency of {variant} is {{{{ $value | humanizeDuration }}}}, more than {ratio}x that of "
              f"{main}."),
        alert("ModelVariantErrorsAboveMain",
              f"{this_err} > {match} group_left() ({main_err} + {margin})",
              compare["for"], {"severity": "warning", **labels},
              f"{who} fails more requests than {main}",
              f"{{{{ $value | humanizePercentage }}}} of requests to {variant} fail, more than "
              f"{main}'s share plus {num(compare['error_margin'] * 100)} points."),
    ]


def alert(name: str, expr: str, duration: str, labels: dict[str, str], summary: str,
          description: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": labels,
        "annotations": {"summary": summary, "description": description},
    }


def num(value: float) -> str:
    """A threshold as PromQL and people read it (no float noise)."""
    return f"{value:.12g}"
