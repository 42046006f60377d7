"""`modelops sync --wait` prints the plan and what it applied first, then waits (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from modelops.cli.main import cli
from support import sync_fixtures
from support.kmock_cluster import RunningServer
from support.sync_fixtures import available

root, server = sync_fixtures.root, sync_fixtures.server  # the fixtures these tests use


def _sync(root: Path, server: RunningServer, *args: str):
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")
    return CliRunner().invoke(cli, ["sync", "--env", "staging", "-C", str(root), "--kubeconfig",
                                    str(kubeconfig), "--context", "kmock", "--wait", *args])


def test_the_plan_and_the_changes_come_before_the_wait(root, server):
    server.handler.fill["SeldonDeployment"] = available
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
    server.handler.fill["SeldonDeployment"] = available
    result = _sync(root, server, "-o", "json")
    assert result.exit_code == 0, result.output
    envelope = json.loads(result.stdout)
    assert envelope["ready"] == ["iris"]
    assert "Waiting up to 600s" in result.stderr and "Plan for environment" not in result.stdout
