"""KServe as its own examples write it: protocol v1, Knative autoscaling, KEDA, a chosen ServiceAccount.

Each case compiles one model file on KServe and checks the InferenceService against what the
upstream example renders; `build` validates every object against the bundled CRDs (MO900 if not).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.expressivity import compile_models, config, messages, one

HEAD = "name: iris\nteam: risk\nframework: {framework}\nartifact:\n  uri: s3://acme-models/iris/1\n"


def _model(extra: str, framework: str = "sklearn") -> dict[str, str]:
    return {"iris": HEAD.format(framework=framework) + extra}


@pytest.mark.parametrize("framework", ["sklearn", "xgboost", "lightgbm", "tensorflow", "huggingface"])
def test_protocol_v1_renders_kserve_v1(framework: str, tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("kserve"), _model("protocol: v1\n", framework))
    assert messages(result) == []
    model = one(result, "iris", "InferenceService")["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": framework}
    assert model["protocolVersion"] == "v1"
    assert "runtime" not in model  # KServe picks its v1 server (TF Serving for tensorflow)


def test_protocol_seldon_on_kserve_names_the_keys_that_exist(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("kserve"), _model("protocol: seldon\n"))
    [error] = messages(result)
    assert "MO301 protocol seldon is not supported on target kserve" in error
    assert "`protocol: v2`" in error and "`protocol: v1`" in error


def test_protocol_tensorflow_on_sklearn_names_protocol_v1(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("kserve"), _model("protocol: tensorflow\n"))
    [error] = messages(result)
    assert "MO205" in error and "`protocol: v1`" in error


def test_protocol_v1_is_refused_where_the_server_speaks_v2_only(tmp_path: Path) -> None:
    mlflow = compile_models(tmp_path / "m", config("kserve"), _model("protocol: v1\n", "mlflow"))
    assert [m.split(": ", 1)[1] for m in messages(mlflow)] == [
        "MO205 protocol v1 is not supported by the mlflow server (MLServer speaks v2): use v2"]
    seldon = compile_models(tmp_path / "s", config("seldon-v1"), _model("protocol: v1\n"))
    assert [m.split(": ", 1)[1] for m in messages(seldon)] == [
        "MO301 protocol v1 is not supported on target seldon-v1: it is KServe's; Seldon Core v1 speaks "
        "`protocol: seldon`, `tensorflow` or `v2`"]


def test_serverless_scales_to_zero_without_bound_on_concurrency(tmp_path: Path) -> None:
    text = "autoscaling: {min: 0, concurrency: 10}\ncontainer_concurrency: 20\n"
    result = compile_models(tmp_path, config("kserve", "Serverless", max_replicas=None), _model(text))
    assert messages(result) == []
    predictor = one(result, "iris", "InferenceService")["spec"]["predictor"]
    assert {k: v for k, v in predictor.items() if k not in ("model", "labels")} == {
        "minReplicas": 0, "scaleMetric": "concurrency", "scaleTarget": 10, "containerConcurrency": 20,
    }


def test_serverless_rps_target_with_a_maximum(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("kserve", "Serverless"),
                            _model("autoscaling: {min: 1, max: 5, rps: 30}\n"))
    assert messages(result) == []
    predictor = one(result, "iris", "InferenceService")["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["scaleMetric"],
            predictor["scaleTarget"]) == (1, 5, "rps", 30)


def test_unbounded_autoscaling_is_held_to_the_policy_cap(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("kserve", "Serverless"),
                            _model("autoscaling: {concurrency: 10}\n"))
    [error] = messages(result)
    assert "MO240 autoscaling without `max` is unbounded, over the policy maximum of 20" in error


@pytest.mark.parametrize(("target", "mode", "where"), [
    ("kserve", "Standard", "not target kserve in Standard mode"),
    ("seldon-v1", "Standard", "not target seldon-v1"),
    ("seldon-v2", "Standard", "not target seldon-v2"),
])
def test_scale_to_zero_is_knative_only(target: str, mode: str, where: str, tmp_path: Path) -> None:
    text = "resources: {requests: {memory: 1Gi}}\nautoscaling: {min: 0, max: 3, rps: 5}\n"
    result = compile_models(tmp_path, config(target, mode), _model(text))
    found = [m for m in messages(result) if "MO248" in m]
    assert len(found) == 1 and where in found[0], messages(result)


def test_keda_in_standard_mode_renders_a_resource_metric(tmp_path: Path) -> None:
    text = ("resources: {requests: {cpu: 500m}}\n"
            "autoscaling: {min: 1, max: 5, cpu: 50, autoscaler: keda}\n")
    result = compile_models(tmp_path, config("kserve"), _model(text))
    assert messages(result) == []
    isvc = one(result, "iris", "InferenceService")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 5)
    assert predictor["autoScaling"] == {"metrics": [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}
    assert "scaleMetric" not in predictor


@pytest.mark.parametrize(("mode", "text", "what"), [
    ("Serverless", "autoscaling: {max: 3, rps: 5, autoscaler: keda}\n", "autoscaler keda in Serverless"),
    ("Standard", "container_concurrency: 4\n", "container_concurrency in Standard mode"),
    ("Standard", "autoscaling: {max: 3, concurrency: 4}\n", "autoscaling.concurrency in Standard mode"),
])
def test_knative_and_keda_keys_are_refused_in_the_other_mode(
        mode: str, text: str, what: str, tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("kserve", mode), _model(text))
    assert [m for m in messages(result) if "MO301" in m and what in m], messages(result)


def test_service_account_name_is_chosen(tmp_path: Path) -> None:
    text = "artifact:\n  uri: s3://acme-models/iris/1\n  secret: s3-creds\n  service_account: sa-models\n"
    result = compile_models(tmp_path, config("kserve"), {"iris": HEAD.format(framework="sklearn")
                                                         .split("artifact:")[0] + text})
    assert messages(result) == []
    account = one(result, "iris", "ServiceAccount")
    assert account["metadata"]["name"] == "sa-models" and account["secrets"] == [{"name": "s3-creds"}]
    predictor = one(result, "iris", "InferenceService")["spec"]["predictor"]
    assert predictor["serviceAccountName"] == "sa-models"


@pytest.mark.parametrize("key", ["autoscaling: {max: 3, cpu: 50, autoscaler: hpa}\n",
                                 "container_concurrency: 4\n"])
def test_kserve_only_keys_are_refused_on_seldon(key: str, tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("seldon-v1"),
                            _model("resources: {requests: {cpu: 1}}\n" + key))
    assert [m for m in messages(result) if "MO301" in m and "use target kserve" in m], messages(result)
