"""`modelops sync --wait` prints the plan and what it applied first, then waits (issue 24)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from modelops.cli.main import cli
from support.kmock_cluster import RunningServer

MODELS = {"iris.yaml": "name: iris\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/iris/1\n"}


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.stop()


@pytest.fixture
def root(repo, crd_dir) -> Path:
    target = repo(MODELS)
    result = CliRunner().invoke(cli, ["compile", "-C", str(target), "--crd-dir", str(crd_dir)])
    assert result.exit_code == 0, result.output
    return target


def _available(obj: dict[str, Any]) -> None:
    obj["status"] = {"state": "Available"}


def _sync(root: Path, server: RunningServer, *args: str):
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")
    return CliRunner().invoke(cli, ["sync", "--env", "staging", "-C", str(root), "--kubeconfig",
                                    str(kubeconfig), "--context", "kmock", "--wait", *args])


def test_the_plan_and_the_changes_come_before_the_wait(root, server):
    server.handler.fill["SeldonDeployment"] = _available
    result = _sync(root, server)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    plan = lines.index("Plan for environment staging (namespaces: models-staging):")
    created = lines.index("created SeldonDeployment models-staging/iris")
    waiting = next(i for i, line in enumerate(lines) if line.startswith("Waiting up to 600s for 1 object"))
    ready = next(i for i, line in enumerate(lines) if line.startswith("ready    SeldonDeployment"))
    assert plan < created < waiting < ready
    assert lines[-1] == "Sync of staging complete: 5 change(s) made."  # with its monitoring


def test_json_output_keeps_stdout_for_the_envelope_and_waits_on_stderr(root, server):
    server.handler.fill["SeldonDeployment"] = _available
    result = _sync(root, server, "-o", "json")
    assert result.exit_code == 0, result.output
    envelope = json.loads(result.stdout)
    assert envelope["ready"] == ["iris"]
    assert "Waiting up to 600s" in result.stderr and "Plan for environment" not in result.stdout
