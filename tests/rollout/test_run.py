"""`modelops rollout` against a real Prometheus evaluating the rules modelops generates, and the fake
GitHub: advance through every step, abort on errors or latency, hold on little traffic, a shadow
becoming a canary, main watched for a decline, Prometheus down."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import fixtures
from support.fake_github_pulls import FakeGitHubPulls
from support.prometheus_server import Traffic, prometheus

pytestmark = pytest.mark.slow

NS = "models"
CONFIG = """\
environments:
  production:
    namespace: models
    target: seldon-v1
    grafana_url: https://grafana.example
    rollout:
      steps: [10, 25, 50]
      bake: 0s
      min_requests: 500
defaults:
  resources:
    requests: {cpu: 100m, memory: 256Mi}
    limits: {memory: 1Gi}
teams:
  risk:
    reviewers: ["@acme/risk-ds"]
policy:
  allowed_schemes: [s3]
  allowed_buckets: ["s3://acme-models/"]
github:
  repository: acme/models
  api_url: GITHUB_API
notify:
  on_decline_env: DECLINE_HOOK
"""


def model_text(name: str, trial: str = "canary", extra: str = "") -> str:
    variants = {
        "canary": "      main: {weight: 90}\n      canary:\n        weight: 10\n"
                  f"        artifact: {{uri: s3://acme-models/{name}/2}}\n",
        "challenger": "      main: {weight: 90}\n      challenger:\n        weight: 10\n"
                      f"        artifact: {{uri: s3://acme-models/{name}/2}}\n",
        "shadow": "      main: {}\n      shadow:\n        shadow: true\n"
                  f"        artifact: {{uri: s3://acme-models/{name}/2}}\n",
    }
    traffic = f"    traffic:\n{variants[trial]}" if trial in variants else "    {}\n"
    return (f"name: {name}\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/{name}/1\n"
            f"{extra}environments:\n  production:\n{traffic}")


MODELS = {
    "healthy": model_text("healthy"),
    "errors": model_text("errors"),
    "slow": model_text("slow"),
    "quiet": model_text("quiet"),
    "shadowed": model_text("shadowed", "shadow"),
    "sick": model_text("sick", "none"),
    "challenged": model_text("challenged", "challenger"),
}
FAST, SLOW = 0.04, 0.2
TRAFFIC = [
    Traffic(NS, "healthy", "main", 300, 0.01, FAST), Traffic(NS, "healthy", "canary", 300, 0.01, FAST),
    Traffic(NS, "errors", "main", 300, 0.01, FAST), Traffic(NS, "errors", "canary", 300, 0.06, FAST),
    Traffic(NS, "slow", "main", 300, 0.01, FAST), Traffic(NS, "slow", "canary", 300, 0.01, SLOW),
    Traffic(NS, "quiet", "main", 300, 0.01, FAST), Traffic(NS, "quiet", "canary", 0.2, 0.0, FAST),
    Traffic(NS, "shadowed", "main", 300, 0.01, FAST), Traffic(NS, "shadowed", "shadow", 300, 0.0, FAST),
    Traffic(NS, "sick", "main", 300, 0.10, FAST),
    Traffic(NS, "challenged", "main", 300, 0.01, FAST),
    Traffic(NS, "challenged", "challenger", 300, 0.01, FAST),
]


def _write(root: Path, config: str) -> None:
    fixtures.make_repo(root, {f"{n}.yaml": t for n, t in MODELS.items()}, config)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus loaded with the rules `modelops compile` writes for these models."""
    root = tmp_path_factory.mktemp("rules-repo")
    _write(root, CONFIG)
    done = fixtures.run(root, "compile", timeout=120)
    assert done.returncode == 0, done.stderr
    with prometheus(tmp_path_factory.mktemp("prometheus"), root / "generated", TRAFFIC) as url:
        yield url


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHubPulls]:
    with FakeGitHubPulls() as fake:
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        yield fake


@pytest.fixture
def repo(tmp_path: Path, github: FakeGitHubPulls) -> Path:
    root = tmp_path / "repo"

    def compiled(root: Path) -> None:
        done = fixtures.run(root, "compile", timeout=120)
        assert done.returncode == 0, done.stderr

    return fixtures.make_repo(root, {f"{n}.yaml": t for n, t in MODELS.items()},
                              CONFIG.replace("GITHUB_API", github.url), origin=tmp_path / "origin.git",
                              before_commit=compiled)


def rollout(root: Path, prom: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = fixtures.run(root, "rollout", "--prometheus", prom, "-o", "json", *args, timeout=120,
                        env=env, unset=("PROMETHEUS_URL", "GITHUB_API_URL", "GITHUB_REPOSITORY"))
    document = json.loads(done.stdout)
    assert done.returncode == (0 if document["ok"] else 1), done.stderr
    return document


def decision(document: dict[str, Any], model: str) -> dict[str, Any]:
    return next(d for d in document["decisions"] if d["model"] == model)


def merge(root: Path, github: FakeGitHubPulls, number: int) -> None:
    """What a reviewer's merge does: the PR's branch becomes main, the PR closes."""
    branch = github.pulls[number]["head"]
    fixtures.git(root, "fetch", "-q", "origin", branch)
    fixtures.git(root, "push", "-q", "origin", f"origin/{branch}:refs/heads/main")
    github.pulls[number]["state"] = "closed"


def file_on(root: Path, ref: str, model: str) -> dict[str, Any]:
    fixtures.git(root, "fetch", "-q", "origin")
    return dict(yaml.safe_load(fixtures.git(root, "show", f"{ref}:models/{model}.yaml")))


def test_a_healthy_canary_advances_through_every_step_to_main(
        repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    seen = []
    for expected in ("canary 25%", "canary 50%", "main"):
        found = decision(rollout(repo, prom, "--model", "healthy"), "healthy")
        assert (found["action"], found["target"]) == ("advance", expected), found
        number = found["pull_request"]["pull_request"]["number"]
        pull = github.pulls[number]
        assert "rollout:advance" in pull["labels"]
        assert "| canary | canary |" in pull["body"] and "| main | main |" in pull["body"]
        assert "modelops:errors:ratio_rate5m{namespace=\"models\",model=\"healthy\"}" in pull["body"]
        board = "https://grafana.example/d/modelops-production?var-model=healthy&var-namespace=models"
        assert board in pull["body"]
        seen.append(pull["title"])
        merge(repo, github, number)
    traffic = file_on(repo, "origin/main", "healthy")["environments"]["production"]
    assert "canary" not in (traffic.get("traffic") or {})
    assert traffic["traffic"]["main"]["artifact"]["uri"] == "s3://acme-models/healthy/2"
    assert seen[0].endswith("10% -> 25% in production") and "becomes main" in seen[2]
    last = decision(rollout(repo, prom, "--model", "healthy"), "healthy")
    assert last["action"] == "off" and last["reason"] == "main only"


def test_a_canary_named_otherwise_advances_by_its_role(
        repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    """Variant names are free: `challenger` at 10% is the canary, and keeps its name at 25%."""
    found = decision(rollout(repo, prom, "--model", "challenged"), "challenged")
    assert found["action"] == "advance", found
    merge(repo, github, found["pull_request"]["pull_request"]["number"])
    traffic = file_on(repo, "origin/main", "challenged")["environments"]["production"]["traffic"]
    assert traffic == {"main": {"weight": 75}, "challenger": {
        "weight": 25, "artifact": {"uri": "s3://acme-models/challenged/2"}}}


def test_a_canary_with_five_points_more_errors_is_aborted(
        repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    found = decision(rollout(repo, prom, "--model", "errors"), "errors")
    assert found["action"] == "abort" and "error ratio" in found["reason"], found
    pull = github.pulls[found["pull_request"]["pull_request"]["number"]]
    assert "rollout:abort" in pull["labels"] and "| FAIL |" in pull["body"]
    branch = file_on(repo, f"origin/{pull['head']}", "errors")
    assert "canary" not in str(branch["environments"]["production"])


def test_a_slow_canary_is_aborted_on_latency(repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    found = decision(rollout(repo, prom, "--model", "slow"), "slow")
    assert found["action"] == "abort" and found["reason"].startswith("p99 <= 1.2 x main"), found
    assert [g["result"] for g in found["gates"]] == ["pass", "FAIL"]


def test_too_little_traffic_holds_and_opens_nothing(repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    found = decision(rollout(repo, prom, "--model", "quiet"), "quiet")
    assert found["action"] == "hold" and "too little traffic: canary served" in found["reason"], found
    assert found["pull_request"] is None and github.pulls == {}


def test_a_healthy_shadow_becomes_a_canary_at_the_first_step(
        repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    found = decision(rollout(repo, prom, "--model", "shadowed"), "shadowed")
    assert (found["action"], found["target"]) == ("advance", "canary 10%"), found
    pull = github.pulls[found["pull_request"]["pull_request"]["number"]]
    assert "| shadow | shadow |" in pull["body"]
    traffic = file_on(repo, f"origin/{pull['head']}", "shadowed")["environments"]["production"]["traffic"]
    assert traffic == {"main": {"weight": 90},
                       "canary": {"weight": 10, "artifact": {"uri": "s3://acme-models/shadowed/2"}}}


def test_bake_time_holds_a_green_canary(repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    fixtures.edit(repo / "modelops.yaml", "bake: 0s", "bake: 1h")
    fixtures.git(repo, "commit", "-qam", "bake an hour")
    fixtures.git(repo, "push", "-q", "origin", "main")
    found = decision(rollout(repo, prom, "--model", "healthy"), "healthy")
    assert found["action"] == "hold" and found["reason"].startswith("baking: "), found
    assert github.pulls == {}


def test_auto_merge_asks_github_to_merge(repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    fixtures.edit(repo / "modelops.yaml", "min_requests: 500", "min_requests: 500\n      auto_merge: true")
    fixtures.git(repo, "commit", "-qam", "auto-merge")
    fixtures.git(repo, "push", "-q", "origin", "main")
    found = decision(rollout(repo, prom, "--model", "shadowed"), "shadowed")
    assert github.auto_merge == {found["pull_request"]["pull_request"]["number"]: "SQUASH"}


def test_a_declining_main_is_reported_and_the_hook_called(
        repo: Path, prom: str, github: FakeGitHubPulls) -> None:
    received: list[Any] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
        found = decision(rollout(repo, prom, "--model", "sick", env={"DECLINE_HOOK": hook}), "sick")
    finally:
        server.shutdown()
        server.server_close()
    assert found["declining"] and found["declining"][0].startswith("error ratio 0.1000 above 0.05"), found
    assert received[0]["declining"] == [{"model": "sick", "environment": "production",
                                         "problems": found["declining"]}]
    assert "sick in production: main error ratio" in received[0]["text"]


def test_prometheus_down_is_one_clear_line_and_no_pull_request(repo: Path, github: FakeGitHubPulls) -> None:
    done = fixtures.run(repo, "rollout", "--prometheus", "http://127.0.0.1:9", timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(".:1:1: MO601 Prometheus at http://127.0.0.1:9 is unreachable")
    assert github.pulls == {}


def test_no_prometheus_configured(repo: Path, github: FakeGitHubPulls) -> None:
    done = fixtures.run(repo, "rollout", timeout=60, unset=("PROMETHEUS_URL",))
    assert done.returncode == 1
    assert "MO602 no Prometheus to judge" in done.stderr and github.pulls == {}
