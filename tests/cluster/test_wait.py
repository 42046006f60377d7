"""`modelops sync --wait` against kmock: each kind's own status decides, failures quote it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from modelops.cli.main import cli
from modelops.cluster.readiness import readiness
from support.kmock_cluster import RunningServer

MODELS = {
    name: f"name: {name}\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/{name}/1\n"
    for name in ("churn-score", "iris-classifier")
}


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.stop()


@pytest.fixture
def root(repo, crd_dir) -> Path:
    target = repo({f"{name}.yaml": text for name, text in MODELS.items()})
    result = CliRunner().invoke(cli, ["compile", "-C", str(target), "--crd-dir", str(crd_dir)])
    assert result.exit_code == 0, result.output
    return target


def status_of(state: str, description: str = "") -> Any:
    def fill(obj: dict[str, Any]) -> None:
        obj["status"] = {"state": state, "description": description}
    return fill


def sync(root: Path, server: RunningServer, *args: str):
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")
    return CliRunner().invoke(cli, ["sync", "--env", "staging", "-C", str(root), "--kubeconfig",
                                    str(kubeconfig), "--context", "kmock", "--wait", *args])


def test_ready_seldon_deployments_end_the_wait_with_exit_0(root, server):
    server.handler.fill["SeldonDeployment"] = status_of("Available")
    result = sync(root, server)
    assert result.exit_code == 0, result.output
    assert "ready    SeldonDeployment models-staging/churn-score" in result.output
    assert "ready    SeldonDeployment models-staging/iris-classifier" in result.output
    assert "Sync of staging complete" in result.output


def test_a_failed_seldon_deployment_exits_1_with_its_description(root, server):
    server.handler.fill["SeldonDeployment"] = status_of("Failed", "Init:ErrImagePull seldonio/mlserver")
    result = sync(root, server)
    assert result.exit_code == 1
    assert ("generated/staging/models-staging/churn-score.yaml:2:1: MO710 SeldonDeployment "
            "models-staging/churn-score failed: Failed: Init:ErrImagePull seldonio/mlserver") in result.stderr


def test_never_ready_times_out_with_exit_1_and_the_last_state(root, server):
    result = sync(root, server, "--timeout", "1s")  # kmock leaves them Creating
    assert result.exit_code == 1
    assert ("MO711 SeldonDeployment models-staging/iris-classifier not ready after 1s: Creating"
            in result.stderr)


def test_bad_timeout_is_one_line_and_exit_1(root, server):
    result = sync(root, server, "--timeout", "soon")
    assert result.exit_code == 1
    assert result.stderr == ".:1:1: MO011 --timeout: 'soon' is not a duration such as 90, 30s, 5m or 1h30m\n"


def test_a_status_of_an_older_generation_is_not_ready():
    sdep = {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
            "metadata": {"generation": 3}, "status": {"state": "Available", "observedGeneration": 2}}
    assert readiness(sdep).state == "pending"
    sdep["status"]["observedGeneration"] = 3
    assert readiness(sdep).state == "ready"


@pytest.mark.parametrize(("api_version", "kind"), [("mlops.seldon.io/v1alpha1", "Model"),
                                                   ("mlops.seldon.io/v1alpha1", "Experiment"),
                                                   ("serving.kserve.io/v1beta1", "InferenceService")])
def test_core2_and_kserve_wait_for_the_ready_condition(api_version, kind):
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"generation": 1},
           "status": {"observedGeneration": 1, "conditions": [
               {"type": "Ready", "status": "False", "reason": "ModelNotReady", "message": "loading"}]}}
    assert (readiness(obj).state, readiness(obj).message) == ("pending", "ModelNotReady: loading")
    obj["status"]["conditions"][0]["status"] = "True"
    assert readiness(obj).state == "ready"


def test_kserve_blocked_by_a_failed_load_fails_at_once():
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {},
            "status": {"modelStatus": {"transitionStatus": "BlockedByFailedLoad",
                                       "lastFailureInfo": {"reason": "ModelLoadFailed",
                                                           "message": "no such bucket"}}}}
    assert readiness(isvc).state == "failed"
    assert readiness(isvc).message == "BlockedByFailedLoad: ModelLoadFailed: no such bucket"
