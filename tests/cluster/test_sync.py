"""`modelops sync`, `drift` and `schemas pull` against kmock, asserting the requests sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from modelops.cli.main import cli
from support.generated_files import documents
from support.kmock_cluster import RunningServer

SDEP = "machinelearning.seldon.io/v1"
NS = "models-staging"
SELECTOR = "app.kubernetes.io/managed-by=modelops,modelops.io/environment=staging"
APPLY = "application/apply-patch+yaml"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.stop()


MODELS = {
    name: f"name: {name}\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/{name}/1\n"
    for name in ("churn-score", "eta-courier", "iris-classifier")
}


@pytest.fixture
def root(repo, crd_dir) -> Path:
    """A repository with three models in staging, compiled."""
    target = repo({f"{name}.yaml": text for name, text in MODELS.items()})
    result = CliRunner().invoke(cli, ["compile", "-C", str(target), "--crd-dir", str(crd_dir)])
    assert result.exit_code == 0, result.output
    return target


def count(root: Path, model: str = "") -> int:
    """Objects generated for staging (or for one model): the models' and the environment's shared ones."""
    folder = root / "generated" / "staging" / NS
    shared = folder.parent / "observability.yaml"
    files = [folder / f"{model}.yaml"] if model else [*sorted(folder.glob("*.yaml")), shared]
    return sum(len(documents(path.read_text())) for path in files)


def sync(root: Path, server: RunningServer, *args: str):
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")
    return CliRunner().invoke(cli, ["sync", "--env", "staging", "-C", str(root), "--kubeconfig",
                                    str(kubeconfig), "--context", "kmock", *args])


def run(root: Path, server: RunningServer, *args: str):
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")
    return CliRunner().invoke(cli, [*args, "-C", str(root), "--kubeconfig", str(kubeconfig),
                                    "--context", "kmock"])


def sent(server: RunningServer, method: str) -> list:
    return [r for r in server.requests if str(r.method.value).upper() == method]


def test_first_sync_applies_every_object_server_side(root, server):
    result = sync(root, server)
    assert result.exit_code == 0, result.output
    total = count(root)
    assert f"Plan: {total} to create, 0 to update, 0 unchanged, 0 to prune." in result.output
    patches = sent(server, "PATCH")
    assert len(patches) == total
    for request in patches:
        assert request.headers["Content-Type"] == APPLY
        assert request.params == {"fieldManager": "modelops"}  # no force, no dryRun
        assert request.headers["Authorization"] == "Bearer t0ken"  # the --context user, not the current one
    paths = {r.url.path for r in patches}
    assert f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/eta-courier" in paths
    assert f"/api/v1/namespaces/{NS}/services/eta-courier-metrics" in paths
    assert f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors/eta-courier" in paths
    live = server.get(SDEP, "seldondeployments", NS, "eta-courier")
    assert live["metadata"]["labels"]["modelops.io/environment"] == "staging"
    assert live["spec"]["predictors"][0]["graph"]["modelUri"] == "s3://acme-models/eta-courier/1"


def test_second_run_changes_nothing(root, server):
    assert sync(root, server).exit_code == 0
    server.clear()
    result = sync(root, server, "--prune")
    assert result.exit_code == 0, result.output
    assert f"Plan: 0 to create, 0 to update, {count(root)} unchanged, 0 to prune." in result.output
    assert sent(server, "PATCH") == [] and sent(server, "DELETE") == []


def test_server_dry_run_sends_dry_run_all_and_changes_nothing(root, server):
    result = sync(root, server, "--dry-run=server")
    assert result.exit_code == 0, result.output
    patches = sent(server, "PATCH")
    assert len(patches) == count(root)
    assert all(r.params.get("dryRun") == "All" and r.params["fieldManager"] == "modelops" for r in patches)
    assert server.get(SDEP, "seldondeployments", NS, "eta-courier") is None
    assert "nothing changed" in result.output


def test_429_is_retried_then_succeeds(root, server):
    path = f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/churn-score"
    server.handler.fail("PATCH", path, 429, 500)
    result = sync(root, server)
    assert result.exit_code == 0, result.output
    assert [r.url.path for r in sent(server, "PATCH")].count(path) == 3
    assert server.get(SDEP, "seldondeployments", NS, "churn-score") is not None


def test_retries_are_bounded(root, server):
    path = f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/churn-score"
    server.handler.fail("PATCH", path, 503, 503, 503)
    result = sync(root, server, "--max-retries", "1")
    assert result.exit_code == 1
    assert [r.url.path for r in sent(server, "PATCH")].count(path) == 2
    assert "MO704 SeldonDeployment models-staging/churn-score: apply failed after retries" in result.stderr


def test_other_api_errors_are_reported_as_they_are(root, server):
    """A 404 on apply (the SeldonDeployment CRD is not installed) is neither retried nor hidden."""
    path = f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/eta-courier"
    server.handler.fail("PATCH", path, (404, "the server could not find the requested resource"))
    result = sync(root, server)
    assert result.exit_code == 1
    assert [r.url.path for r in sent(server, "PATCH")].count(path) == 1
    assert [line for line in result.stderr.splitlines() if " MO7" in line] == [
        f"generated/staging/{NS}/eta-courier.yaml:2:1: MO705 SeldonDeployment {NS}/eta-courier: apply "
        "failed: 404 NotFound: the server could not find the requested resource"]


def test_an_error_points_at_the_line_where_its_object_starts(root, server):
    """Every model's objects share one file: the error names the line of the failing document."""
    path = f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors/eta-courier"
    server.handler.fail("PATCH", path, (422, "spec.endpoints: Invalid value"))
    result = sync(root, server)
    assert result.exit_code == 1
    lines = (root / "generated" / "staging" / NS / "eta-courier.yaml").read_text().splitlines()
    starts = lines.index("kind: ServiceMonitor")  # 1-based line of the apiVersion just above it
    assert starts > 2
    [error] = [line for line in result.stderr.splitlines() if " MO7" in line]
    expected = f"generated/staging/{NS}/eta-courier.yaml:{starts}:1: MO702 ServiceMonitor "
    assert error.startswith(expected), error


@pytest.mark.parametrize(("code", "expected"), [(422, "MO702"), (403, "MO703"), (409, "MO701")])
def test_one_failure_does_not_hide_the_others(root, server, code, expected):
    path = f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/eta-courier"
    server.handler.fail("PATCH", path, (code, "spec.predictors: Invalid value"))
    result = sync(root, server)
    assert result.exit_code == 1
    assert len(sent(server, "PATCH")) == count(root)  # every object was still tried
    assert server.get(SDEP, "seldondeployments", NS, "eta-courier") is None
    assert server.get(SDEP, "seldondeployments", NS, "churn-score") is not None
    errors = [line for line in result.stderr.splitlines() if " MO7" in line]
    assert errors == [line for line in errors if line.startswith(
        f"generated/staging/{NS}/eta-courier.yaml:2:1: {expected} ")]
    assert len(errors) == 1
    assert "created SeldonDeployment models-staging/churn-score" in result.output


def test_conflict_is_reported_and_force_takes_ownership(root, server):
    assert sync(root, server).exit_code == 0

    def hand_edit(obj):  # `kubectl edit` takes the field over from modelops
        obj["spec"]["predictors"][0]["traffic"] = 50
        obj["metadata"]["managedFields"].append({"manager": "kubectl-edit", "operation": "Update",
                                                 "fieldsV1": {"f:spec": {"f:predictors": {}}}})

    server.edit(SDEP, "seldondeployments", NS, "eta-courier", hand_edit)
    result = sync(root, server)
    assert result.exit_code == 1
    expected = "~ update    SeldonDeployment models-staging/eta-courier  (spec.predictors[0].traffic)"
    assert expected in result.output
    assert "MO701" in result.stderr and "--force-conflicts" in result.stderr
    server.clear()
    result = sync(root, server, "--force-conflicts")
    assert result.exit_code == 0, result.output
    assert [r.params for r in sent(server, "PATCH")] == [{"fieldManager": "modelops", "force": "true"}]
    assert server.get(SDEP, "seldondeployments", NS, "eta-courier")["spec"]["predictors"][0]["traffic"] == 100


def test_replicas_owned_by_an_autoscaler_do_not_flap(root, server):
    assert sync(root, server).exit_code == 0

    def autoscale(obj):  # an HPA scales through the scale subresource
        obj["spec"]["predictors"][0]["replicas"] = 5
        obj["metadata"]["managedFields"].append({
            "manager": "kube-controller-manager", "operation": "Update", "subresource": "scale",
            "fieldsV1": {"f:spec": {"f:predictors": {'k:{"name":"main"}': {"f:replicas": {}}}}}})

    server.edit(SDEP, "seldondeployments", NS, "eta-courier", autoscale)
    server.clear()
    result = sync(root, server)
    assert result.exit_code == 0, result.output
    assert "= unchanged SeldonDeployment models-staging/eta-courier" in result.output
    assert sent(server, "PATCH") == []
    drift = run(root, server, "drift", "--env", "staging", "--exit-code")
    assert drift.exit_code == 0, drift.output


def test_drift_shows_hand_edits_but_not_server_filled_fields(root, server):
    assert sync(root, server).exit_code == 0

    def slower(obj):
        obj["spec"]["endpoints"][0]["interval"] = "10s"

    server.edit("monitoring.coreos.com/v1", "servicemonitors", NS, "churn-score", slower)
    result = run(root, server, "drift", "--env", "staging", "--exit-code")
    assert result.exit_code == 1
    assert "ServiceMonitor models-staging/churn-score: differs" in result.output
    assert 'spec.endpoints[0].interval: live "10s", generated "30s"' in result.output
    assert "sessionAffinity" not in result.output and "status" not in result.output
    assert f"1 of {count(root)} object(s) drifted" in result.output
    assert len(sent(server, "PATCH")) == count(root)  # drift itself writes nothing


def _foreign(name: str, namespace: str = NS, **labels: str) -> dict:
    return {"apiVersion": SDEP, "kind": "SeldonDeployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": {"predictors": []}}


OWNED = {"app.kubernetes.io/managed-by": "modelops", "modelops.io/environment": "staging"}


@pytest.mark.parametrize("server_filters_labels", [True, False])
def test_prune_deletes_only_owned_objects_of_the_environment(root, server, server_filters_labels):
    assert sync(root, server).exit_code == 0
    server.handler.honour_selectors = server_filters_labels
    server.put(_foreign("retired", **OWNED), "seldondeployments")
    prod = {**OWNED, "modelops.io/environment": "production"}
    server.put(_foreign("prod-model", **prod), "seldondeployments")
    server.put(_foreign("hand-made"), "seldondeployments")
    server.put(_foreign("not-ours", **{**OWNED, "app.kubernetes.io/managed-by": "helm"}), "seldondeployments")
    server.put(_foreign("elsewhere", namespace="team-x", **OWNED), "seldondeployments")
    server.clear()
    result = sync(root, server, "--prune")
    assert result.exit_code == 0, result.output
    assert "- prune     SeldonDeployment models-staging/retired" in result.output
    deletes = sent(server, "DELETE")
    assert sorted(r.url.path for r in deletes) == [f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/retired"]
    assert all(r.data["preconditions"]["uid"] for r in deletes)  # never a newer object of the same name
    lists = [r for r in sent(server, "GET") if r.name is None]
    assert lists and all(r.params == {"labelSelector": SELECTOR} for r in lists)
    assert {r.namespace for r in lists} == {None}  # cluster-wide, by the ownership labels
    for name in ("prod-model", "hand-made", "not-ours"):
        assert server.get(SDEP, "seldondeployments", NS, name) is not None
    # the ownership labels on an object in a namespace staging does not own delete nothing (issue 27)
    assert server.get(SDEP, "seldondeployments", "team-x", "elsewhere") is not None


def test_prune_never_leaves_the_environments_namespaces(root, server):
    """Issue 27: a hand-made ConfigMap in kube-system carrying both ownership labels was deleted."""
    assert sync(root, server).exit_code == 0
    for namespace in ("kube-system", "default"):
        server.put({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "1"},
                    "metadata": {"name": "hand-made", "namespace": namespace, "labels": OWNED}}, "configmaps")
    server.put({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "1"},
                "metadata": {"name": "retired", "namespace": NS, "labels": OWNED}}, "configmaps")
    server.clear()
    result = sync(root, server, "--prune", "--prune-allow-all")
    assert result.exit_code == 0, result.output
    assert [r.url.path for r in sent(server, "DELETE")] == [f"/api/v1/namespaces/{NS}/configmaps/retired"]
    for namespace in ("kube-system", "default"):
        assert server.get("v1", "configmaps", namespace, "hand-made") is not None


def test_prune_spares_what_another_environment_sharing_the_namespace_generates(root, server):
    assert sync(root, server).exit_code == 0
    staging = root / "generated" / "staging" / NS / "iris-classifier.yaml"
    shared = root / "generated" / "production" / NS / "iris-classifier.yaml"
    shared.parent.mkdir(parents=True)
    shared.write_text(staging.read_text())  # production generates into staging's namespace
    staging.unlink()  # ... and staging drops the model
    server.clear()
    result = sync(root, server, "--prune", "--prune-allow-all")
    assert result.exit_code == 0, result.output
    assert sent(server, "DELETE") == []
    assert server.get(SDEP, "seldondeployments", NS, "iris-classifier") is not None


def test_a_model_moved_to_another_namespace_has_its_old_objects_pruned(root, server):
    assert sync(root, server).exit_code == 0
    old = root / "generated" / "staging" / NS / "churn-score.yaml"
    moved = root / "generated" / "staging" / "models-moved" / "churn-score.yaml"
    moved.parent.mkdir()
    moved.write_text(old.read_text().replace(f"namespace: {NS}", "namespace: models-moved"))
    old.unlink()
    server.clear()
    result = sync(root, server, "--prune", "--prune-allow-all")
    assert result.exit_code == 0, result.output
    assert server.get(SDEP, "seldondeployments", NS, "churn-score") is None
    assert server.get(SDEP, "seldondeployments", "models-moved", "churn-score") is not None
    gone = {r.url.path for r in sent(server, "DELETE")}
    assert f"/apis/{SDEP}/namespaces/{NS}/seldondeployments/churn-score" in gone
    assert all(f"/namespaces/{NS}/" in path for path in gone)


def test_prune_lists_each_known_namespace_when_cluster_wide_lists_are_forbidden(root, server):
    assert sync(root, server).exit_code == 0
    server.put(_foreign("retired", **OWNED), "seldondeployments")
    server.handler.fail("GET", f"/apis/{SDEP}/seldondeployments", 403)
    server.clear()
    result = sync(root, server, "--prune")
    assert result.exit_code == 0, result.output
    assert "- prune     SeldonDeployment models-staging/retired" in result.output
    spaces = {r.namespace for r in sent(server, "GET")
              if r.name is None and r.resource.plural == "seldondeployments"}
    assert spaces == {None, NS}  # cluster-wide, then each namespace staging owns


def test_prune_refuses_above_the_share_limit(root, server):
    assert sync(root, server).exit_code == 0
    total, gone = count(root), count(root, "churn-score") + count(root, "iris-classifier")
    for model in ("churn-score", "iris-classifier"):  # two of three models disappear from generated/
        (root / "generated" / "staging" / NS / f"{model}.yaml").unlink()
    server.clear()
    result = sync(root, server, "--prune")
    assert result.exit_code == 1
    assert f"MO706 refusing to prune {gone} of {total} objects ({gone / total:.0%} > 50%)" in result.stderr
    assert sent(server, "DELETE") == [] and sent(server, "PATCH") == []  # nothing at all changed
    result = sync(root, server, "--prune", "--prune-allow-all", "--dry-run=server")
    assert result.exit_code == 0, result.output
    assert len(sent(server, "DELETE")) == gone
    assert all(r.params == {"dryRun": "All"} for r in sent(server, "DELETE"))
    assert server.get(SDEP, "seldondeployments", NS, "churn-score") is not None
    result = sync(root, server, "--prune", "--prune-max-share", "0.7")
    assert result.exit_code == 0, result.output
    assert server.get(SDEP, "seldondeployments", NS, "churn-score") is None
    assert server.get(SDEP, "seldondeployments", NS, "eta-courier") is not None


def test_environment_synced_by_argocd_is_refused(root, server):
    config = (root / "modelops.yaml").read_text().replace(
        "    namespace: models-staging\n",
        "    namespace: models-staging\n    sync: argocd\n"
        "    gitops: {repo_url: https://git.example/m.git}\n", 1)
    (root / "modelops.yaml").write_text(config)
    result = sync(root, server)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "modelops.yaml:1:1: MO708 environment staging is synced by argocd, not by `modelops sync` "
        "(--dry-run=server and --plan-only still work)"]
    assert server.requests == []
    assert sync(root, server, "--dry-run=server").exit_code == 0


def test_a_hand_broken_generated_file_is_one_line_at_the_bad_document(root, server):
    """Nothing is applied, and the error names the line of the document that is not an object."""
    path = root / "generated" / "staging" / NS / "eta-courier.yaml"
    text = path.read_text()
    path.write_text(text + "---\njust a string\n")
    result = sync(root, server)
    assert result.exit_code == 1 and sent(server, "PATCH") == []
    line = len(text.splitlines()) + 2
    file = f"generated/staging/{NS}/eta-courier.yaml"
    assert result.stderr == f"{file}:{line}:1: MO709 not a Kubernetes object\n"
    path.write_text(text + "---\nkind: a: b\n")
    result = sync(root, server)
    assert result.exit_code == 1 and sent(server, "PATCH") == []
    assert result.stderr.startswith(f"{file}:{line}:")
    assert "not valid YAML" in result.stderr and len(result.stderr.splitlines()) == 1


def test_unreachable_cluster_is_one_line(root, server):
    kubeconfig = server.kubeconfig(root.parent / "kubeconfig")  # current context: nothing listens
    result = CliRunner().invoke(cli, ["sync", "--env", "staging", "-C", str(root), "--kubeconfig",
                                      str(kubeconfig), "--max-retries", "0"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and " MO707 cannot reach the API server" in lines[0]


def test_json_output(root, server):
    result = sync(root, server, "--output", "json", "--plan-only")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["ok"] and payload["done"] == []
    assert {c["action"] for c in payload["plan"]} == {"create"}
    assert sent(server, "PATCH") == []


def test_schemas_pull_writes_the_clusters_crd_schemas(root, server, crd_dir, monkeypatch):
    schema = json.loads((crd_dir / "seldondeployment-v1.json").read_text())
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "seldondeployments.machinelearning.seldon.io"},
           "spec": {"group": "machinelearning.seldon.io", "versions": [
               {"name": "v1alpha2", "schema": {"openAPIV3Schema": {"type": "object"}}},
               {"name": "v1", "schema": {"openAPIV3Schema": schema}}]}}
    server.put(crd, "customresourcedefinitions")
    result = run(root, server, "schemas", "pull")
    assert result.exit_code == 0, result.output
    assert "wrote schemas/crds/seldondeployment-v1.json" in result.output
    skipped = "skipped schemas/crds/servicemonitor.json: CRD servicemonitors.monitoring.coreos.com"
    assert skipped in result.output
    assert json.loads((root / "schemas" / "crds" / "seldondeployment-v1.json").read_text()) == schema
    assert sorted(p.name for p in (root / "schemas" / "crds").iterdir()) == ["seldondeployment-v1.json"]
    from modelops.compile.emit.schemas import SchemaSet

    monkeypatch.delenv("MODELOPS_CRD_DIR", raising=False)
    schemas = SchemaSet.find(None, root)  # the pulled kind from the repo, the others bundled
    assert schemas.source(("machinelearning.seldon.io/v1", "SeldonDeployment")).origin == "repo"
    assert schemas.source(("monitoring.coreos.com/v1", "ServiceMonitor")).origin == "bundled"
