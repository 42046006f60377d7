"""For tests of `modelops sync`: a kmock API server, and a repository with one model, compiled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from modelops.cli.main import cli

from support.kmock_cluster import RunningServer

IRIS = {"iris.yaml": "name: iris\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/iris/1\n"}


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.stop()


@pytest.fixture
def root(repo: Any, crd_dir: Path) -> Path:
    """A repository with model iris in staging and production, compiled."""
    target: Path = repo(IRIS)
    result = CliRunner().invoke(cli, ["compile", "-C", str(target), "--crd-dir", str(crd_dir)])
    assert result.exit_code == 0, result.output
    return target


def available(obj: dict[str, Any]) -> None:
    """A kmock fill: the SeldonDeployment reports itself ready."""
    obj["status"] = {"state": "Available"}
