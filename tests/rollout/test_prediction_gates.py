"""rollout judges a shadow by what it predicts: stored predictions (DuckDB over Parquet) gate the step
from shadow to canary, next to Prometheus; the pull request body carries the comparison table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import fixtures, prediction_store
from support.fake_github_pulls import FakeGitHubPulls
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


def model(name: str) -> str:
    return prediction_store.model("{task: classification, min_pairs: 1000, gates: {agreement: 0.95}}",
                                  name=name, per_environment=True)


MODELS = {name: model(name) for name in ("agreeing", "disagreeing", "unpaired")}
FAST = 0.04
TRAFFIC = [Traffic("models", name, variant, 300, 0.0, FAST)
           for name in MODELS for variant in ("main", "shadow")]


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("rules-repo")
    fixtures.make_repo(root, {f"{n}.yaml": t for n, t in MODELS.items()}, CONFIG.replace("STORE", "/tmp/x"))
    done = fixtures.run(root, "compile", timeout=120)
    assert done.returncode == 0, done.stderr
    with prometheus(tmp_path_factory.mktemp("prometheus"), root / "generated", TRAFFIC) as url:
        yield url


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FakeGitHubPulls]]:
    with FakeGitHubPulls() as github:
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        store, root = tmp_path / "store", tmp_path / "repo"
        fixtures.make_repo(root, {f"{n}.yaml": t for n, t in MODELS.items()},
                           CONFIG.replace("STORE", str(store)).replace("GITHUB_API", github.url),
                           origin=tmp_path / "origin.git", before_commit=_compiled)
        prediction_store.classified_traffic(store, "agreeing", 5000, 0.97)
        prediction_store.classified_traffic(store, "disagreeing", 5000, 0.80)
        prediction_store.classified_traffic(store, "unpaired", 400, 1.0, unpaired=4600)
        yield root, github


def _compiled(root: Path) -> None:
    done = fixtures.run(root, "compile", timeout=120)
    assert done.returncode == 0, done.stderr


def _decisions(root: Path, prom: str) -> dict[str, dict[str, Any]]:
    done = fixtures.run(root, "rollout", "--prometheus", prom, "-o", "json", timeout=180,
                        unset=("PROMETHEUS_URL", "GITHUB_API_URL", "GITHUB_REPOSITORY"))
    return {d["model"]: d for d in json.loads(done.stdout)["decisions"]}


def test_predictions_gate_the_shadow(repo: tuple[Path, FakeGitHubPulls], prom: str) -> None:
    root, github = repo
    found = _decisions(root, prom)
    agreeing = found["agreeing"]
    assert (agreeing["action"], agreeing["target"]) == ("advance", "canary 10%"), agreeing
    body = github.pulls[agreeing["pull_request"]["pull_request"]["number"]]["body"]
    assert "#### Predictions (the collector's store)" in body
    assert "| gate agreement | pass: agreement 0.97, needs >= 0.95 |" in body

    disagreeing = found["disagreeing"]
    assert (disagreeing["action"], disagreeing["reason"]) == (
        "hold", "predictions: agreement 0.8, needs >= 0.95"), disagreeing
    assert disagreeing["pull_request"] is None
    assert disagreeing["comparison"]["statistics"]["agreement"] == pytest.approx(0.80)

    unpaired = found["unpaired"]  # calls without Seldon-Puid pair nothing: coverage, not disagreement
    assert (unpaired["action"], unpaired["reason"]) == ("hold", "predictions: 400 paired of 1000 needed")
    assert unpaired["comparison"]["unpaired"]["shadow"] == 4600
    assert len(github.pulls) == 1
