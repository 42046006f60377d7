"""The promotion tests' shared fixtures: the example repository on the seeded MLflow registry, a fake
GitHub pull-request API with a token set, and the installed `modelops` run in that repository."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import fixtures
from support.fake_github_pulls import FakeGitHubPulls
from support.mlflow_fixtures import Repo, make_repo


@pytest.fixture
def repo(tmp_path: Path, crd_dir: Path, mlflow_template: Path) -> Repo:
    """The example repo with the seeded registry as its embedded store (no tracking URI set)."""
    return make_repo(tmp_path, crd_dir, store=mlflow_template)


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHubPulls]:
    """A fake GitHub (pull requests, labels, comments) with GITHUB_TOKEN and GITHUB_API_URL set."""
    with FakeGitHubPulls() as fake:
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
        yield fake


def run(repo: Repo, *args: str, crd_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`modelops *args` in the repository, without a token, tracking URI or GitHub settings."""
    return fixtures.run(repo.root, *args, crd_dir=crd_dir, env=env, timeout=120,
                        unset=("GITHUB_TOKEN", "MLFLOW_TRACKING_URI", "GITHUB_API_URL", "GITHUB_REPOSITORY"))
