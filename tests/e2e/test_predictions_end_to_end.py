"""Judging a shadow by what it predicts, end to end: compile with a store, run the collector the
compile generated, post a traffic mix for main and shadow to the logger URLs the compile wrote,
`compare`, then `rollout` holds while pairs are missing and proposes the canary once they are in,
with the comparison table in the pull request body."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import fixtures, prediction_store
from support.collector_events import Poster, Process, collector, seldon, seldon_answer
from support.fake_github_pulls import FakeGitHubPulls
from support.generated_files import documents
from support.prometheus_server import Traffic, prometheus

pytestmark = pytest.mark.slow

CONFIG = """\
environments:
  production:
    namespace: models
    target: seldon-v1
    rollout: {steps: [10, 50], bake: 0s, min_requests: 500}
defaults:
  resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {memory: 1Gi}}
teams:
  risk: {reviewers: ["@acme/risk-ds"]}
policy: {allowed_schemes: [s3]}
stores:
  default: {uri: "file://STORE"}
collector: {image: registry.example/modelops:0.4.0}
github: {repository: acme/models, api_url: GITHUB_API}
"""
MODEL = prediction_store.model("{task: classification, min_pairs: 1000, gates: {agreement: 0.95}}",
                               per_environment=True)
REQUEST = b'{"data":{"names":["f0","f1","f2","f3"],"ndarray":[[5.1,3.5,1.4,0.2]]}}'


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, FakeGitHubPulls]]:
    with FakeGitHubPulls() as github:
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        store, root = tmp_path / "store", tmp_path / "repo"
        fixtures.make_repo(root, {"iris.yaml": MODEL},
                           CONFIG.replace("STORE", str(store)).replace("GITHUB_API", github.url),
                           origin=tmp_path / "origin.git", before_commit=_compiled)
        yield root, store, github


def _compiled(root: Path) -> None:
    done = fixtures.run(root, "compile", timeout=120)
    assert done.returncode == 0, done.stderr


def _logger_queries(root: Path) -> dict[str, str]:
    """predictor -> the query string of the logger URL the compile gave it."""
    for path in (root / "generated" / "production").rglob("*.yaml"):
        for obj in documents(path.read_text()):
            if obj.get("kind") == "SeldonDeployment" and obj["metadata"]["name"] == "iris":
                return {p["name"]: "?" + urlsplit(p["graph"]["logger"]["url"]).query
                        for p in obj["spec"]["predictors"]}
    raise AssertionError("no SeldonDeployment iris in generated/production")


def _traffic(running: Process, queries: dict[str, str], first: int, count: int, agreement: float) -> int:
    """`count` calls with a Seldon-Puid: main logs request and response, the mirrored shadow its
    response; the shadow answers another class on 1 - `agreement` of them. Posted from 8
    connections, as many executor replicas would; the events posted."""
    rng = random.Random(first)
    events = []
    for i in range(first, first + count):
        puid, label = f"puid-{i}", rng.randrange(3)
        shadow_label = label if rng.random() < agreement else (label + 1) % 3
        events += [(puid, "request", "main", REQUEST), (puid, "response", "main", _answer(label)),
                   (puid, "response", "shadow", _answer(shadow_label))]

    def post(share: list[tuple[str, str, str, bytes]]) -> list[int]:
        poster = Poster(running.port)
        statuses = [poster.post(seldon(kind, puid, endpoint, body), body, query=queries[endpoint])[0]
                    for puid, kind, endpoint, body in share]
        poster.close()
        return statuses

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for part in pool.map(post, [events[k::8] for k in range(8)]) for s in part]
    assert set(statuses) == {202}
    return len(events)


def _answer(label: int) -> bytes:
    return seldon_answer([[0.9 if k == label else 0.05 for k in range(3)]])


def _stored(running: Process, expected: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        written = sum(int(line.rsplit(" ", 1)[1]) for line in running.metrics().splitlines()
                      if line.startswith("modelops_collector_events_written_total{"))
        if written >= expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"the collector wrote fewer than {expected} events in 60 s")


def _rollout(root: Path, prom: str) -> dict[str, Any]:
    done = fixtures.run(root, "rollout", "--prometheus", prom, "-o", "json", timeout=180,
                        unset=("PROMETHEUS_URL", "GITHUB_API_URL", "GITHUB_REPOSITORY"))
    decisions = {d["model"]: d for d in json.loads(done.stdout)["decisions"]}
    return decisions["iris"]


def test_collector_compare_and_rollout_from_the_logger_urls_the_compile_wrote(
        repo: tuple[Path, Path, FakeGitHubPulls], tmp_path: Path) -> None:
    root, store, github = repo
    queries = _logger_queries(root)
    assert set(queries) == {"main", "shadow"}
    (tmp_path / "prometheus").mkdir()
    traffic = [Traffic("models", "iris", variant, 300, 0.0, 0.04) for variant in ("main", "shadow")]
    with prometheus(tmp_path / "prometheus", root / "generated", traffic) as prom, \
            collector(str(store), tmp_path / "spool", "--environment", "production",
                      "--flush-seconds", "0.1") as running:
        posted = _traffic(running, queries, 0, 600, agreement=0.97)
        _stored(running, posted)
        held = _rollout(root, prom)
        assert (held["action"], held["reason"]) == ("hold", "predictions: 600 paired of 1000 needed"), held
        assert not github.pulls

        posted += _traffic(running, queries, 600, 900, agreement=0.97)
        _stored(running, posted)
        done = fixtures.run(root, "compare", "iris", "--env", "production", "-o", "json", timeout=120)
        comparison = json.loads(done.stdout)["comparison"]
        assert comparison["pairs"] == 1500 and comparison["statistics"]["agreement"] > 0.95, comparison

        advanced = _rollout(root, prom)
    assert (advanced["action"], advanced["target"]) == ("advance", "canary 10%"), advanced
    body = github.pulls[advanced["pull_request"]["pull_request"]["number"]]["body"]
    assert "#### Predictions (the collector's store)" in body
    assert "| gate agreement | pass: agreement 0." in body
