"""After `sync --wait`: MLflow follows git (aliases and a commit tag on the real `mlflow server`) and a
word back goes to the fake GitHub (a deployment with its status) and to a local webhook sink."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from modelops.cli.main import cli
from modelops.promotion.notify import pull_request_of
from support.fake_github import FakeGitHub
from support.fixtures import git
from support.kmock_cluster import RunningServer
from support.mlflow_fixtures import CONFIG, MODEL, make_repo

TAG = "modelops.deployed.staging"


class Sink:
    """A local HTTP receiver that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                sink.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cluster() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.stop()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def sink() -> Iterator[Sink]:
    receiver = Sink()
    yield receiver
    receiver.close()


@pytest.fixture
def client(mlflow_server) -> Iterator[Any]:
    """The shared server's client; the staging aliases and tags this test sets are removed after."""
    from mlflow.tracking import MlflowClient

    mlflow = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    yield mlflow
    for alias in ("staging", "staging-canary", "staging-shadow"):
        if alias in mlflow.get_registered_model(MODEL).aliases:
            mlflow.delete_registered_model_alias(MODEL, alias)
    for version in mlflow.search_model_versions(f"name = '{MODEL}'"):
        if TAG in version.tags:
            mlflow.delete_model_version_tag(MODEL, version.version, TAG)


@pytest.fixture
def work(tmp_path, crd_dir, github, mlflow_server, monkeypatch, sink) -> Path:
    config = CONFIG + (f"  api_url: {github.url}\nnotify:\n  github_deployments: true\n"
                       "  webhook_url_env: SLACK_WEBHOOK_URL\n")
    config = config.replace("mlflow:\n", "mlflow:\n  follow_sync: true\n", 1)
    repo = make_repo(tmp_path, crd_dir, config=config)
    git(repo.root, "commit", "--quiet", "--allow-empty", "-m", "Merge pull request #7 from acme/promote")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url)
    return repo.root


def sync(root: Path, cluster: RunningServer, *args: str):
    kubeconfig = cluster.kubeconfig(root.parent / "kubeconfig")
    return CliRunner().invoke(cli, ["sync", "--env", "staging", "-C", str(root), "--kubeconfig",
                                    str(kubeconfig), "--context", "kmock", "--wait", "--timeout", "5s",
                                    *args])


def seldon_status(state: str, description: str = "") -> Any:
    def fill(obj: dict[str, Any]) -> None:
        obj["status"] = {"state": state, "description": description}
    return fill


@pytest.mark.slow
def test_a_ready_sync_moves_the_aliases_and_reports_success(work, cluster, github, sink, client):
    client.set_registered_model_alias(MODEL, "staging-canary", "3")  # a canary that no longer runs
    client.set_model_version_tag(MODEL, "3", TAG, "0123abc")
    cluster.handler.fill["SeldonDeployment"] = seldon_status("Available")
    result = sync(work, cluster)
    assert result.exit_code == 0, result.output
    head = git(work, "rev-parse", "HEAD").strip()

    aliases = client.get_registered_model(MODEL).aliases
    assert aliases["staging"] == "1" and "staging-canary" not in aliases
    assert client.get_model_version(MODEL, "1").tags[TAG] == head
    assert TAG not in client.get_model_version(MODEL, "3").tags
    assert "mlflow: eta-courier v1 @staging" in result.output
    assert "mlflow: removed eta-courier v3 @staging-canary" in result.output

    (deployment,) = github.deployments.values()
    assert (deployment["ref"], deployment["environment"]) == (head, "staging")
    assert deployment["payload"] == {"model": MODEL, "version": "1", "environment": "staging",
                                     "result": "success", "pull_request": 7}
    assert [s["state"] for s in deployment["statuses"]] == ["success"]

    (message,) = sink.bodies
    assert message["text"] == "eta-courier 1 in staging (pull request #7) is live"
    fields = message["blocks"][1]["fields"]
    assert {"type": "mrkdwn", "text": "*Result*\nsuccess"} in fields
    assert {"type": "mrkdwn", "text": "*Pull request*\n#7"} in fields


@pytest.mark.slow
def test_a_failed_sync_exits_1_reports_failure_and_leaves_mlflow_alone(work, cluster, github, sink, client):
    cluster.handler.fill["SeldonDeployment"] = seldon_status("Failed", "1 container crashing")
    result = sync(work, cluster)
    assert result.exit_code == 1
    assert ("MO710 SeldonDeployment models-staging/eta-courier failed: Failed: 1 container crashing"
            in result.stderr)
    (deployment,) = github.deployments.values()
    assert [s["state"] for s in deployment["statuses"]] == ["failure"]
    assert "staging" not in client.get_registered_model(MODEL).aliases
    assert sink.bodies[0]["text"] == ("eta-courier 1 in staging (pull request #7) failed: "
                                      "Failed: 1 container crashing")


@pytest.mark.slow
def test_a_refusing_webhook_is_one_line_without_the_url(work, cluster, monkeypatch, client):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/secret-path")
    cluster.handler.fill["SeldonDeployment"] = seldon_status("Available")
    result = sync(work, cluster, "--no-mlflow")
    assert result.exit_code == 1
    assert "MO712 notification webhook failed for eta-courier in staging" in result.stderr
    assert "secret-path" not in result.output
    assert "staging" not in client.get_registered_model(MODEL).aliases  # --no-mlflow: MLflow untouched
    assert "mlflow:" not in result.output


def test_pull_request_numbers_from_merge_and_squash_subjects():
    assert pull_request_of("Merge pull request #12 from acme/promote/x") == 12
    assert pull_request_of("Promote eta-courier v4 to production (#31)") == 31
    assert pull_request_of("Fix a typo") is None
