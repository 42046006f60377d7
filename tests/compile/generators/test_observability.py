"""The observability pack: PrometheusRules checked and unit-tested with the real promtool, dashboards
that query only recorded series, and the switches that turn them off."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.validate import ManifestValidator
from modelops.compile.pipeline import build
from support.generated_files import of_kind

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


def compiled(root: Path, crd_dir: Path) -> dict[str, str]:
    result = build(root, crd_dir=crd_dir)
    assert not result.diagnostics, [str(d) for d in result.diagnostics]
    return result.files


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
    assert len(rules) == 7  # every model in every environment
    paths = []
    for folder, rule in sorted(rules.items()):
        path = tmp_path / (folder.replace("/", "_") + ".rules.yaml")
        path.write_text(yaml.safe_dump(rule["spec"], sort_keys=True))
        paths.append(path.name)
    done = promtool("check", "rules", *paths, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(paths)


def test_rules_match_the_crd_and_carry_the_model_labels(repo, crd_dir: Path) -> None:
    files = compiled(repo({"ranker.yaml": RANKER}, config=CONFIG), crd_dir)
    rule = of_kind(files, "PrometheusRule")["production/models/ranker"]
    validator = ManifestValidator(SchemaSet.find(crd_dir))
    assert validator.problems(rule) == []
    rule["spec"]["groups"][0]["rules"][0]["severity"] = "page"  # not a field of the CRD: caught
    assert validator.problems(rule) and rule["spec"]["groups"][0]["rules"][0].pop("severity")
    assert rule["metadata"]["name"] == "ranker"
    assert rule["metadata"]["labels"]["release"] == "prometheus"  # what the Prometheus CR selects
    assert rule["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "modelops"
    [group] = rule["spec"]["groups"]
    records = [(r["record"], r["labels"]["variant"]) for r in group["rules"] if "record" in r]
    assert len(records) == 12 and {v for _, v in records} == {"main", "canary"}
    alerts = sorted(r["alert"] for r in group["rules"] if "alert" in r)
    assert alerts == ["ModelErrorRatioHigh", "ModelLatencyHigh", "ModelNoTraffic",
                      "ModelVariantErrorsAboveMain", "ModelVariantSlowerThanMain"]
    upstream = " ".join(r["expr"] for r in group["rules"] if "record" in r)
    assert 'seldon_api_executor_server_requests_seconds_bucket{namespace="models",deployment_name="ranker",' \
        'predictor_name="canary"}' in upstream
    assert 'kube_deployment_status_replicas_available{namespace="models",deployment="ranker-main-0-ranker"}' \
        in upstream


# --- promtool test rules: synthetic series that must and must not fire each alert --------------

BUCKETS = ("0.1", "0.25", "0.5", "1", "+Inf")


def variant_series(variant: str, rps: float, errors: float = 0.0, latency: str = "0.1") -> list[dict]:
    """Executor series of one predictor over 30 minutes: `rps` requests per second, a share
    `errors` of them answered 500, every request taking up to `latency` (a bucket bound)."""
    labels = f'namespace="models",deployment_name="ranker",predictor_name="{variant}"'
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


def alert_labels(variant: str | None, severity: str) -> dict[str, str]:
    labels = {"namespace": "models", "model": "ranker", "severity": severity, "team": "search",
              "environment": "production"}
    if variant:
        labels["variant"] = variant
    return labels


FAST, SLOW = "0.1", "0.5"  # p99 of 0.099 s and 0.4975 s; the SLO is 300 ms
SCENARIOS: dict[str, tuple[list[dict], str, str, list[dict]]] = {
    # name: (input series, alert, eval time, expected alerts)
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


@pytest.fixture(scope="module")
def ranker_rules(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Path:
    """The generated rules of `ranker` as a rules file, annotations dropped (they hold $value,
    which the unit tests do not pin; `promtool check rules` above validates their templates)."""
    root = tmp_path_factory.mktemp("ranker")
    (root / "modelops.yaml").write_text(CONFIG)
    (root / "models").mkdir()
    (root / "models" / "ranker.yaml").write_text(RANKER)
    rule = of_kind(compiled(root, crd_dir), "PrometheusRule")["production/models/ranker"]
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            item.pop("annotations", None)
    path = root / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"], sort_keys=True))
    return path


@needs_promtool
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_alert_fires_exactly_when_it_should(scenario: str, ranker_rules: Path) -> None:
    series, alert, at, expected = SCENARIOS[scenario]
    test = {
        "rule_files": [ranker_rules.name],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [{
                "eval_time": at,
                "alertname": alert,
                "exp_alerts": [{"exp_labels": labels} for labels in expected],
            }],
        }],
    }
    path = ranker_rules.parent / f"test-{re.sub(r'[^a-z]+', '-', scenario)}.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    done = promtool("test", "rules", path.name, cwd=ranker_rules.parent)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_recorded_series_values(ranker_rules: Path) -> None:
    """The recording rules compute what the dashboard shows: RPS, error ratio, p99 per variant."""
    test = {
        "rule_files": [ranker_rules.name],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": variant_series("main", 10, errors=0.25, latency=SLOW)
            + variant_series("canary", 2),
            "promql_expr_test": [
                {"expr": 'modelops:requests:rate5m{variant="main"}', "eval_time": "10m",
                 "exp_samples": [{"labels": 'modelops:requests:rate5m{namespace="models",model="ranker",'
                                            'variant="main"}', "value": 10}]},
                {"expr": 'modelops:errors:ratio_rate5m{variant="canary"}', "eval_time": "10m",
                 "exp_samples": [{"labels": 'modelops:errors:ratio_rate5m{namespace="models",model="ranker",'
                                            'variant="canary"}', "value": 0}]},
                {"expr": 'modelops:errors:ratio_rate5m{variant="main"}', "eval_time": "10m",
                 "exp_samples": [{"labels": 'modelops:errors:ratio_rate5m{namespace="models",model="ranker",'
                                            'variant="main"}', "value": 0.25}]},
                {"expr": 'modelops:latency_seconds:p99_5m{variant="main"}', "eval_time": "10m",
                 "exp_samples": [{"labels": 'modelops:latency_seconds:p99_5m{namespace="models",'
                                            'model="ranker",variant="main"}', "value": 0.4975}]},
            ],
        }],
    }
    path = ranker_rules.parent / "test-recorded.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    done = promtool("test", "rules", path.name, cwd=ranker_rules.parent)
    assert done.returncode == 0, done.stdout + done.stderr


# --- dashboards -------------------------------------------------------------------------------

_SELECTORS = re.compile(r"\{[^}]*\}|\bby \([^)]*\)")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_AGGREGATIONS = {"sum", "max", "min", "avg"}


def series_names(expr: str) -> set[str]:
    return set(_IDENTIFIER.findall(_SELECTORS.sub(" ", expr))) - _AGGREGATIONS


def test_every_panel_queries_only_recorded_series(example_files: dict[str, str]) -> None:
    rules = of_kind(example_files, "PrometheusRule")
    dashboards = of_kind(example_files, "ConfigMap")
    assert dashboards.keys() == rules.keys()
    for folder, configmap in dashboards.items():
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        [(key, text)] = configmap["data"].items()
        env, _, model = folder.split("/")
        assert key == f"modelops-{env}-{model}.json"
        board = json.loads(text)
        assert text == json.dumps(board, indent=2, sort_keys=True) + "\n"  # sorted keys, stable text
        recorded = {r["record"] for g in rules[folder]["spec"]["groups"] for r in g["rules"] if "record" in r}
        titles = [panel["title"] for panel in board["panels"]]
        assert titles == ["Requests per second", "Error ratio", "Latency p50", "Latency p95",
                          "Latency p99", "Ready replicas"]
        assert [panel["id"] for panel in board["panels"]] == [1, 2, 3, 4, 5, 6]
        for panel in board["panels"]:
            for target in panel["targets"]:
                names = series_names(target["expr"])
                assert names and names <= recorded, (folder, target["expr"])
                assert "by (variant)" in target["expr"] and target["legendFormat"] == "{{variant}}"
                assert f'model="{model}"' in target["expr"]


def test_dashboard_shows_main_and_canary_side_by_side(repo, crd_dir: Path) -> None:
    files = compiled(repo({"ranker.yaml": RANKER}, config=CONFIG), crd_dir)
    configmap = of_kind(files, "ConfigMap")["production/models/ranker"]
    board = json.loads(configmap["data"]["modelops-production-ranker.json"])
    assert board["uid"] == "modelops-production-ranker"
    rule = of_kind(files, "PrometheusRule")["production/models/ranker"]
    variants = {r["labels"]["variant"] for r in rule["spec"]["groups"][0]["rules"] if "record" in r}
    assert variants == {"main", "canary"}
    assert files == compiled(repo({"ranker.yaml": RANKER}, config=CONFIG), crd_dir)  # deterministic


@pytest.mark.parametrize(
    ("extra", "kinds", "alerts"),
    [
        ("alerts: {enabled: false}\n", {"PrometheusRule", "ConfigMap"}, []),
        ("dashboard: false\n", {"PrometheusRule"}, ["ModelErrorRatioHigh", "ModelLatencyHigh"]),
        ("alerts: {latency: {enabled: false}}\n", {"PrometheusRule", "ConfigMap"}, ["ModelErrorRatioHigh"]),
        ("alerts: {enabled: false}\ndashboard: false\n", set(), None),
        ("monitoring: {enabled: false}\n", set(), None),
        ("alerts: {no_traffic: {}}\n", {"PrometheusRule", "ConfigMap"},
         ["ModelErrorRatioHigh", "ModelLatencyHigh", "ModelNoTraffic"]),
    ],
)
def test_switches(repo, crd_dir: Path, extra: str, kinds: set[str], alerts: list[str] | None) -> None:
    model = "name: iris\nteam: search\nframework: sklearn\nartifact: {uri: s3://acme-models/iris/1}\n"
    files = compiled(repo({"iris.yaml": model + extra}, config=CONFIG), crd_dir)
    found = {kind for kind in ("PrometheusRule", "ConfigMap") if of_kind(files, kind)}
    assert found == kinds
    if alerts is not None:
        rule = of_kind(files, "PrometheusRule")["production/models/iris"]
        assert sorted(r["alert"] for r in rule["spec"]["groups"][0]["rules"] if "alert" in r) == alerts


def test_environment_defaults_tune_alerts_and_models_override_them(repo, crd_dir: Path) -> None:
    config = CONFIG.replace(
        "    labels: {release: prometheus}\n",
        "    labels: {release: prometheus}\n"
        "    defaults:\n      alerts: {errors: {ratio: 0.01}, no_traffic: {for: 30m}, labels: {pager: ml}}\n",
    )
    model = ("name: iris\nteam: search\nframework: sklearn\nartifact: {uri: s3://acme-models/iris/1}\n"
             "alerts: {errors: {for: 1m}, latency: {p99_ms: 250}}\n")
    files = compiled(repo({"iris.yaml": model}, config=config), crd_dir)
    [group] = of_kind(files, "PrometheusRule")["production/models/iris"]["spec"]["groups"]
    rules = {r["alert"]: r for r in group["rules"] if "alert" in r}
    assert rules["ModelErrorRatioHigh"]["expr"].endswith(" > 0.01")
    assert rules["ModelErrorRatioHigh"]["for"] == "1m"
    assert rules["ModelLatencyHigh"]["expr"].endswith(" > 0.25")
    assert rules["ModelNoTraffic"]["for"] == "30m"
    assert rules["ModelNoTraffic"]["labels"]["pager"] == "ml"


@needs_promtool
def test_seldon_core_2_rules_read_the_agent_metrics_per_model(repo, crd_dir: Path, tmp_path: Path) -> None:
    """On Seldon Core 2 each variant is its own Model (`ranker`, `ranker-canary`), told apart by the
    agent's `model_internal` label; the recorded series and alerts are the same as on v1."""
    config = CONFIG.replace("target: seldon-v1", "target: seldon-v2")
    model = RANKER.replace("framework: sklearn\n", "framework: sklearn\nmonitoring: {kind: PodMonitor}\n")
    files = compiled(repo({"ranker.yaml": model}, config=config), crd_dir)
    rule = of_kind(files, "PrometheusRule")["production/models/ranker"]
    exprs = {(r["record"], r["labels"]["variant"]): r["expr"] for r in rule["spec"]["groups"][0]["rules"]
             if "record" in r}
    assert exprs[("modelops:requests:rate5m", "main")] == (
        "sum by (namespace) (rate(seldon_model_infer_total"
        '{namespace="models",model_internal=~"ranker_[0-9]+"}[5m]))'
    )
    assert 'model_internal=~"ranker-canary_[0-9]+"' in exprs[("modelops:latency_seconds:p99_5m", "canary")]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    done = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    configmap = of_kind(files, "ConfigMap")["production/models/ranker"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
