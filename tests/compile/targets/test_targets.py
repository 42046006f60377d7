"""Targets: the example models compiled for Seldon Core v1, Seldon Core 2 and KServe.

Each example is compiled alone in a throwaway repo whose modelops.yaml puts both environments on
one target; what a target cannot express must come back as exact MO301 errors, and everything
emitted must pass the closed upstream CRD schemas (no MO900).
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelops.compile.pipeline import build
from modelops.compile.source import load
from support import fixtures
from support.generated_files import documents

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ("churn-score", "eta-courier", "iris-classifier", "search-ranker")


def _config(target: str, mode: str = "Standard", core2_defaults: bool = False) -> str:
    """The repository's own modelops.yaml with every environment on `target`."""
    config = yaml.safe_load((ROOT / "modelops.yaml").read_text())
    for env in config["environments"].values():
        env.pop("rules", None)  # policy gates are tested elsewhere
        env["target"] = target
        env["kserve_mode"] = mode
        if core2_defaults:  # what a Core 2 environment writes: no CPU request, no HTTP log sink
            env.setdefault("defaults", {}).update(
                {"resources": {"requests": {"cpu": None}}, "logging": {"url": None}}
            )
    return yaml.safe_dump(config, sort_keys=False)


def _compile(tmp: Path, config: str, models: dict[str, str], crd_dir: Path) -> Any:
    texts = {f"{name}.yaml": textwrap.dedent(text) for name, text in models.items()}
    return build(fixtures.make_repo(tmp, texts, config), crd_dir=crd_dir)


def _example(name: str) -> dict[str, str]:
    return {name: (ROOT / "models" / f"{name}.yaml").read_text()}


OBSERVABILITY_KINDS = ("PrometheusRule", "ConfigMap")  # the observability pack, tested on its own


def _objects(result: Any, model: str) -> dict[str, dict[str, Any]]:
    """The objects the target emitted into `<env>/<namespace>/<model>.yaml`, keyed by kind in lower case,
    or `<kind>-<variant>` when the kind repeats (Seldon Core 2 emits a Model per variant)."""
    objects = [obj for obj in documents(result.files[f"{model}.yaml"])
               if obj["kind"] not in OBSERVABILITY_KINDS]
    kinds = [obj["kind"] for obj in objects]
    keyed = {}
    for obj in objects:
        key = obj["kind"].lower()
        if kinds.count(obj["kind"]) > 1:
            meta = obj["metadata"]
            variant = meta["labels"].get("modelops.io/variant") or meta["name"].rsplit("-", 1)[-1]
            key = f"{key}-{variant}"
        keyed[key] = obj
    return keyed


def _at(name: str, *loc: str) -> str:
    """`models/<name>.yaml:LINE:COL` of a key path in an example (examples change; paths don't)."""
    doc, _ = load(ROOT / "models" / f"{name}.yaml", f"models/{name}.yaml")
    line, col = doc.position(loc)
    return f"models/{name}.yaml:{line}:{col}"


def _errors(result: Any) -> list[str]:
    return [str(d) for d in result.diagnostics]


def _ok(result: Any) -> None:
    assert _errors(result) == []
    assert result.files


# --- Seldon Core 2 ----------------------------------------------------------------------------

CPU = "Models share their Server's CPUs and GPUs: size the Server instead (only memory maps to Model.memory)"
RPS = "Core 2 scales Models on inference rate: use autoscaling.rps"


def _refused(name: str, loc: tuple[str, ...], what: str, target: str, hint: str) -> str:
    return f"{_at(name, *loc)}: MO301 {what} is not supported on target {target}: {hint}"


CORE2_REFUSALS = {
    "churn-score": [
        _refused("churn-score", ("resources", "requests", "cpu"), "resources.requests.cpu", "seldon-v2", CPU),
        _refused("churn-score", ("probes",), "probes", "seldon-v2",
                 "probes belong to the Server that loads the model"),
        _refused("churn-score", ("env",), "env", "seldon-v2",
                 "environment variables belong to the Server that loads the model"),
        _refused("churn-score", ("environments", "production", "logging", "kafka"), "logging.kafka",
                 "seldon-v2", "Core 2 writes payloads to the Kafka of its installation, in topics it names"),
    ],
    "eta-courier": [
        _refused("eta-courier", ("resources", "requests", "cpu"), "resources.requests.cpu", "seldon-v2", CPU),
        _refused("eta-courier", ("resources", "limits", "cpu"), "resources.limits.cpu", "seldon-v2", CPU),
        _refused("eta-courier", ("autoscaling", "cpu"), "autoscaling.cpu", "seldon-v2", RPS),
        _refused("eta-courier", ("logging", "mode"), "logging.mode request", "seldon-v2",
                 "Core 2 logs requests and responses together: use mode all"),
    ],
    "search-ranker": [
        _refused("search-ranker", ("resources", "requests", "cpu"), "resources.requests.cpu",
                 "seldon-v2", CPU),
        _refused("search-ranker", ("resources", "limits", "gpu"), "resources.limits.gpu", "seldon-v2", CPU),
        _refused("search-ranker", ("autoscaling", "cpu"), "autoscaling.cpu", "seldon-v2", RPS),
        _refused("search-ranker", ("autoscaling", "memory"), "autoscaling.memory", "seldon-v2", RPS),
    ],
}


@pytest.mark.parametrize("name", sorted(CORE2_REFUSALS))
def test_core2_refuses_what_it_cannot_express(name: str, tmp_path: Path, crd_dir: Path) -> None:
    result = _compile(tmp_path, _config("seldon-v2", core2_defaults=True), _example(name), crd_dir)
    assert _errors(result) == CORE2_REFUSALS[name]
    assert result.files == {}


def test_core2_points_at_repo_defaults_it_cannot_express(tmp_path: Path, crd_dir: Path) -> None:
    config = (ROOT / "modelops.yaml").read_text().replace("target: seldon-v1", "target: seldon-v2")
    result = _compile(tmp_path, config, _example("iris-classifier"), crd_dir)
    doc, _ = load(ROOT / "modelops.yaml", "modelops.yaml")
    line, col = doc.position(("defaults", "resources", "requests", "cpu"))
    assert _errors(result) == [
        f"modelops.yaml:{line}:{col}: MO301 resources.requests.cpu is not supported on target seldon-v2: "
        + CPU,
    ]


def test_core2_iris(tmp_path: Path, crd_dir: Path) -> None:
    result = _compile(tmp_path, _config("seldon-v2", core2_defaults=True),
                      _example("iris-classifier"), crd_dir)
    _ok(result)
    objects = _objects(result, "production/models/iris-classifier")
    assert sorted(objects) == ["model", "podmonitor"]
    model = objects["model"]
    assert model["apiVersion"] == "mlops.seldon.io/v1alpha1"
    assert model["metadata"]["name"] == "iris-classifier"
    assert model["spec"] == {
        "storageUri": "s3://acme-models/iris-classifier/v3",
        "requirements": ["sklearn"],
        "memory": "1Gi",  # the repo default memory limit: what the Server reserves
        "replicas": 2,
        "secretName": "s3-models-readonly",
    }
    endpoint = objects["podmonitor"]["spec"]["podMetricsEndpoints"][0]
    assert objects["podmonitor"]["spec"]["selector"] == {
        "matchLabels": {"app.kubernetes.io/name": "seldon-server"}
    }
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert endpoint["metricRelabelings"] == [
        {"action": "keep", "sourceLabels": ["model"], "regex": "iris-classifier"}
    ]


ETA_CORE2 = """\
    name: eta-courier
    team: logistics
    framework: xgboost
    artifact:
      uri: s3://acme-models/eta-courier/11
      secret: s3-models-readonly
      mlflow: {model: eta-courier, version: 11}
    resources:
      requests: {memory: 1Gi}
    autoscaling: {min: 2, max: 10, rps: 40}
    logging: {mode: all}
    environments:
      staging: {}
      production:
        traffic:
          main: {weight: 90}
          canary:
            weight: 10
            artifact:
              uri: s3://acme-models/eta-courier/12
              mlflow: {model: eta-courier, version: 12}
          challenger:
            shadow: true
            artifact: {uri: s3://acme-models/eta-courier/13}
    """


def test_core2_canary_shadow_and_autoscaling(tmp_path: Path, crd_dir: Path) -> None:
    result = _compile(tmp_path, _config("seldon-v2", core2_defaults=True),
                      {"eta-courier": ETA_CORE2}, crd_dir)
    _ok(result)
    objects = _objects(result, "production/models/eta-courier")
    assert sorted(objects) == [
        "experiment",
        "horizontalpodautoscaler-canary", "horizontalpodautoscaler-challenger",
        "horizontalpodautoscaler-main",
        "model-canary", "model-challenger", "model-main",
        "podmonitor",
    ]
    assert objects["model-main"]["metadata"]["name"] == "eta-courier"
    assert objects["model-canary"]["metadata"]["name"] == "eta-courier-canary"
    canary = objects["model-canary"]["spec"]
    assert canary["storageUri"] == "s3://acme-models/eta-courier/12"
    assert canary["replicas"] == 2  # the HPA's minimum; Seldon's own scaler stays off
    assert "minReplicas" not in canary and "maxReplicas" not in canary
    assert canary["logger"] == {"percent": 100}
    assert objects["experiment"]["metadata"]["name"] == "eta-courier-experiment"
    assert objects["experiment"]["spec"] == {
        "default": "eta-courier",
        "resourceType": "model",
        "candidates": [
            {"name": "eta-courier", "weight": 90},
            {"name": "eta-courier-canary", "weight": 10},
        ],
        "mirror": {"name": "eta-courier-challenger", "percent": 100},
    }
    hpa = objects["horizontalpodautoscaler-canary"]["spec"]
    model_ref = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "name": "eta-courier-canary"}
    assert hpa == {
        "scaleTargetRef": model_ref,
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [{
            "type": "Object",
            "object": {
                "describedObject": model_ref,
                "metric": {"name": "infer_rps"},
                "target": {"type": "AverageValue", "averageValue": "40"},
            },
        }],
    }
    regex = objects["podmonitor"]["spec"]["podMetricsEndpoints"][0]["metricRelabelings"][0]["regex"]
    assert regex == "eta-courier|eta-courier-canary|eta-courier-challenger"
    staging = _objects(result, "staging/models-staging/eta-courier")
    assert sorted(staging) == ["horizontalpodautoscaler", "model", "podmonitor"]  # no Experiment


# --- KServe -----------------------------------------------------------------------------------

KSERVE_REFUSALS = {
    "churn-score": sorted([
        _refused("churn-score", ("environments", "production", "logging", "kafka"), "logging.kafka",
                 "kserve", "KServe's logger posts CloudEvents to an HTTP url (e.g. a Knative Kafka broker)"),
        _refused("churn-score", ("environments", "production", "traffic", "challenger", "shadow"),
                 "shadow variant 'challenger'", "kserve",
                 "KServe cannot mirror traffic; run it as a canary with a small weight instead"),
    ]),
    "search-ranker": [
        _refused("search-ranker", ("autoscaling", "memory"), "autoscaling on both cpu and memory", "kserve",
                 "KServe scales on one metric (scaleMetric): keep one"),
    ],
}


@pytest.mark.parametrize("mode", ["Standard", "Serverless"])
@pytest.mark.parametrize("name", sorted(KSERVE_REFUSALS))
def test_kserve_refuses_what_it_cannot_express(
    name: str, mode: str, tmp_path: Path, crd_dir: Path
) -> None:
    result = _compile(tmp_path, _config("kserve", mode), _example(name), crd_dir)
    assert _errors(result) == KSERVE_REFUSALS[name]


@pytest.mark.parametrize("mode", ["Standard", "Serverless"])
def test_kserve_iris(mode: str, tmp_path: Path, crd_dir: Path) -> None:
    result = _compile(tmp_path, _config("kserve", mode), _example("iris-classifier"), crd_dir)
    _ok(result)
    objects = _objects(result, "production/models/iris-classifier")
    assert sorted(objects) == ["inferenceservice", "podmonitor", "serviceaccount"]
    isvc = objects["inferenceservice"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == mode
    assert isvc["metadata"]["annotations"]["serving.kserve.io/enable-prometheus-scraping"] == "true"
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"] == {
        "modelFormat": {"name": "sklearn"},
        "protocolVersion": "v2",
        "storageUri": "s3://acme-models/iris-classifier/v3",
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 2)
    assert predictor["serviceAccountName"] == "iris-classifier-storage"
    assert objects["serviceaccount"]["secrets"] == [{"name": "s3-models-readonly"}]
    monitor = objects["podmonitor"]["spec"]
    assert monitor["selector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "iris-classifier"}}


def test_kserve_standard_canary_is_a_spec_canary_entry(tmp_path: Path, crd_dir: Path) -> None:
    result = _compile(tmp_path, _config("kserve", "Standard"), _example("eta-courier"), crd_dir)
    _ok(result)
    isvc = _objects(result, "production/models/eta-courier")["inferenceservice"]
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "s3://acme-models/eta-courier/11"
    assert predictor["model"]["modelFormat"] == {"name": "xgboost"}
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 15)
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("cpu", 70)
    assert predictor["logger"] == {"mode": "request", "url": "http://logger.seldon-logs.svc.cluster.local:8080"}
    assert "canaryTrafficPercent" not in predictor
    [canary] = isvc["spec"]["canary"]
    assert canary["trafficPercent"] == 10
    assert canary["predictor"]["name"] == "canary"
    assert canary["predictor"]["model"]["storageUri"] == "s3://acme-models/eta-courier/12"
    # KServe refuses autoscaling fields on canaries: replicas follow main's minimum and the share
    assert not {"minReplicas", "maxReplicas", "scaleMetric", "scaleTarget"} & set(canary["predictor"])


def test_kserve_serverless_canary_uses_canary_traffic_percent(tmp_path: Path, crd_dir: Path) -> None:
    result = _compile(tmp_path, _config("kserve", "Serverless"), _example("eta-courier"), crd_dir)
    _ok(result)
    isvc = _objects(result, "production/models/eta-courier")["inferenceservice"]
    predictor = isvc["spec"]["predictor"]
    assert "canary" not in isvc["spec"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["model"]["storageUri"] == "s3://acme-models/eta-courier/12"  # the new revision
    assert isvc["metadata"]["annotations"]["modelops.io/rolled-out-version"] == "11"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/enable-metric-aggregation"] == "true"
    staging = _objects(result, "staging/models-staging/eta-courier")["inferenceservice"]
    assert "canaryTrafficPercent" not in staging["spec"]["predictor"]


THREE_ARMS = """\
    name: ranker
    team: search
    framework: triton
    artifact: {uri: gs://acme-models/ranker/1}
    traffic:
      a: {weight: 40}
      b: {weight: 30, artifact: {uri: gs://acme-models/ranker/2}}
      c: {weight: 30, artifact: {uri: gs://acme-models/ranker/3}}
    """


def test_kserve_ab_with_three_arms(tmp_path: Path, crd_dir: Path) -> None:
    refused = _compile(tmp_path / "serverless", _config("kserve", "Serverless"),
                       {"ranker": THREE_ARMS}, crd_dir)
    assert _errors(refused) == [
        "models/ranker.yaml:8:6: MO301 a split across 3 serving variants is not supported on target "
        "kserve: Serverless mode has one canary (canaryTrafficPercent); use kserve_mode: Standard "
        "for more arms",
    ]
    result = _compile(tmp_path / "standard", _config("kserve", "Standard"), {"ranker": THREE_ARMS}, crd_dir)
    _ok(result)
    spec = _objects(result, "production/models/ranker")["inferenceservice"]["spec"]
    assert spec["predictor"]["model"]["modelFormat"] == {"name": "triton"}
    assert spec["predictor"]["model"]["runtime"] == "kserve-tritonserver"
    assert [(c["predictor"]["name"], c["trafficPercent"]) for c in spec["canary"]] == [("b", 30), ("c", 30)]


def test_kserve_name_budget(tmp_path: Path, crd_dir: Path) -> None:
    name = "customer-lifetime-value-v2"  # fine on its own; too long with the namespace
    config = _config("kserve").replace("namespace: models\n", "namespace: models-production-eu-west-1\n")
    result = _compile(tmp_path, config, {name: f"""\
        name: {name}
        team: risk
        framework: sklearn
        artifact: {{uri: s3://acme-models/clv/1}}
        environments:
          production: {{}}
        """}, crd_dir)
    host = f"{name}-predictor-models-production-eu-west-1"
    assert _errors(result) == [
        f"models/{name}.yaml:1:7: MO210 predictor host label name {host!r} is {len(host)} characters, "
        f"{len(host) - 63} over Kubernetes' 63: shorten the model or variant name",
    ]


# --- choosing the target ----------------------------------------------------------------------

def test_model_and_environment_override_the_target(tmp_path: Path, crd_dir: Path) -> None:
    model = """\
        name: iris-classifier
        team: risk
        framework: sklearn
        target: kserve
        artifact: {uri: s3://acme-models/iris/1}
        environments:
          staging: {}
          production: {target: seldon-v1}
        """
    result = _compile(tmp_path, _config("seldon-v2"), {"iris-classifier": model}, crd_dir)
    _ok(result)
    first = {name: documents(text)[0]["kind"] for name, text in result.files.items() if "iris" in name}
    assert first["staging/models-staging/iris-classifier.yaml"] == "InferenceService"
    assert first["production/models/iris-classifier.yaml"] == "SeldonDeployment"


def test_unknown_target_is_a_clear_error(tmp_path: Path, crd_dir: Path) -> None:
    model = "name: iris\nteam: risk\nframework: sklearn\ntarget: kserv\nartifact: {uri: s3://acme-models/i/1}\n"
    result = _compile(tmp_path, _config("seldon-v1"), {"iris": model}, crd_dir)
    [error] = _errors(result)
    assert error.startswith(
        "models/iris.yaml:4:9: MO100 target: Input should be 'seldon-v1', 'seldon-v2' or 'kserve'"
    )


def test_seldon_v1_examples_still_compile(tmp_path: Path, crd_dir: Path) -> None:
    models = {name: _example(name)[name] for name in EXAMPLES}
    _ok(_compile(tmp_path, _config("seldon-v1"), models, crd_dir))


def test_seldon_v1_tensorflow_needs_a_protocol_its_server_speaks(tmp_path: Path, crd_dir: Path) -> None:
    """Seldon Core v1 has TENSORFLOW_SERVER images for the tensorflow and seldon protocols only: with
    the default v2 the SeldonDeployment would never become available."""
    base = "name: tf\nteam: risk\nframework: tensorflow\nartifact: {uri: s3://acme-models/tf/1}\n"
    hint = ("its TENSORFLOW_SERVER speaks only the tensorflow and seldon protocols: set protocol: "
            "tensorflow, or use target seldon-v2 or kserve (Triton serves v2)")
    defaulted = _compile(tmp_path / "a", _config("seldon-v1"), {"tf": base}, crd_dir)
    assert _errors(defaulted) == [
        f"models/tf.yaml:3:12: MO301 framework tensorflow with protocol v2 is not supported on target "
        f"seldon-v1: {hint}"]
    written = _compile(tmp_path / "b", _config("seldon-v1"), {"tf": base + "protocol: v2\n"}, crd_dir)
    assert [e.split(": MO301")[0] for e in _errors(written)] == ["models/tf.yaml:5:11"]
    for protocol in ("tensorflow", "seldon"):
        _ok(_compile(tmp_path / protocol, _config("seldon-v1"), {"tf": base + f"protocol: {protocol}\n"},
                     crd_dir))
    for target in ("seldon-v2", "kserve"):
        _ok(_compile(tmp_path / target, _config(target, core2_defaults=True), {"tf": base}, crd_dir))


def test_committed_edge_environment_runs_kserve(crd_dir: Path) -> None:
    result = build(ROOT, crd_dir=crd_dir)
    assert _errors(result) == []
    edge = _objects(result, "edge/models-edge/iris-classifier")
    assert sorted(edge) == ["inferenceservice", "podmonitor", "serviceaccount"]
    annotations = edge["inferenceservice"]["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Standard"
    # the other examples list their environments, and edge is not among them
    assert [p for p in result.files if p.startswith("edge/")] == [
        "edge/kustomization.yaml", "edge/models-edge/iris-classifier.yaml", "edge/observability.yaml"]


# --- every valid spec compiles on every target, or is refused with MO301 ------------------------

TARGETS = [("seldon-v1", "Standard"), ("seldon-v2", "Standard"), ("kserve", "Standard"),
           ("kserve", "Serverless")]
FRAMEWORKS = ["sklearn", "xgboost", "lightgbm", "mlflow", "tensorflow", "triton", "huggingface", "custom"]


@st.composite
def model_specs(draw: st.DrawFn) -> dict[str, Any]:
    framework = draw(st.sampled_from(FRAMEWORKS))
    protocols = {"triton": ["v2"], "tensorflow": ["v2", "seldon", "tensorflow"],
                 "lightgbm": ["v2", "seldon", "tensorflow"], "custom": ["v2", "seldon", "tensorflow"]}
    spec: dict[str, Any] = {
        "name": "m",
        "team": "risk",
        "framework": framework,
        "protocol": draw(st.sampled_from(protocols.get(framework, ["v2", "seldon"]))),
        "artifact": {"uri": "s3://acme-models/m/1", "secret": draw(st.sampled_from([None, "s3"]))},
    }
    if framework == "custom":
        spec["image"] = "ghcr.io/acme/m:1"
    if draw(st.booleans()):
        low = draw(st.integers(1, 3))
        scaling: dict[str, Any] = {"min": low, "max": draw(st.integers(low, 6))}
        for metric in draw(st.lists(st.sampled_from(["cpu", "memory", "rps"]), min_size=1, unique=True)):
            scaling[metric] = draw(st.floats(0.5, 90).map(lambda x: round(x, 1))) if metric == "rps" \
                else draw(st.integers(10, 90))
        spec["autoscaling"] = scaling
    else:
        spec["replicas"] = draw(st.integers(0, 4))
    spec["resources"] = {
        "requests": draw(st.fixed_dictionaries(
            {}, optional={"cpu": st.just("250m"), "memory": st.just("512Mi")})),
        "limits": draw(st.fixed_dictionaries(
            {}, optional={"memory": st.just("1Gi"), "gpu": st.just(1)})),
    }
    spec["monitoring"] = draw(st.fixed_dictionaries({}, optional={
        "enabled": st.booleans(), "kind": st.sampled_from(["ServiceMonitor", "PodMonitor"])}))
    if draw(st.booleans()):  # a sink without a mode is a contradiction (MO272), not a target question
        spec["logging"] = draw(st.fixed_dictionaries(
            {"mode": st.sampled_from(["request", "response", "all"])},
            optional={"url": st.sampled_from(["http://logger.logs:8080", None])}))
    if draw(st.booleans()):
        spec["probes"] = {"readiness": {"timeout": draw(st.integers(1, 30))}}
    if draw(st.booleans()):
        spec["env"] = {"LOG_LEVEL": "debug"}
    arms = draw(st.integers(1, 3))
    splits = {1: [[100]], 2: [[50, 50], [90, 10]], 3: [[40, 30, 30]]}
    weights = draw(st.sampled_from(splits[arms]))
    traffic: dict[str, Any] = {}
    for i, weight in enumerate(weights):
        variant: dict[str, Any] = {"weight": weight} if arms > 1 else {}
        if i:
            variant["artifact"] = {"uri": f"s3://acme-models/m/{i + 1}"}
        traffic["main" if i == 0 else f"v{i}"] = variant
    if draw(st.booleans()):
        traffic["shadow"] = {"shadow": True, "artifact": {"uri": "s3://acme-models/m/9"}}
    spec["traffic"] = traffic
    return spec


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=model_specs())
def test_every_valid_spec_compiles_or_is_clearly_refused(spec: dict[str, Any], crd_dir: Path) -> None:
    text = yaml.safe_dump(spec, sort_keys=False)
    root = Path(tempfile.mkdtemp(prefix="targets-"))
    try:
        for index, (target, mode) in enumerate(TARGETS):
            result = _compile(root / str(index), _config(target, mode), {"m": text}, crd_dir)
            for diagnostic in result.diagnostics:
                assert diagnostic.code == "MO301", str(diagnostic)
                assert f"is not supported on target {target}" in diagnostic.message, str(diagnostic)
            if not result.diagnostics:
                assert any(path.startswith("production/") for path in result.files)
    finally:
        shutil.rmtree(root)


# --- fidelity: what Seldon and KServe users already write -----------------------------------------

CORE2_BASE = """\
name: iris
team: risk
framework: sklearn
artifact:
  uri: s3://acme-models/iris/1
"""


def _core2(tmp: Path, text: str, crd_dir: Path) -> Any:
    return _compile(tmp, _config("seldon-v2", core2_defaults=True), {"iris": text}, crd_dir)


def test_core2_native_scaling_sets_min_and_max_replicas_and_no_hpa(tmp_path: Path, crd_dir: Path) -> None:
    result = _core2(tmp_path, CORE2_BASE + "autoscaling: {native: true, min: 2, max: 5}\n", crd_dir)
    _ok(result)
    objects = _objects(result, "staging/models-staging/iris")
    assert sorted(objects) == ["model", "podmonitor"]
    spec = objects["model"]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 5)
    assert "replicas" not in spec


def test_core2_native_scaling_takes_no_hpa_target(tmp_path: Path, crd_dir: Path) -> None:
    result = _core2(tmp_path, CORE2_BASE + "autoscaling: {native: true, max: 5, rps: 20}\n", crd_dir)
    assert _errors(result)[0] == (
        "models/iris.yaml:6:42: MO246 autoscaling.native scales on Seldon's inference lag: remove "
        "autoscaling.rps (or native, for an HPA)")


def test_native_scaling_is_refused_elsewhere(tmp_path: Path, crd_dir: Path) -> None:
    text = CORE2_BASE + "autoscaling: {native: true, max: 5}\n"
    result = _compile(tmp_path, _config("seldon-v1"), {"iris": text}, crd_dir)
    assert "models/iris.yaml:6:23: MO301 autoscaling.native is not supported on target seldon-v1" in (
        _errors(result)[0])


def test_core2_rps_below_a_milli_unit_is_refused(tmp_path: Path, crd_dir: Path) -> None:
    result = _core2(tmp_path, CORE2_BASE + "autoscaling: {max: 5, rps: 0.0005}\n", crd_dir)
    assert _errors(result) == [
        "models/iris.yaml:6:28: MO247 autoscaling.rps 0.0005 is below 0.001, the smallest averageValue "
        "the HPA can hold (1m): it would render as 0m"]


def test_kserve_rps_too_large_for_scale_target_is_refused(tmp_path: Path, crd_dir: Path) -> None:
    text = CORE2_BASE + "autoscaling: {max: 5, rps: 1e308}\n"
    result = _compile(tmp_path, _config("kserve", "Serverless"), {"iris": text}, crd_dir)
    assert [e.split(": ")[1] for e in _errors(result)] == ["MO100 autoscaling.rps"]


def test_core2_chosen_model_and_experiment_names(tmp_path: Path, crd_dir: Path) -> None:
    text = CORE2_BASE + textwrap.dedent("""\
        names: {experiment: iris-split}
        traffic:
          main: {weight: 90}
          canary:
            weight: 10
            model_name: iris-next
            artifact: {uri: s3://acme-models/iris/2}
        """)
    result = _core2(tmp_path, text, crd_dir)
    _ok(result)
    objects = _objects(result, "staging/models-staging/iris")
    assert objects["model-canary"]["metadata"]["name"] == "iris-next"
    assert objects["experiment"]["metadata"]["name"] == "iris-split"
    assert objects["experiment"]["spec"]["candidates"] == [
        {"name": "iris", "weight": 90}, {"name": "iris-next", "weight": 10}]


def test_chosen_names_stay_within_the_name_budget(tmp_path: Path, crd_dir: Path) -> None:
    graph = "g" * 52
    text = CORE2_BASE + f"names: {{graph: {graph}}}\n"
    result = _compile(tmp_path, _config("seldon-v1"), {"iris": text}, crd_dir)
    assert f"MO210 Deployment of variant 'main' name 'iris-main-0-{graph}' is 64 characters, 1 over" in (
        _errors(result)[0])


def test_seldon_v1_chosen_graph_name_and_kfserving_protocol(tmp_path: Path, crd_dir: Path) -> None:
    text = CORE2_BASE + "protocol: kfserving\nnames: {graph: model}\n"
    result = _compile(tmp_path, _config("seldon-v1"), {"iris": text}, crd_dir)
    _ok(result)
    sdep = _objects(result, "staging/models-staging/iris")["seldondeployment"]
    assert sdep["spec"]["protocol"] == "kfserving"  # as written: Seldon treats it as v2
    predictor = sdep["spec"]["predictors"][0]
    assert predictor["graph"]["name"] == "model"
    assert predictor["componentSpecs"][0]["spec"]["containers"][0]["name"] == "model"
    rules = documents(result.files["staging/observability.yaml"])  # the info series the rules join on
    assert "deployment: iris-main-0-model" in yaml.safe_dump(rules)


def test_kfserving_is_refused_off_seldon_v1(tmp_path: Path, crd_dir: Path) -> None:
    result = _core2(tmp_path, CORE2_BASE + "protocol: kfserving\n", crd_dir)
    assert "MO301 protocol kfserving is not supported on target seldon-v2" in _errors(result)[0]


CUSTOM = """\
name: iris
team: risk
framework: custom
image: acme/iris:1
traffic:
  main: {weight: 90}
  canary: {weight: 10, image: "acme/iris:2"}
"""


@pytest.mark.parametrize(("target", "path"), [
    ("seldon-v1", ("spec", "predictors", 1, "componentSpecs", 0, "spec", "containers", 0, "image")),
    ("kserve", ("spec", "canary", 0, "predictor", "containers", 0, "image")),
])
def test_a_custom_canary_runs_its_own_image(target: str, path: tuple[Any, ...], tmp_path: Path,
                                           crd_dir: Path) -> None:
    result = _compile(tmp_path, _config(target), {"iris": CUSTOM}, crd_dir)
    _ok(result)
    objects = _objects(result, "production/models/iris")
    node: Any = objects["seldondeployment" if target == "seldon-v1" else "inferenceservice"]
    for key in path:
        node = node[key]
    assert node == "acme/iris:2"
