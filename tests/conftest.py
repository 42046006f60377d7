"""Shared fixtures: the bundled CRD schema folder and a factory for throwaway modelops repos."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from modelops.compile.emit.schemas import BUNDLED

CONFIG = """\
environments:
  staging:
    namespace: models-staging
    target: seldon-v1
  production:
    namespace: models
    target: seldon-v1
defaults:
  resources:
    requests: {cpu: 100m, memory: 256Mi}
    limits: {memory: 1Gi}
teams:
  risk:
    reviewers: ["@acme/risk-ds"]
  search:
    reviewers: ["@acme/search-ml"]
policy:
  allowed_schemes: [s3, gs]
  allowed_buckets: ["s3://acme-models/", "gs://acme-models/"]
  max_replicas: 20
"""

RepoFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The CRD schemas modelops ships (read-only), for tests that pass a folder explicitly."""
    return BUNDLED / "crds"


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory) -> RepoFactory:
    """Factory: `repo({"iris.yaml": "name: iris ..."}, config=None)` -> root of a fresh repo.

    Model texts are dedented and written into models/ in the given order; `config` replaces
    the default modelops.yaml text (staging + production, teams risk/search, s3/gs policy).
    """

    def make(models: dict[str, str] | None = None, config: str | None = None) -> Path:
        root = tmp_path_factory.mktemp("repo")
        (root / "modelops.yaml").write_text(
            textwrap.dedent(config) if config is not None else CONFIG, encoding="utf-8"
        )
        (root / "models").mkdir()
        for name, text in (models or {}).items():
            (root / "models" / name).write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return make


# Real MLflow (session-wide SQLite template and `mlflow server`) for the promotion tests.
from support.mlflow_fixtures import mlflow_server, mlflow_template  # noqa: E402, F401
