"""`modelops autoupdate`: passes over a real registry and git, `--watch`, and the webhook receiver
fed by a real `mlflow server`."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from modelops.cli.report import table
from modelops.compile.spec import AutoUpdate
from modelops.diagnostics import UserError
from modelops.promotion.autoupdate import COLUMNS, better, rows, run_pass
from modelops.promotion.webhook import Rejected, sign, verify
from support.fake_github_pulls import FakeGitHubPulls
from support.fixtures import modelops_path
from support.mlflow_fixtures import MODEL, MODEL_TEXT, Repo, make_repo, stop, wait_http
from support.promotion_fixtures import run

SECRET = "webhook-secret-for-tests"


def policy(direction: str, margin: float = 0.0) -> AutoUpdate:
    return AutoUpdate(metric="m", direction=direction, min_improvement=margin, env="production")


def test_metric_comparison_both_ways() -> None:
    assert better(policy("minimize"), 3.0, 2.9)[0]
    assert not better(policy("minimize"), 2.9, 3.0)[0]
    assert better(policy("maximize"), 0.80, 0.85)[0]
    assert not better(policy("maximize"), 0.85, 0.80)[0]
    assert not better(policy("minimize", 0.2), 3.0, 2.9)[0]  # better, but not by the margin
    assert better(policy("maximize", 0.05), 0.80, 0.85)[0]  # exactly the margin is enough
    assert not better(policy("minimize"), 3.0, 3.0)[0]  # equal is not better


def test_webhook_signature_good_bad_stale() -> None:
    body = b'{"entity": "model_version", "action": "created", "data": {"name": "m"}}'
    now = 1_760_000_000
    headers = {"X-MLflow-Delivery-Id": "d1", "X-MLflow-Timestamp": str(now),
               "X-MLflow-Signature": sign(SECRET, "d1", str(now), body)}
    verify(SECRET, headers, body, now=now + 10)
    for changed, status, reason in [
        ({"X-MLflow-Signature": sign("other-secret", "d1", str(now), body)}, 401, "bad signature"),
        ({"X-MLflow-Delivery-Id": "d2"}, 401, "bad signature"),
        ({"X-MLflow-Signature": ""}, 401, "missing"),
        ({"X-MLflow-Timestamp": "soon"}, 400, "not a unix time"),
    ]:
        with pytest.raises(Rejected) as error:
            verify(SECRET, {**headers, **changed}, body, now=now)
        assert error.value.status == status and reason in error.value.reason
    with pytest.raises(Rejected, match="bad signature"):
        verify(SECRET, headers, body + b" ", now=now)
    with pytest.raises(Rejected, match="stale delivery"):
        verify(SECRET, headers, body, now=now + 301)


# --- one pass ------------------------------------------------------------------------------------

def set_alias(repo: Repo, version: int) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{repo.root / '.mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias(MODEL, "challenger", str(version))


@pytest.mark.slow
def test_pass_promotes_a_better_candidate_once(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    [decision] = run_pass(repo.root, crd_dir=crd_dir)
    assert (decision.action, decision.deployed, decision.candidate) == ("promote", "v1", "v2")
    assert decision.metric == "rmse 3 -> 2.9"
    assert decision.reason == "pull request #1 created (promote/eta-courier-production-v2-canary)"
    assert "main: {weight: 90}" in repo.show("origin/promote/eta-courier-production-v2-canary",
                                             "models/eta-courier.yaml")
    [again] = run_pass(repo.root, crd_dir=crd_dir)  # the PR is not merged yet: nothing new
    assert again.reason == "pull request #1 unchanged (promote/eta-courier-production-v2-canary)"
    assert len(github.calls("POST", r"/repos/acme/models/pulls")) == 1 and list(github.pulls) == [1]
    text = table(COLUMNS, rows([decision]))
    assert text.splitlines()[0].split() == ["model", "env", "deployed", "candidate", "metric", "action",
                                            "reason"]
    assert "eta-courier  production  v1" in text


def test_pass_keeps_a_worse_candidate(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    set_alias(repo, 3)
    [decision] = run_pass(repo.root, crd_dir=crd_dir)
    assert (decision.action, decision.candidate, decision.metric) == ("keep", "v3", "rmse 3 -> 3.2")
    assert decision.reason == "not better by 0.05: rmse must be lower (improvement -0.2)"
    assert repo.origin_branches() == ["main"] and not github.requests


def test_pass_reports_progress_per_model_file(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    set_alias(repo, 3)
    seen: list[tuple[int, int]] = []
    run_pass(repo.root, crd_dir=crd_dir, on_progress=lambda done, total: seen.append((done, total)))
    total = len(list((repo.root / "models").glob("*.yaml")))
    assert seen == [(done, total) for done in range(total + 1)]  # from none to all: the bar ends


def test_pass_needs_the_margin(tmp_path: Path, crd_dir: Path, mlflow_template: Path,
                               github: FakeGitHubPulls) -> None:
    repo = make_repo(tmp_path, crd_dir, store=mlflow_template,
                     model=MODEL_TEXT.replace("min_improvement: 0.05", "min_improvement: 0.5"))
    [decision] = run_pass(repo.root, crd_dir=crd_dir)
    assert decision.action == "keep" and "not better by 0.5" in decision.reason


def test_pass_reports_models_without_a_policy(tmp_path: Path, crd_dir: Path, mlflow_template: Path,
                                              github: FakeGitHubPulls) -> None:
    text = MODEL_TEXT.split("autoupdate:")[0] + "environments:" + MODEL_TEXT.split("environments:")[1]
    repo = make_repo(tmp_path, crd_dir, store=mlflow_template, model=text)
    [decision] = run_pass(repo.root, crd_dir=crd_dir)
    assert (decision.model, decision.action, decision.reason) == (MODEL, "off", "no autoupdate policy")


def test_pass_with_mlflow_down_is_one_error(
        repo: Repo, monkeypatch: pytest.MonkeyPatch, crd_dir: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    with pytest.raises(UserError) as error:
        run_pass(repo.root, crd_dir=crd_dir)
    [diagnostic] = error.value.diagnostics
    assert diagnostic.code == "MO501"
    assert "MLflow at http://127.0.0.1:9 failed after 0 retries" in diagnostic.message


# --- the command line ----------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_pass_prints_the_table(repo: Repo, crd_dir: Path) -> None:
    set_alias(repo, 3)
    done = run(repo, "autoupdate", crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split()[:6] == ["model", "env", "deployed", "candidate", "metric", "action"]
    assert re.match(r"eta-courier +production +v1 +v3 +rmse 3 -> 3\.2 +keep +not better", row)


@pytest.mark.slow
def test_cli_mlflow_down_exits_1_and_watch_keeps_going(repo: Repo, crd_dir: Path) -> None:
    down = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    done = run(repo, "autoupdate", crd_dir=crd_dir, **down)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert re.fullmatch(r"models/eta-courier\.yaml:1:1: MO501 MLflow at http://127\.0\.0\.1:9 failed .*",
                        line)
    watched = run(repo, "autoupdate", "--watch", "0.1", "--max-passes", "2", crd_dir=crd_dir, **down)
    assert watched.returncode == 0
    assert watched.stderr.count("MO501") == 2 and "Traceback" not in watched.stderr


# --- the webhook receiver with a real MLflow server ----------------------------------------------

def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    delivery, stamp = str(uuid.uuid4()), str(at if at is not None else int(time.time()))
    return {"X-MLflow-Delivery-Id": delivery, "X-MLflow-Timestamp": stamp,
            "X-MLflow-Signature": sign(secret, delivery, stamp, body)}


@pytest.mark.slow
def test_serve_acts_on_signed_mlflow_webhooks(tmp_path: Path, crd_dir: Path, mlflow_server) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    name = "eta-webhook"
    experiment = client.create_experiment("eta-webhook", artifact_location="s3://acme-models/mlflow/hook")

    def register(rmse: float) -> str:
        run = client.create_run(experiment).info
        client.log_metric(run.run_id, "rmse", rmse)
        client.create_model_version(name, source=f"{run.artifact_uri}/model", run_id=run.run_id)
        return f"{run.artifact_uri}/model"

    client.create_registered_model(name)
    first = register(3.0)
    model = (MODEL_TEXT.replace("candidate: challenger", "candidate: latest")
             .replace("uri: s3://acme-models/eta-courier/1", f"uri: {first}")
             .replace("mlflow: {model: eta-courier, version: 1}", f"mlflow: {{model: {name}, version: 1}}"))
    repo = make_repo(tmp_path, crd_dir, model=model)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    with FakeGitHubPulls() as github:
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_REPOSITORY",)}
        env.update({"MLFLOW_TRACKING_URI": mlflow_server.url, "GITHUB_TOKEN": "t",
                    "GITHUB_API_URL": github.url, "MLFLOW_WEBHOOK_SECRET": SECRET,
                    "MODELOPS_CRD_DIR": str(crd_dir)})
        log = (tmp_path / "serve.log").open("wb")
        command = [modelops_path(), "autoupdate", "serve", "--port", str(port), "--poll", "0"]
        process = subprocess.Popen(command, cwd=repo.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_http(f"{url}/health", 60, process)
            event = json.dumps({"entity": "model_version", "action": "created",
                                "data": {"name": "someone-else", "version": "1"}}).encode()
            assert post(f"{url}/hook", event, signed(event)) == (202, {"queued": "someone-else"})
            other = json.dumps({"entity": "registered_model", "action": "created", "data": {}}).encode()
            assert post(f"{url}/hook", other, signed(other))[0] == 200  # not an event we act on
            bad = post(f"{url}/hook", event, signed(event, secret="wrong"))
            assert bad == (401, {"error": "bad signature"})
            status, answer = post(f"{url}/hook", event, signed(event, at=int(time.time()) - 3600))
            assert status == 401 and answer["error"].startswith("stale delivery")
            assert post(f"{url}/hook", event, {})[0] == 401
            replayed = signed(event)
            assert post(f"{url}/hook", other, replayed)[0] == 401  # the signature covers the body
            assert post(f"{url}/hook", event, replayed)[0] == 202
            assert post(f"{url}/hook", event, replayed)[0] == 409  # a replayed delivery
            assert not github.pulls

            client.create_webhook("modelops", f"{url}/hook", events=["model_version.created"], secret=SECRET)
            register(2.5)  # MLflow delivers model_version.created for version 2
            deadline = time.monotonic() + 60
            while not github.pulls and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            stop(process)
            log.close()
        output = (tmp_path / "serve.log").read_text()
        assert list(github.pulls) == [1], output
        pull = github.pulls[1]
        assert pull["head"] == "promote/eta-courier-production-v2-canary"
        assert "| rmse | 3 | 2.5 | -0.5 |" in pull["body"]
        assert "pass for registered model eta-webhook" in output
        assert "webhook rejected: bad signature" in output


def test_serve_refuses_to_start_without_a_secret(repo: Repo, crd_dir: Path) -> None:
    done = run(repo, "autoupdate", "serve", "--port", "0", crd_dir=crd_dir)
    assert done.returncode == 1
    assert done.stderr.strip() == ("modelops.yaml:1:1: MO520 MLFLOW_WEBHOOK_SECRET is not set: webhooks must "
                                   "be signed (the secret given to MLflow's create_webhook)")


# --- one pull request per model and environment --------------------------------------------------

def open_pulls(github: FakeGitHubPulls) -> list[tuple[int, str]]:
    return [(n, p["head"]) for n, p in sorted(github.pulls.items()) if p["state"] == "open"]


@pytest.mark.slow
def test_a_newer_candidate_closes_the_older_pull_request(repo: Repo, github: FakeGitHubPulls,
                                                         crd_dir: Path) -> None:
    [first] = run_pass(repo.root, crd_dir=crd_dir)
    assert first.reason == "pull request #1 created (promote/eta-courier-production-v2-canary)"
    set_alias(repo, 5)  # a newer candidate arrives before #1 is merged
    [second] = run_pass(repo.root, crd_dir=crd_dir)
    assert second.reason == ("pull request #2 created (promote/eta-courier-production-v5-canary); "
                             "closed superseded #1")
    assert open_pulls(github) == [(2, "promote/eta-courier-production-v5-canary")]
    [comment] = [c["body"] for c in github.comments.values() if c["number"] == 1]
    assert comment.startswith("Superseded by #2 (https://github.example/acme/models/pull/2)")
    [third] = run_pass(repo.root, crd_dir=crd_dir)  # nothing new: the open one stays, nothing closed
    assert third.reason == "pull request #2 unchanged (promote/eta-courier-production-v5-canary)"
    assert open_pulls(github) == [(2, "promote/eta-courier-production-v5-canary")]


CANARY_V2 = MODEL_TEXT.replace("""  production:
    replicas: 2
""", """  production:
    replicas: 2
    traffic:
      main: {weight: 90}
      canary:
        weight: 10
        artifact:
          uri: s3://acme-models/eta-courier/2
          mlflow: {model: eta-courier, version: 2}
""")


def add_version(repo: Repo, rmse: float) -> int:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{repo.root / '.mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run_id = client.create_run(client.get_experiment_by_name("eta").experiment_id).info.run_id
    client.log_metric(run_id, "rmse", rmse)
    version = client.create_model_version(MODEL, source="s3://acme-models/eta-courier/7", run_id=run_id)
    client.set_registered_model_alias(MODEL, "challenger", version.version)
    return int(version.version)


def test_a_candidate_worse_than_the_running_canary_is_not_proposed(
        tmp_path: Path, crd_dir: Path, mlflow_template: Path, github: FakeGitHubPulls) -> None:
    repo = make_repo(tmp_path, crd_dir, store=mlflow_template, model=CANARY_V2)
    version = add_version(repo, 2.95)  # better than main v1 (3.0) by the margin, worse than canary v2 (2.9)
    [decision] = run_pass(repo.root, crd_dir=crd_dir)
    assert (decision.action, decision.candidate) == ("keep", f"v{version}")
    assert decision.reason == "not better than v2, which runs as canary (rmse 2.9 vs 2.95)"
    assert repo.origin_branches() == ["main"] and not github.pulls


def test_a_candidate_older_than_the_running_canary_is_not_proposed(
        tmp_path: Path, crd_dir: Path, mlflow_template: Path, github: FakeGitHubPulls) -> None:
    canary_v5 = CANARY_V2.replace("version: 2}", "version: 5}").replace("eta-courier/2", "eta-courier/5")
    repo = make_repo(tmp_path, crd_dir, store=mlflow_template, model=canary_v5)
    set_alias(repo, 2)
    [decision] = run_pass(repo.root, crd_dir=crd_dir)
    assert decision.action == "skip"
    assert decision.reason == "the candidate is older than v5, which runs as canary"


# --- the receiver's limits: body size and time ----------------------------------------------------

@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):
    """A running receiver (no worker: deliveries are only accepted), its URL and its log lines."""
    import threading

    from modelops.promotion import autoupdate, webhook

    monkeypatch.setattr(webhook, "READ_SECONDS", 0.5)
    lines: list[str] = []
    service = autoupdate.Service(SECRET, tolerance=300, run=lambda _: None, log=lines.append)
    server = service.server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.server_address[1], lines
    finally:
        server.shutdown()
        server.server_close()


def test_receiver_refuses_a_body_over_one_mebibyte(receiver) -> None:
    url, port, lines = receiver
    # Announce the oversized body and send none of it: the receiver must answer from the header,
    # before reading (sending the body too races its close with our write: a broken pipe).
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 413 ")
    assert lines == ["webhook rejected: body over 1048576 bytes"]
    small = json.dumps({"entity": "model_version", "action": "created", "data": {"name": MODEL}}).encode()
    assert post(url, small, signed(small)) == (202, {"queued": MODEL})


def test_receiver_cuts_off_a_slow_client(receiver) -> None:
    _, port, lines = receiver
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # and no more
        answer = b""
        while chunk := sock.recv(4096):  # until the receiver closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 408 ")
    assert answer.endswith(b'{"error": "request body too slow"}')
    assert time.monotonic() - started < 5
    assert lines == ["webhook rejected: body not received within 0.5 s"]
