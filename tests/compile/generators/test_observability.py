"""The observability pack: one PrometheusRule and one dashboard per environment, checked and
unit-tested with the real promtool; per-model alert rules only for models with thresholds of their
own; the switches that turn them off; output that grows by a few lines per model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.validate import ManifestValidator
from modelops.compile.pipeline import build
from support.generated_files import documents, of_kind

ROOT = Path(__file__).resolve().parents[3]
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: .ci/run installs the Debian package prometheus"
)

CONFIG = """\
environments:
  production:
    namespace: models
    target: seldon-v1
    labels: {release: prometheus}
teams:
  search: {reviewers: ["@acme/search-ml"]}
"""

RANKER = """\
name: ranker
team: search
framework: sklearn
artifact: {uri: s3://acme-models/ranker/1}
alerts:
  latency: {p99_ms: 300, for: 5m}
  errors: {ratio: 0.1, for: 5m}
  no_traffic: {for: 10m}
  variants: {latency_ratio: 2, error_margin: 0.05, for: 5m}
traffic:
  main: {weight: 90}
  canary:
    weight: 10
    artifact: {uri: s3://acme-models/ranker/2}
"""
# A model that writes no alerts: the environment's alerts cover it.
PLAIN = """\
name: plain
team: search
framework: sklearn
artifact: {uri: s3://acme-models/plain/1}
traffic:
  main: {weight: 90}
  canary:
    weight: 10
    artifact: {uri: s3://acme-models/plain/2}
"""
IRIS = "name: iris\nteam: search\nframework: sklearn\nartifact: {uri: s3://acme-models/iris/1}\n"
RECORDS = ["modelops:requests:rate5m", "modelops:errors:ratio_rate5m", "modelops:latency_seconds:p50_5m",
           "modelops:latency_seconds:p95_5m", "modelops:latency_seconds:p99_5m",
           "modelops:replicas:available"]
INFO = "modelops:variant:info"


def compiled(root: Path, crd_dir: Path) -> dict[str, str]:
    result = build(root, crd_dir=crd_dir)
    assert not result.diagnostics, [str(d) for d in result.diagnostics]
    return result.files


def shared(files: dict[str, str], env: str = "production") -> dict[str, Any]:
    """The environment's one PrometheusRule."""
    return of_kind(files, "PrometheusRule")[f"{env}/observability"]


def rules_of(rule: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if key in r]


@pytest.fixture(scope="module")
def example_files() -> dict[str, str]:
    """What the repository's own examples compile to (the committed generated/ tree)."""
    return {
        path.relative_to(ROOT / "generated").as_posix(): path.read_text()
        for path in sorted((ROOT / "generated").rglob("*.yaml"))
    }


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


# --- promtool check rules ---------------------------------------------------------------------


@needs_promtool
def test_promtool_accepts_every_generated_rule_file(example_files: dict[str, str], tmp_path: Path) -> None:
    rules = of_kind(example_files, "PrometheusRule")
    # one per environment, and one for the only example model that writes alerts of its own
    assert sorted(rules) == ["edge/observability", "production/models/churn-score",
                             "production/observability", "staging/observability"]
    paths = []
    for folder, rule in sorted(rules.items()):
        path = tmp_path / (folder.replace("/", "_") + ".rules.yaml")
        path.write_text(yaml.safe_dump(rule["spec"], sort_keys=True))
        paths.append(path.name)
    done = promtool("check", "rules", *paths, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(paths)


def test_recording_rules_are_written_once_per_environment(repo, crd_dir: Path) -> None:
    files = compiled(repo({"ranker.yaml": RANKER, "plain.yaml": PLAIN, "iris.yaml": IRIS}, config=CONFIG),
                     crd_dir)
    rule = shared(files)
    validator = ManifestValidator(SchemaSet.find(crd_dir))
    assert validator.problems(rule) == []
    assert rule["metadata"]["name"] == "modelops.observability"
    assert rule["metadata"]["namespace"] == "models"
    assert rule["metadata"]["labels"]["release"] == "prometheus"  # what the Prometheus CR selects
    assert rule["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "modelops"
    assert rule["metadata"]["labels"]["modelops.io/environment"] == "production"
    assert [r["record"] for r in rules_of(rule, "record") if r["record"] != INFO] == RECORDS
    info = [r["labels"] for r in rules_of(rule, "record") if r["record"] == "modelops:variant:info"]
    assert [(i["model"], i["variant"]) for i in info] == [
        ("iris", "main"), ("plain", "canary"), ("plain", "main"), ("ranker", "canary"), ("ranker", "main")]
    assert info[3] == {"environment": "production", "namespace": "models", "model": "ranker",
                       "variant": "canary", "team": "search", "role": "variant", "target": "seldon-v1",
                       "alerts": "model",
                       "deployment_name": "ranker", "predictor_name": "canary",
                       "deployment": "ranker-canary-0-ranker"}
    upstream = " ".join(r["expr"] for r in rules_of(rule, "record"))
    assert "seldon_api_executor_server_requests_seconds_bucket[5m]) * on (namespace, deployment_name, " \
        "predictor_name) group_left (model, variant)" in upstream
    assert 'model="ranker"' not in upstream  # no model is named in a recording rule
    for model in ("iris", "plain"):  # no observability object of their own
        kinds = {obj["kind"] for obj in documents(files[f"production/models/{model}.yaml"])}
        assert kinds == {"SeldonDeployment", "ServiceMonitor", "Service"}


def test_a_model_with_thresholds_of_its_own_has_its_alert_rule(repo, crd_dir: Path) -> None:
    files = compiled(repo({"ranker.yaml": RANKER, "plain.yaml": PLAIN}, config=CONFIG), crd_dir)
    own = of_kind(files, "PrometheusRule")["production/models/ranker"]
    assert ManifestValidator(SchemaSet.find(crd_dir)).problems(own) == []
    assert own["metadata"]["name"] == "ranker"
    assert not rules_of(own, "record")
    alerts = {r["alert"]: r for r in rules_of(own, "alert")}
    assert sorted(alerts) == ["ModelErrorRatioHigh", "ModelLatencyHigh", "ModelNoTraffic",
                              "ModelVariantErrorsAboveMain", "ModelVariantSlowerThanMain"]
    assert alerts["ModelLatencyHigh"]["expr"] == \
        'modelops:latency_seconds:p99_5m{namespace="models",model="ranker"} > 0.3'
    env_alerts = {r["alert"]: r for r in rules_of(shared(files), "alert")}
    assert sorted(env_alerts) == ["ModelErrorRatioHigh", "ModelLatencyHigh", "ModelVariantErrorsAboveMain",
                                  "ModelVariantSlowerThanMain"]  # no_traffic is off by default
    assert env_alerts["ModelLatencyHigh"]["expr"].endswith(' modelops:variant:info{environment="production",'
                                                           'alerts=""}) > 0.5')
    assert "plain" not in files["production/observability.yaml"].split("modelops:requests:rate5m")[1]


# --- promtool test rules: synthetic series that must and must not fire each alert --------------

BUCKETS = ("0.1", "0.25", "0.5", "1", "+Inf")


def variant_series(variant: str, rps: float, errors: float = 0.0, latency: str = "0.1",
                   model: str = "ranker") -> list[dict]:
    """Executor series of one predictor over 30 minutes: `rps` requests per second, a share
    `errors` of them answered 500, every request taking up to `latency` (a bucket bound)."""
    labels = f'namespace="models",deployment_name="{model}",predictor_name="{variant}"'
    per_minute = rps * 60
    series = [
        {"series": f'seldon_api_executor_server_requests_seconds_count{{{labels},code="200"}}',
         "values": f"0+{per_minute * (1 - errors):g}x30"},
        {"series": f'seldon_api_executor_server_requests_seconds_count{{{labels},code="500"}}',
         "values": f"0+{per_minute * errors:g}x30"},
    ]
    reached = False
    for bound in BUCKETS:
        reached = reached or bound == latency
        bucket = f'seldon_api_executor_server_requests_seconds_bucket{{{labels},code="200",le="{bound}"}}'
        series.append({
            "series": bucket,
            "values": f"0+{per_minute if reached else 0:g}x30",
        })
    return series


def alert_labels(variant: str | None, severity: str, model: str = "ranker") -> dict[str, str]:
    labels = {"namespace": "models", "model": model, "severity": severity, "team": "search",
              "environment": "production"}
    if variant:
        labels["variant"] = variant
    return labels


FAST, SLOW = "0.1", "0.5"  # p99 of 0.099 s and 0.4975 s; ranker's SLO is 300 ms
Scenario = tuple[list[dict], str, str, list[dict]]
SCENARIOS: dict[str, Scenario] = {
    # name: (input series, alert, eval time, expected alerts); ranker's own thresholds
    "latency fires": (variant_series("main", 10, latency=SLOW) + variant_series("canary", 1),
                      "ModelLatencyHigh", "15m", [alert_labels("main", "warning")]),
    "latency pending before its `for`": (variant_series("main", 10, latency=SLOW),
                                         "ModelLatencyHigh", "4m", []),
    "latency quiet": (variant_series("main", 10) + variant_series("canary", 1),
                      "ModelLatencyHigh", "15m", []),
    "errors fire": (variant_series("main", 10, errors=0.2) + variant_series("canary", 1),
                    "ModelErrorRatioHigh", "15m", [alert_labels("main", "critical")]),
    "errors below threshold": (variant_series("main", 10, errors=0.05) + variant_series("canary", 1),
                               "ModelErrorRatioHigh", "15m", []),
    "no traffic fires": (variant_series("main", 0) + variant_series("canary", 0),
                         "ModelNoTraffic", "20m", [alert_labels(None, "warning")]),
    "no metrics at all fires": ([{"series": 'up{job="other"}', "values": "1x30"}],
                                "ModelNoTraffic", "20m", [alert_labels(None, "warning")]),
    "traffic keeps it quiet": (variant_series("main", 0) + variant_series("canary", 0.5),
                               "ModelNoTraffic", "20m", []),
    "canary slower than main fires": (variant_series("main", 10)
                                      + variant_series("canary", 1, latency="0.25"),
                                      "ModelVariantSlowerThanMain", "15m",
                                      [alert_labels("canary", "warning")]),
    "canary as fast as main": (variant_series("main", 10) + variant_series("canary", 1),
                               "ModelVariantSlowerThanMain", "15m", []),
    "canary failing more fires": (variant_series("main", 10, errors=0.01)
                                  + variant_series("canary", 1, errors=0.08),
                                  "ModelVariantErrorsAboveMain", "15m", [alert_labels("canary", "warning")]),
    "canary within the margin": (variant_series("main", 10, errors=0.01)
                                 + variant_series("canary", 1, errors=0.04),
                                 "ModelVariantErrorsAboveMain", "15m", []),
}


def plain(variant: str, rps: float, errors: float = 0.0, latency: str = FAST) -> list[dict]:
    return variant_series(variant, rps, errors, latency, model="plain")


def plain_alert(variant: str | None, severity: str) -> dict[str, str]:
    return {**alert_labels(variant, severity, "plain"), "pager": "ml"}


# The environment's thresholds (p99 500 ms, errors 5%, no traffic for 10m, canary 1.5x / +2 points),
# over a model that writes no alerts, next to ranker (its own thresholds: never twice).
ENV_SCENARIOS: dict[str, Scenario] = {
    "latency fires": (plain("main", 10, latency="1") + plain("canary", 1) + variant_series("main", 10),
                      "ModelLatencyHigh", "15m", [plain_alert("main", "warning")]),
    "latency under the environment's SLO": (plain("main", 10, latency=SLOW) + variant_series("main", 10),
                                            "ModelLatencyHigh", "15m", []),
    "errors fire": (plain("main", 10, errors=0.2) + plain("canary", 1) + variant_series("main", 10),
                    "ModelErrorRatioHigh", "15m", [plain_alert("main", "critical")]),
    "errors below threshold": (plain("main", 10, errors=0.04) + variant_series("main", 10, errors=0.2),
                               "ModelErrorRatioHigh", "15m",  # ranker's own, with the environment's labels
                               [{**alert_labels("main", "critical"), "pager": "ml"}]),
    "no traffic fires": (plain("main", 0) + plain("canary", 0) + variant_series("main", 10),
                         "ModelNoTraffic", "20m", [plain_alert(None, "warning")]),
    "traffic keeps it quiet": (plain("main", 0) + plain("canary", 1) + variant_series("main", 10),
                               "ModelNoTraffic", "20m", []),
    "canary slower than main fires": (plain("main", 10) + plain("canary", 1, latency="0.25")
                                      + variant_series("main", 10),
                                      "ModelVariantSlowerThanMain", "20m",
                                      [plain_alert("canary", "warning")]),
    "canary failing more fires": (plain("main", 10, errors=0.01) + plain("canary", 1, errors=0.04)
                                  + variant_series("main", 10),
                                  "ModelVariantErrorsAboveMain", "20m", [plain_alert("canary", "warning")]),
    "canary within the margin": (plain("main", 10, errors=0.01) + plain("canary", 1, errors=0.02)
                                 + variant_series("main", 10),
                                 "ModelVariantErrorsAboveMain", "20m", []),
}
ENV_CONFIG = CONFIG.replace(
    "    labels: {release: prometheus}\n",
    "    labels: {release: prometheus}\n"
    "    defaults:\n      alerts: {no_traffic: {for: 10m}, labels: {pager: ml}}\n")


def rule_file(root: Path, files: dict[str, str]) -> Path:
    """Every rule group modelops wrote, in one rules file as Prometheus loads them, annotations dropped
    (they hold $value, which the unit tests do not pin; `promtool check rules` validates them)."""
    groups = []
    for rule in of_kind(files, "PrometheusRule").values():
        for group in rule["spec"]["groups"]:
            for item in group["rules"]:
                item.pop("annotations", None)
            groups.append(group)
    path = root / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=True))
    return path


@pytest.fixture(scope="module")
def ranker_rules(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("ranker")
    (root / "modelops.yaml").write_text(CONFIG)
    (root / "models").mkdir()
    (root / "models" / "ranker.yaml").write_text(RANKER)
    return rule_file(root, compiled(root, crd_dir))


@pytest.fixture(scope="module")
def environment_rules(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("plain")
    (root / "modelops.yaml").write_text(ENV_CONFIG)
    (root / "models").mkdir()
    (root / "models" / "plain.yaml").write_text(PLAIN)
    (root / "models" / "ranker.yaml").write_text(RANKER.replace("  no_traffic: {for: 10m}\n", ""))
    return rule_file(root, compiled(root, crd_dir))


def run_rule_test(rules: Path, name: str, series: list[dict], tests: dict[str, Any]) -> None:
    test = {"rule_files": [rules.name], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, **tests}]}
    path = rules.parent / f"test-{re.sub(r'[^a-z]+', '-', name)}.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    done = promtool("test", "rules", path.name, cwd=rules.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def alert_test(alert: str, at: str, expected: list[dict]) -> dict[str, Any]:
    return {"alert_rule_test": [{"eval_time": at, "alertname": alert,
                                 "exp_alerts": [{"exp_labels": labels} for labels in expected]}]}


@needs_promtool
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_alert_fires_exactly_when_it_should(scenario: str, ranker_rules: Path) -> None:
    series, alert, at, expected = SCENARIOS[scenario]
    run_rule_test(ranker_rules, scenario, series, alert_test(alert, at, expected))


@needs_promtool
@pytest.mark.parametrize("scenario", sorted(ENV_SCENARIOS))
def test_environment_alert_fires_exactly_when_it_should(scenario: str, environment_rules: Path) -> None:
    series, alert, at, expected = ENV_SCENARIOS[scenario]
    run_rule_test(environment_rules, "env " + scenario, series, alert_test(alert, at, expected))


def sample(record: str, value: float, model: str = "ranker", variant: str = "main",
           namespace: str = "models") -> dict[str, Any]:
    labels = f'{record}{{namespace="{namespace}",model="{model}",variant="{variant}"}}'
    return {"labels": labels, "value": value}


@needs_promtool
def test_recorded_series_values(ranker_rules: Path) -> None:
    """The recording rules compute what the dashboard shows: RPS, error ratio, p99 per variant."""
    run_rule_test(ranker_rules, "recorded", variant_series("main", 10, errors=0.25, latency=SLOW)
                  + variant_series("canary", 2), {"promql_expr_test": [
                      {"expr": 'modelops:requests:rate5m{variant="main"}', "eval_time": "10m",
                       "exp_samples": [sample("modelops:requests:rate5m", 10)]},
                      {"expr": 'modelops:errors:ratio_rate5m{variant="canary"}', "eval_time": "10m",
                       "exp_samples": [sample("modelops:errors:ratio_rate5m", 0, variant="canary")]},
                      {"expr": 'modelops:errors:ratio_rate5m{variant="main"}', "eval_time": "10m",
                       "exp_samples": [sample("modelops:errors:ratio_rate5m", 0.25)]},
                      {"expr": 'modelops:latency_seconds:p99_5m{variant="main"}', "eval_time": "10m",
                       "exp_samples": [sample("modelops:latency_seconds:p99_5m", 0.4975)]},
                  ]})


MIXED_CONFIG = """\
environments:
  staging:
    namespace: models-staging
    target: seldon-v1
  production:
    namespace: models
    target: seldon-v1
teams:
  search: {reviewers: ["@acme/search-ml"]}
"""


@needs_promtool
def test_every_target_records_the_same_series_once_per_environment(
        repo, crd_dir: Path, tmp_path: Path) -> None:
    """Seldon Core v1, Core 2 and KServe models side by side, in two environments one Prometheus
    scrapes: each variant is recorded once, with its model and variant, from its target's metrics."""
    core2 = "name: core2\nteam: search\nframework: sklearn\ntarget: seldon-v2\n" \
            "artifact: {uri: s3://acme-models/core2/1}\nenvironments: {production: {}}\n"
    edge = "name: edge\nteam: search\nframework: sklearn\ntarget: kserve\n" \
           "artifact: {uri: s3://acme-models/edge/1}\nenvironments: {production: {}}\n"
    files = compiled(repo({"iris.yaml": IRIS, "core2.yaml": core2, "edge.yaml": edge}, config=MIXED_CONFIG),
                     crd_dir)
    records = [r["record"] for r in rules_of(shared(files), "record") if r["record"] != INFO]
    assert records.count("modelops:requests:rate5m") == 3
    assert records.count("modelops:errors:ratio_rate5m") == 2  # the KServe ModelServer counts no failures
    assert [r["record"] for r in rules_of(shared(files, "staging"), "record")
            if r["record"] != "modelops:variant:info"] == RECORDS
    series = [
        *variant_series("main", 10, model="iris"),
        *[{**s, "series": s["series"].replace('namespace="models"', 'namespace="models-staging"')}
          for s in variant_series("main", 5, model="iris")],
        {"series": 'seldon_model_infer_total{namespace="models",model_internal="core2_3",model="core2",'
                   'code="200"}', "values": "0+120x30"},
        {"series": 'seldon_model_infer_total{namespace="models",model_internal="core2_3",model="core2",'
                   'code="500"}', "values": "0+60x30"},
        {"series": 'request_predict_seconds_count{namespace="models",inferenceservice="edge",'
                   'modelops_variant="main",model_name="edge"}', "values": "0+240x30"},
        {"series": 'up{namespace="models",inferenceservice="edge",modelops_variant="main",pod="edge-1"}',
         "values": "1x30"},
        {"series": 'up{namespace="models",inferenceservice="edge",modelops_variant="main",pod="edge-2"}',
         "values": "1x30"},
    ]
    rules = rule_file(tmp_path, files)
    run_rule_test(rules, "mixed", series, {"promql_expr_test": [
        {"expr": "modelops:requests:rate5m", "eval_time": "10m", "exp_samples": [
            sample("modelops:requests:rate5m", 10, "iris"), sample("modelops:requests:rate5m", 5, "iris",
                                                                   namespace="models-staging"),
            sample("modelops:requests:rate5m", 3, "core2"), sample("modelops:requests:rate5m", 4, "edge")]},
        {"expr": 'modelops:errors:ratio_rate5m{model="core2"}', "eval_time": "10m",
         "exp_samples": [sample("modelops:errors:ratio_rate5m", 1 / 3, "core2")]},
        {"expr": 'modelops:replicas:available{model="edge"}', "eval_time": "10m",
         "exp_samples": [sample("modelops:replicas:available", 2, "edge")]},
    ]})
    monitor = of_kind(files, "PodMonitor")["production/models/edge"]
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    relabeled = {r.get("targetLabel") for e in endpoints for r in e["relabelings"]}
    assert {"inferenceservice", "modelops_variant"} <= relabeled  # the labels the KServe rules join on


# --- dashboards -------------------------------------------------------------------------------

_SELECTORS = re.compile(r"\{[^}]*\}|\bby \([^)]*\)")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_AGGREGATIONS = {"sum", "max", "min", "avg"}


def series_names(expr: str) -> set[str]:
    return set(_IDENTIFIER.findall(_SELECTORS.sub(" ", expr))) - _AGGREGATIONS


def test_one_dashboard_per_environment_queries_only_recorded_series(example_files: dict[str, str]) -> None:
    dashboards = of_kind(example_files, "ConfigMap")
    assert sorted(dashboards) == ["edge/observability", "production/observability", "staging/observability"]
    for folder, configmap in dashboards.items():
        env = folder.split("/")[0]
        assert configmap["metadata"]["name"] == "modelops.dashboard"
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        [(key, text)] = configmap["data"].items()
        assert key == f"modelops-{env}.json"
        board = json.loads(text)
        assert text == json.dumps(board, indent=2, sort_keys=True) + "\n"  # sorted keys, stable text
        assert board["uid"] == f"modelops-{env}"
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert list(variables) == ["datasource", "model", "variant", "namespace"]
        assert variables["model"]["definition"] == \
            f'label_values(modelops:variant:info{{environment="{env}",dashboard!="false"}}, model)'
        assert variables["variant"]["includeAll"] and variables["variant"]["multi"]
        recorded = {r["record"] for r in rules_of(shared(example_files, env), "record")}
        titles = [panel["title"] for panel in board["panels"]]
        errors = [] if env == "edge" else ["Error ratio"]  # KServe's ModelServer counts no failures
        assert titles == ["Requests per second", *errors, "Latency p50", "Latency p95", "Latency p99",
                          "Ready replicas"]
        assert [panel["id"] for panel in board["panels"]] == list(range(1, len(titles) + 1))
        for panel in board["panels"]:
            for target in panel["targets"]:
                names = series_names(target["expr"])
                assert names and names <= recorded, (folder, target["expr"])
                assert "by (variant)" in target["expr"] and target["legendFormat"] == "{{variant}}"
                assert 'model="$model",variant=~"$variant"' in target["expr"]


def test_the_rollout_pull_request_links_the_environment_dashboard_for_its_model(repo) -> None:
    from modelops.compile.project import Project
    from modelops.rollout.act import dashboard_link

    root = repo({"ranker.yaml": RANKER}, config=CONFIG.replace(
        "    target: seldon-v1\n", "    target: seldon-v1\n    grafana_url: https://grafana.example/\n"))
    [model] = [m for m in Project.load(root).resolved(None) if m.spec.name == "ranker"]
    assert dashboard_link(model) == \
        "[modelops-production: ranker](https://grafana.example/d/modelops-production?var-model=ranker" \
        "&var-namespace=models)"


@pytest.mark.parametrize(
    ("extra", "own", "shared_kinds", "info"),
    [
        ("", None, {"PrometheusRule", "ConfigMap"}, {}),
        ("alerts: {enabled: false}\n", None, {"PrometheusRule", "ConfigMap"}, {"alerts": "off"}),
        ("dashboard: false\n", None, {"PrometheusRule"}, {"dashboard": "false"}),
        ("alerts: {latency: {enabled: false}}\n", ["ModelErrorRatioHigh"], {"PrometheusRule", "ConfigMap"},
         {"alerts": "model"}),
        ("alerts: {enabled: false}\ndashboard: false\n", None, set(), None),
        ("monitoring: {enabled: false}\n", None, set(), None),
        ("alerts: {no_traffic: {}}\n", ["ModelErrorRatioHigh", "ModelLatencyHigh", "ModelNoTraffic"],
         {"PrometheusRule", "ConfigMap"}, {"alerts": "model"}),
    ],
)
def test_switches(repo, crd_dir: Path, extra: str, own: list[str] | None, shared_kinds: set[str],
                  info: dict[str, str] | None) -> None:
    files = compiled(repo({"iris.yaml": IRIS + extra}, config=CONFIG), crd_dir)
    model_rule = of_kind(files, "PrometheusRule").get("production/models/iris")
    assert (model_rule and sorted(r["alert"] for r in rules_of(model_rule, "alert"))) == (own or None)
    assert "ConfigMap" not in {obj["kind"] for obj in documents(files["production/models/iris.yaml"])}
    env_file = files.get("production/observability.yaml")
    assert ({obj["kind"] for obj in documents(env_file)} if env_file else set()) == shared_kinds
    if info is None:
        assert env_file is None and "observability.yaml" not in files["production/kustomization.yaml"]
        return
    [labels] = [r["labels"] for r in rules_of(shared(files), "record") if r["record"] == INFO]
    assert {k: labels[k] for k in ("alerts", "dashboard") if k in labels} == info
    env_alerts = sorted(r["alert"] for r in rules_of(shared(files), "alert"))
    assert env_alerts == ([] if info.get("alerts") else [
        "ModelErrorRatioHigh", "ModelLatencyHigh", "ModelVariantErrorsAboveMain",
        "ModelVariantSlowerThanMain"])
    assert "observability.yaml" in files["production/kustomization.yaml"]


def test_environment_defaults_tune_alerts_and_models_override_them(repo, crd_dir: Path) -> None:
    config = CONFIG.replace(
        "    labels: {release: prometheus}\n",
        "    labels: {release: prometheus}\n"
        "    defaults:\n      alerts: {errors: {ratio: 0.01}, no_traffic: {for: 30m}, labels: {pager: ml}}\n",
    )
    model = IRIS + "alerts: {errors: {for: 1m}, latency: {p99_ms: 250}}\n"
    files = compiled(repo({"iris.yaml": model, "plain.yaml": PLAIN}, config=config), crd_dir)
    own_rule = of_kind(files, "PrometheusRule")["production/models/iris"]
    own = {r["alert"]: r for r in rules_of(own_rule, "alert")}
    assert own["ModelErrorRatioHigh"]["expr"].endswith(" > 0.01")
    assert own["ModelErrorRatioHigh"]["for"] == "1m"
    assert own["ModelLatencyHigh"]["expr"].endswith(" > 0.25")
    assert own["ModelNoTraffic"]["for"] == "30m"
    assert own["ModelNoTraffic"]["labels"]["pager"] == "ml"
    env = {r["alert"]: r for r in rules_of(shared(files), "alert")}  # plain's: the environment's own
    assert env["ModelErrorRatioHigh"]["expr"].endswith(" > 0.01")
    assert env["ModelErrorRatioHigh"]["for"] == "5m"
    assert env["ModelLatencyHigh"]["expr"].endswith(" > 0.5")
    assert env["ModelNoTraffic"]["for"] == "30m"
    assert env["ModelNoTraffic"]["labels"] == {"severity": "warning", "environment": "production",
                                               "pager": "ml"}


def test_output_grows_by_the_info_series_alone(repo, crd_dir: Path) -> None:
    """Each further model adds its info series to the environment's file, and no observability
    object of its own: a few hundred bytes per variant, not a dashboard and a rule file per model."""
    def sizes(count: int) -> tuple[int, int]:
        models = {f"m{i}.yaml": IRIS.replace("iris", f"m{i}") for i in range(count)}
        files = compiled(repo(models, config=CONFIG), crd_dir)
        return len(files["production/observability.yaml"]), sum(map(len, files.values()))

    (shared_one, total_one), (shared_five, total_five) = sizes(1), sizes(5)
    assert 0 < (shared_five - shared_one) / 4 < 600
    assert (total_five - total_one) / 4 < 4096


def _infos(count: int) -> list[dict[str, str]]:
    return [{"namespace": "models", "model": f"m{i:05d}", "variant": variant, "team": "search",
             "role": "main" if variant == "main" else "variant", "target": "seldon-v1",
             "deployment_name": f"m{i:05d}", "predictor_name": variant,
             "deployment": f"m{i:05d}-{variant}-0-m{i:05d}"}
            for i in range(count // 2) for variant in ("main", "canary")]


def test_past_a_few_hundred_variants_the_info_series_are_sharded_under_the_operators_limit(
        crd_dir: Path, tmp_path: Path) -> None:
    """The Prometheus operator refuses a PrometheusRule whose rule file exceeds 512 KiB: 10,000
    models' info series in one rule were 4.8 MB. Past SHARD_SIZE they go into shards by model."""
    from modelops.compile.emit.tree import to_yaml
    from modelops.compile.generators import observability_env
    from modelops.compile.project import config_from_text

    config = config_from_text(CONFIG)[0]
    assert config is not None
    objects = observability_env.render(config, "production", _infos(6000))
    rules = [obj for obj in objects if obj["kind"] == "PrometheusRule"]
    main, shards = rules[0], rules[1:]
    assert main["metadata"]["name"] == "modelops.observability" and len(shards) == 16  # 12 -> 16
    assert [r["record"] for r in rules_of(main, "record")] == RECORDS  # no info series left in it
    assert {obj["kind"] for obj in objects} == {"PrometheusRule", "ConfigMap"}
    validator = ManifestValidator(SchemaSet.find(crd_dir))
    seen = []
    for shard in shards:
        assert shard["metadata"]["name"].startswith("modelops.variants-")
        assert len(to_yaml(shard["spec"])) < 512 * 1024 // 2  # room for growth before the next split
        assert validator.problems(shard) == []
        models = [(r["labels"]["model"], r["labels"]["variant"]) for r in rules_of(shard, "record")]
        assert {r["record"] for r in rules_of(shard, "record")} == {INFO}
        seen += models
    assert sorted(seen) == sorted((i["model"], i["variant"]) for i in _infos(6000))
    # one more model changes one shard (its variants stay together), not all of them
    grown = [obj for obj in observability_env.render(config, "production", _infos(6002))
             if obj["kind"] == "PrometheusRule"][1:]
    assert sum(old != new for old, new in zip(shards, grown, strict=True)) == 1
    if PROMTOOL is not None:
        path = tmp_path / "shard.rules.yaml"
        path.write_text(yaml.safe_dump(shards[0]["spec"], sort_keys=True))
        done = promtool("check", "rules", path.name, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_few_hundred_variants_keep_one_rule(crd_dir: Path) -> None:
    from modelops.compile.generators import observability_env
    from modelops.compile.project import config_from_text

    config = config_from_text(CONFIG)[0]
    assert config is not None
    rules = [obj for obj in observability_env.render(config, "production", _infos(500))
             if obj["kind"] == "PrometheusRule"]
    assert len(rules) == 1 and len([r for r in rules_of(rules[0], "record") if r["record"] == INFO]) == 500
