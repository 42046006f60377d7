"""`cluster.sync.run`: plan -> apply -> wait from one SyncRequest, on the Project it is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelops.cluster.sync import Synced, SyncRequest, run
from modelops.compile.project import Project
from support import sync_fixtures
from support.kmock_cluster import RunningServer
from support.sync_fixtures import available

root, server = sync_fixtures.root, sync_fixtures.server  # the fixtures these tests use


def _request(root: Path, server: RunningServer, **options: Any) -> SyncRequest:
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")
    return SyncRequest("staging", kubeconfig=kubeconfig, context="kmock", **options)


def test_the_project_given_is_what_sync_reads(root, server):
    project = Project.load(root)
    (root / "modelops.yaml").unlink()  # loaded once, before: sync does not read it again
    synced = run(project, _request(root, server, prune=True))
    assert synced.applied and not synced.diagnostics
    assert {change.action for change in synced.plan.changes} == {"create"}
    assert synced.namespaces == ["models-staging"]


def test_plan_only_applies_nothing_and_waits_for_nothing(root, server):
    seen: list[Synced] = []
    synced = run(Project.load(root), _request(root, server, plan_only=True, wait=True),
                 on_applied=seen.append)
    assert seen == [synced]
    assert not synced.applied and synced.outcome.done == [] and synced.waited is None
    assert not [r for r in server.requests if str(r.method.value).upper() == "PATCH"]


def test_on_applied_sees_the_changes_before_the_wait_begins(root, server):
    server.handler.fill["SeldonDeployment"] = available
    events: list[str] = []
    synced = run(Project.load(root), _request(root, server, wait=True, timeout=30.0),
                 on_applied=lambda s: events.append(f"applied {len(s.outcome.done)}"),
                 progress=events.append)
    assert events[0] == "applied 5" and events[1].startswith("Waiting up to 30s for 1 object")
    assert synced.waited is not None and [d.obj["kind"] for d in synced.waited.ready] == ["SeldonDeployment"]
