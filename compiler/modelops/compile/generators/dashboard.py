"""One Grafana dashboard per environment: pick a model (and variants) in its template variables.

The `model` variable lists the environment's models from their info series (those with
`dashboard: false` left out), `variant` that model's variants (all by default), and a hidden
`namespace` the model's; every panel is one recorded series of that model, split by variant.
Grafana's sidecar loads the ConfigMap by its `grafana_dashboard` label.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from typing import Any
from urllib.parse import urlencode

from modelops.compile.emit.block_yaml import Literal
from modelops.compile.generators.observability import ERROR_RATIO, INFO, LATENCY, REPLICAS, REQUESTS

CONFIGMAP = "modelops.dashboard"
DASHBOARD_LABEL = "grafana_dashboard"
PANELS = (
    ("Requests per second", REQUESTS, "sum", "reqps"),
    ("Error ratio", ERROR_RATIO, "max", "percentunit"),
    ("Latency p50", LATENCY["p50"], "max", "s"),
    ("Latency p95", LATENCY["p95"], "max", "s"),
    ("Latency p99", LATENCY["p99"], "max", "s"),
    ("Ready replicas", REPLICAS, "sum", "none"),
)
SELECTOR = 'namespace="$namespace",model="$model",variant=~"$variant"'
# The predictions row, from the collector's own series (modelops.collector.metrics): they carry the
# environment and the model, not the model's namespace (the collector may run in another one).
COLLECTOR = "modelops_collector"
_SHARE = ("sum by (variant, class) (rate({c}_predictions_total{{{s}}}[15m])) / ignoring(class) "
          "group_left sum by (variant) (rate({c}_predictions_total{{{s}}}[15m]))")
_AGREEMENT = ('sum by (variants) (rate({c}_pairs_total{{{p},agree="true"}}[15m])) / '
              "sum by (variants) (rate({c}_pairs_total{{{p}}}[15m]))")
PREDICTION_PANELS = (  # (title, expression, unit, legend)
    ("Stored answers per second", "sum by (variant) (rate({c}_events_written_total{{{s}}}[5m]))",
     "reqps", "{{variant}}"),
    ("Predicted classes (share of answers)", _SHARE, "percentunit", "{{variant}} {{class}}"),
    ("Mean output", "sum by (variant) (rate({c}_output_sum{{{s}}}[15m])) / "
     "sum by (variant) (rate({c}_output_count{{{s}}}[15m]))", "none", "{{variant}}"),
    ("Agreement with the other variant", _AGREEMENT, "percentunit", "{{variants}}"),
)
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def uid(env: str) -> str:
    """Grafana uids hold at most 40 characters: long names get a stable hash instead."""
    chosen = f"modelops-{env}"
    if len(chosen) <= 40:
        return chosen
    return "modelops-" + hashlib.sha256(chosen.encode()).hexdigest()[:31]


def link(env: str, model: str, namespace: str) -> str:
    """The path of the environment's dashboard showing one model (every variant)."""
    return f"/d/{uid(env)}?" + urlencode({"var-model": model, "var-namespace": namespace})


def _variable(name: str, label: str, query: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": _DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"modelops-{name}"},
        "refresh": 2,  # on time range change: models come and go
        "sort": 1,
        **extra,
    }


def templating(env: str) -> list[dict[str, Any]]:
    info = f'{INFO}{{environment="{env}"'
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
        _variable("model", "Model", f'label_values({info},dashboard!="false"}}, model)'),
        _variable("variant", "Variant", f'label_values({info},model="$model"}}, variant)',
                  multi=True, includeAll=True, current={"text": "All", "value": "$__all"}),
        _variable("namespace", "Namespace", f'label_values({info},model="$model"}}, namespace)', hide=2),
    ]


def dashboard(env: str, recorded: Collection[str], predictions: bool = False) -> dict[str, Any]:
    """The dashboard: one panel per series `recorded` in the environment, every panel split by variant;
    with `predictions` (a model of the environment stores them), a row of what the answers say."""
    shown = [(title, f"{agg} by (variant) ({record}{{{SELECTOR}}})", unit, "{{variant}}")
             for title, record, agg, unit in PANELS if record in recorded]
    panels = [_panel(index + 1, index, *panel) for index, panel in enumerate(shown)]
    if predictions:
        top = (len(shown) + 1) // 2 * 8
        panels.append({"id": len(panels) + 1, "type": "row", "title": "Predictions", "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": top}, "panels": []})
        selector = f'environment="{env}",model="$model",variant=~"$variant"'
        pairs = f'environment="{env}",model="$model"'
        for index, (title, expr, unit, legend) in enumerate(PREDICTION_PANELS):
            query = expr.format(c=COLLECTOR, s=selector, p=pairs)
            panels.append(_panel(len(panels) + 1, index, title, query, unit, legend, top + 1))
    return {
        "uid": uid(env),
        "title": f"Models ({env})",
        "description": f"modelops: the models of {env}, by variant; pick one above.",
        "tags": ["modelops", env],
        "editable": False,
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "annotations": {"list": []},
        "templating": {"list": templating(env)},
        "panels": panels,
    }


def _panel(number: int, index: int, title: str, expr: str, unit: str, legend: str, top: int = 0,
           ) -> dict[str, Any]:
    """A time series panel, two to a row of the grid."""
    return {
        "id": number,
        "type": "timeseries",
        "title": title,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": top + (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}},
        "targets": [{"refId": "A", "datasource": _DATASOURCE, "expr": expr, "legendFormat": legend}],
    }


def configmap(meta: dict[str, Any], env: str, recorded: Collection[str], predictions: bool = False,
              ) -> dict[str, Any]:
    meta["labels"][DASHBOARD_LABEL] = "1"
    text = json.dumps(dashboard(env, recorded, predictions), indent=2, sort_keys=True) + "\n"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {f"modelops-{env}.json": Literal(text)},
    }
