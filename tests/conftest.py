"""Shared fixtures: the bundled CRD schema folder and `repo`, a factory for throwaway modelops repos."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from modelops.compile.emit.schemas import BUNDLED
from support.fixtures import CONFIG, make_repo

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
        return make_repo(
            tmp_path_factory.mktemp("repo"),
            {name: textwrap.dedent(text) for name, text in (models or {}).items()},
            textwrap.dedent(config) if config is not None else CONFIG,
        )

    return make


# Real MLflow (session-wide SQLite template and `mlflow server`) for the promotion tests.
from support.mlflow_fixtures import mlflow_server, mlflow_template  # noqa: E402, F401
