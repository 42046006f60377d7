"""`modelops diff`: what a change does to the cluster, read from real git history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from modelops.compile.emit.tree import header, to_documents
from modelops.review.changes import MARKER, review
from support.fake_github import FakeGitHub
from support.fixtures import CRD_DIR, copy_example_repo, edit, git, run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example_repo(tmp_path / "repo")


def commit_compiled(repo: Path, message: str) -> None:
    done = run(repo, "compile", crd_dir=CRD_DIR)
    assert done.returncode == 0, done.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def review_json(repo: Path, *refs: str) -> list[dict]:
    done = run(repo, "diff", *refs, "--format", "json", crd_dir=CRD_DIR)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["changes"]


def test_version_bump_and_canary_traffic_are_explained(repo: Path) -> None:
    model = repo / "models" / "eta-courier.yaml"
    edit(model, "main: {weight: 90}", "main: {weight: 80}")
    edit(model, "        weight: 10\n", "        weight: 20\n")
    edit(model, "uri: s3://acme-models/eta-courier/11", "uri: s3://acme-models/eta-courier/12")
    edit(model, "mlflow: {model: eta-courier, version: 11}", "mlflow: {model: eta-courier, version: 12}")
    commit_compiled(repo, "eta 12 everywhere")

    changes = {(c["environment"], c["model"]): c for c in review_json(repo, "HEAD~1", "HEAD")}
    production = changes[("production", "eta-courier")]
    assert production["status"] == "changed"
    assert "main: version 11 -> 12" in production["details"]
    assert "main: traffic 90% -> 80%" in production["details"]
    assert "canary: traffic 10% -> 20%" in production["details"]
    # staging already ran version 12 through its own override: nothing changes there
    assert ("staging", "eta-courier") not in changes


def test_a_release_changes_only_the_serving_object(repo: Path) -> None:
    model = repo / "models" / "iris-classifier.yaml"
    edit(model, "uri: s3://acme-models/iris-classifier/v3", "uri: s3://acme-models/iris-classifier/v4")
    edit(model, "mlflow: {model: iris-classifier, version: 3}",
         "mlflow: {model: iris-classifier, version: 4}")
    commit_compiled(repo, "iris 4")

    changes = review_json(repo, "HEAD~1", "HEAD")
    assert changes and all(c["model"] == "iris-classifier" for c in changes)
    for change in changes:  # no "ServiceMonitor changed", "PrometheusRule changed", ...
        assert [d for d in change["details"] if "changed" in d] == [], change
        assert any("version 3 -> 4" in d for d in change["details"]), change


def test_added_and_removed_models(repo: Path) -> None:
    (repo / "models" / "iris-classifier.yaml").unlink()
    text = (repo / "models" / "eta-courier.yaml").read_text().replace("eta-courier", "eta-bike")
    (repo / "models" / "eta-bike.yaml").write_text(text)
    commit_compiled(repo, "swap models")

    changes = {(c["environment"], c["model"]): c for c in review_json(repo, "HEAD~1", "HEAD")}
    assert changes[("production", "iris-classifier")]["status"] == "removed"
    assert changes[("staging", "iris-classifier")]["status"] == "removed"
    added = changes[("production", "eta-bike")]
    assert added["status"] == "added"
    assert "variant canary (version 12, 10%)" in added["details"]


def test_shadow_added_replicas_and_monitoring(repo: Path) -> None:
    iris = repo / "models" / "iris-classifier.yaml"
    iris.write_text(iris.read_text().replace("replicas: 2", "replicas: 4") + (
        "environments:\n"
        "  staging:\n"
        "    monitoring: {interval: 1m}\n"
        "    traffic:\n"
        "      main: {}\n"
        "      candidate:\n"
        "        shadow: true\n"
        "        artifact: {uri: s3://acme-models/iris-classifier/v4}\n"
        "  production: {}\n"
    ))
    commit_compiled(repo, "iris shadow")

    changes = {(c["environment"], c["model"]): c for c in review_json(repo, "HEAD~1", "HEAD")}
    staging = changes[("staging", "iris-classifier")]["details"]
    assert any(d.startswith("shadow candidate added") for d in staging)
    assert "main: replicas 2 -> 4" in staging
    assert "ServiceMonitor changed (scrape interval 30s -> 1m)" in staging
    production = changes[("production", "iris-classifier")]["details"]
    assert production == ["main: replicas 2 -> 4"]


def test_working_tree_is_compared_without_compiling(repo: Path) -> None:
    edit(repo / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 3")
    changes = review_json(repo, "HEAD")
    assert {c["environment"] for c in changes} == {"staging", "production", "edge"}
    assert run(repo, "compile", "--check", crd_dir=CRD_DIR).returncode == 1


def test_markdown_has_summary_table_and_folded_yaml(repo: Path) -> None:
    edit(repo / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 3")
    commit_compiled(repo, "more iris")
    done = run(repo, "diff", "HEAD~1", "HEAD", "--format", "markdown", crd_dir=CRD_DIR)
    text = done.stdout
    assert text.startswith(MARKER)
    assert "| production | iris-classifier | changed | main: replicas 2 -> 3 |" in text
    assert text.index("| environment |") < text.index("<details>")
    assert "```diff" in text and "-    replicas: 2" in text and "+    replicas: 3" in text


@pytest.mark.slow
def test_no_change_and_exit_code(repo: Path) -> None:
    assert run(repo, "diff", "HEAD", "--exit-code", crd_dir=CRD_DIR).returncode == 0
    edit(repo / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 3")
    assert run(repo, "diff", "HEAD", "--exit-code", crd_dir=CRD_DIR).returncode == 1


def test_unknown_ref_is_one_line_error(repo: Path) -> None:
    done = run(repo, "diff", "no-such-branch", crd_dir=CRD_DIR)
    assert done.returncode == 1
    assert done.stderr == (".:1:1: MO020 unknown git revision 'no-such-branch': give a branch, tag or "
                           "commit (fetch it first in CI)\n")


@pytest.mark.slow
def test_pr_comment_is_created_once_then_updated(repo: Path) -> None:
    edit(repo / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 3")
    commit_compiled(repo, "more iris")
    with FakeGitHub() as github:
        github.add_comment(7, "LGTM from a human")
        env = {"GITHUB_TOKEN": "test-token", "GITHUB_REPOSITORY": "acme/models",
               "GITHUB_API_URL": github.url}
        first = run(repo, "diff", "HEAD~1", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
        assert first.returncode == 0, first.stderr
        assert "created the review comment on acme/models#7" in first.stderr

        edit(repo / "models" / "iris-classifier.yaml", "replicas: 3", "replicas: 5")
        commit_compiled(repo, "even more iris")
        second = run(repo, "diff", "HEAD~2", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
        assert second.returncode == 0, second.stderr
        assert "updated the review comment" in second.stderr

        posts = [r for r in github.requests if r[0] == "POST"]
        patches = [r for r in github.requests if r[0] == "PATCH"]
        assert len(posts) == 1 and len(patches) == 1
        ours = [c for c in github.comments.values() if MARKER in c["body"]]
        assert len(ours) == 1 and "replicas 2 -> 5" in ours[0]["body"]
        assert github.comments[1]["body"] == "LGTM from a human"


@pytest.mark.slow
def test_pr_comment_survives_a_github_hiccup_and_reports_an_outage_in_one_line(repo: Path) -> None:
    with FakeGitHub() as github:
        env = {"GITHUB_TOKEN": "test-token", "GITHUB_REPOSITORY": "acme/models", "GITHUB_API_URL": github.url}
        github.fail("POST", r"/repos/acme/models/issues/7/comments", 502)
        done = run(repo, "diff", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
        assert done.returncode == 0, done.stderr
        assert len([c for c in github.comments.values() if MARKER in c["body"]]) == 1

        github.fail("GET", r"/repos/acme/models", 503, times=10)
        down = run(repo, "diff", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
        assert down.returncode == 1 and "Traceback" not in down.stderr
        assert re.fullmatch(r"waiting 4 s for GitHub to recover from HTTP 503 \(acme/models#7\)\n"
                            r"\.:1:1: MO031 GitHub API at http://127\.0\.0\.1:\d+ is unreachable or failing "
                            r"\(retried 3 times\): .*503.*\n", down.stderr), down.stderr


@pytest.mark.slow
def test_refused_comment_goes_to_the_job_summary(repo: Path, tmp_path: Path) -> None:
    """A pull request from a fork gets a read-only token: the check stays green, the review is in
    the job summary."""
    edit(repo / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 3")
    commit_compiled(repo, "more iris")
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    with FakeGitHub() as github:
        github.fail("POST", r"/repos/acme/models/issues/7/comments", 403,
                    message="Resource not accessible by integration")
        env = {"GITHUB_TOKEN": "read-only", "GITHUB_REPOSITORY": "acme/models", "GITHUB_API_URL": github.url,
               "GITHUB_STEP_SUMMARY": str(summary)}
        done = run(repo, "diff", "HEAD~1", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
        assert github.comments == {}
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        "GitHub refused the comment on acme/models#7 (403, a read-only token, as for pull requests "
        "from forks): the review is in the job summary"]
    text = summary.read_text()
    assert text.startswith("earlier step\n" + MARKER) and "replicas 2 -> 3" in text


@pytest.mark.slow
def test_refused_comment_without_a_job_summary_is_one_line_error(repo: Path) -> None:
    with FakeGitHub() as github:
        github.fail("POST", r"/repos/acme/models/issues/7/comments", 403,
                    message="Resource not accessible by integration")
        env = {"GITHUB_TOKEN": "read-only", "GITHUB_REPOSITORY": "acme/models", "GITHUB_API_URL": github.url,
               "GITHUB_STEP_SUMMARY": ""}
        done = run(repo, "diff", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
    assert done.returncode == 1
    assert done.stderr == (".:1:1: MO031 GitHub answered 403: Resource not accessible by integration for "
                           "acme/models#7: the token may not comment\n")


def test_pr_comment_needs_a_token(repo: Path) -> None:
    env = {"GITHUB_TOKEN": "", "GITHUB_REPOSITORY": "acme/models"}
    done = run(repo, "diff", "HEAD", "--comment", "7", crd_dir=CRD_DIR, env=env)
    assert done.returncode == 1
    assert done.stderr == ".:1:1: MO030 GITHUB_TOKEN is not set: cannot comment\n"


def test_objects_of_a_repeated_kind_are_told_apart_by_name() -> None:
    """Seldon Core 2 writes a Model per variant into the model's one file: without labels, each
    variant is told by its Model's name."""
    def model(name: str, uri: str) -> dict:
        return {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
                "metadata": {"name": name, "namespace": "models"}, "spec": {"storageUri": uri}}

    def tree(canary_uri: str) -> dict[str, str]:
        objects = [model("eta", "s3://m/1"), model("eta-canary", canary_uri)]
        return {"production/models/eta.yaml": header("models/eta.yaml") + to_documents(objects)}

    before, after = tree("s3://m/2"), tree("s3://m/3")
    [change] = review(before, after).changes
    assert (change.env, change.namespace, change.model) == ("production", "models", "eta")
    assert change.status == "changed"
    assert change.details == ["eta-canary: model URI s3://m/2 -> s3://m/3"]


def test_a_diff_across_the_one_file_per_model_layout_shows_no_change() -> None:
    """Trees written before 0.2 had a folder per model and a file per object: same objects, no change."""
    sdep = {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
            "metadata": {"name": "eta", "namespace": "models"}, "spec": {"predictors": []}}
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "eta-metrics", "namespace": "models"}}
    before = {"production/models/eta/seldondeployment.yaml": header("models/eta.yaml") + to_documents([sdep]),
              "production/models/eta/service.yaml": header("models/eta.yaml") + to_documents([service])}
    after = {"production/models/eta.yaml": header("models/eta.yaml") + to_documents([sdep, service])}
    assert review(before, after).changes == []
    service["spec"] = {"clusterIP": "None"}
    after = {"production/models/eta.yaml": header("models/eta.yaml") + to_documents([sdep, service])}
    [change] = review(before, after).changes
    assert (change.model, change.status, change.details) == ("eta", "changed", ["Service changed"])


def test_gitops_files_are_not_models_and_any_model_name_is() -> None:
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "models-production", "namespace": "argocd"}, "spec": {"x": 1}}
    model = {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "kustomization", "namespace": "models"}}
    before = {"_gitops/production/application.yaml": to_documents([app])}
    after = {"_gitops/production/application.yaml": to_documents([{**app, "spec": {"x": 2}}]),
             "production/models/kustomization.yaml": to_documents([model])}
    assert [(c.env, c.model, c.status) for c in review(before, after).changes] == [
        ("production", "kustomization", "added")]


# --- Seldon Core 2 and KServe: the same explanations, read from each target's objects -------------

PLATFORMS = """\
environments:
  core2: {namespace: models-core2, target: seldon-v2}
  standard: {namespace: models-edge, target: kserve, kserve_mode: Standard}
  serverless: {namespace: models-knative, target: kserve, kserve_mode: Serverless}
teams:
  logistics: {reviewers: ["@acme/logistics-ds"]}
"""

ETA = """\
name: eta
team: logistics
framework: xgboost
artifact: {uri: s3://acme-models/eta/7, mlflow: {model: eta, version: 7}}
traffic:
  main: {weight: 80}
  canary:
    weight: 20
    artifact: {uri: s3://acme-models/eta/8, mlflow: {model: eta, version: 8}}
"""


@pytest.fixture
def platforms(tmp_path: Path) -> Path:
    """A repo whose one model runs on Seldon Core 2, KServe Standard and KServe Serverless."""
    root = copy_example_repo(tmp_path / "platforms")
    (root / "modelops.yaml").write_text(PLATFORMS)
    for model in (root / "models").iterdir():
        model.unlink()
    (root / "models" / "eta.yaml").write_text(ETA)
    commit_compiled(root, "eta on every platform")
    return root


def test_canary_version_and_weight_change_on_core2_and_kserve(platforms: Path) -> None:
    model = platforms / "models" / "eta.yaml"
    edit(model, "main: {weight: 80}", "main: {weight: 50}")
    edit(model, "weight: 20", "weight: 50")
    edit(model, "eta/8, mlflow: {model: eta, version: 8}", "eta/9, mlflow: {model: eta, version: 9}")
    commit_compiled(platforms, "eta 9 at half the traffic")

    changes = {c["environment"]: c["details"] for c in review_json(platforms, "HEAD~1", "HEAD")}
    for env in ("core2", "standard", "serverless"):
        assert changes[env][:4] == [
            "main: traffic 80% -> 50%",
            "canary: version 8 -> 9",
            "canary: traffic 20% -> 50%",
            "canary: model URI s3://acme-models/eta/8 -> s3://acme-models/eta/9",
        ], env
        # the Models, the Experiment and the InferenceService are explained above, not listed
        assert not any(d.startswith(("Model", "Experiment", "InferenceService")) for d in changes[env])


def test_core2_shadow_added(platforms: Path) -> None:
    (platforms / "models" / "eta.yaml").write_text(ETA + (
        "environments:\n"
        "  core2:\n"
        "    traffic:\n"
        "      main: {weight: 80}\n"
        "      canary:\n"
        "        weight: 20\n"
        "        artifact: {uri: s3://acme-models/eta/8, mlflow: {model: eta, version: 8}}\n"
        "      challenger:\n"
        "        shadow: true\n"
        "        artifact: {uri: s3://acme-models/eta/10, mlflow: {model: eta, version: 10}}\n"
        "  standard: {}\n"
        "  serverless: {}\n"
    ))
    commit_compiled(platforms, "eta 10 in the shadow on core2")

    changes = {c["environment"]: c["details"] for c in review_json(platforms, "HEAD~1", "HEAD")}
    assert set(changes) == {"core2"}
    assert changes["core2"][0] == "shadow challenger added (version 10, shadow)"
    assert "PodMonitor changed" in changes["core2"]  # it now keeps the shadow's series too
    assert not any(d.startswith(("main:", "canary:", "Model", "Experiment")) for d in changes["core2"])


@pytest.mark.slow
def test_kserve_serverless_canary_added_over_the_rolled_out_main(platforms: Path) -> None:
    model = platforms / "models" / "eta.yaml"
    alone = "environments:\n  serverless: {traffic: {main: {}}}\n  core2: {}\n  standard: {}\n"
    model.write_text(ETA + alone)
    commit_compiled(platforms, "serverless runs main alone")
    model.write_text(ETA)
    commit_compiled(platforms, "canary on serverless")

    [change] = review_json(platforms, "HEAD~1", "HEAD")
    assert change["environment"] == "serverless"
    # the InferenceService now describes the canary; main is the revision KServe keeps running
    assert change["details"] == ["main: traffic 100% -> 80%", "variant canary added (version 8, 20%)"]


def test_core2_experiment_weights_are_relative() -> None:
    """An Experiment's candidate weights need not sum to 100: Core 2 splits by weight / sum."""
    def model(name: str, variant: str, version: str) -> dict:
        return {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
                "metadata": {"name": name, "namespace": "models",
                             "labels": {"modelops.io/variant": variant, "modelops.io/version": version}},
                "spec": {"storageUri": f"s3://m/{version}", "replicas": 1}}

    def tree(canary_weight: int) -> dict[str, str]:
        experiment = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment",
                      "metadata": {"name": "eta-experiment", "namespace": "models"},
                      "spec": {"default": "eta", "candidates": [
                          {"name": "eta", "weight": 3}, {"name": "eta-canary", "weight": canary_weight}]}}
        objects = [model("eta", "main", "1"), model("eta-canary", "canary", "2"), experiment]
        return {"production/models/eta.yaml": header("models/eta.yaml") + to_documents(objects)}

    [change] = review(tree(1), tree(3)).changes
    assert change.details == ["main: traffic 75% -> 50%", "canary: traffic 25% -> 50%"]
    [added] = review({}, tree(6)).changes
    assert added.details == ["variant main (version 1, 33.3%)", "variant canary (version 2, 66.7%)"]


def test_a_model_moved_to_another_target_says_so(platforms: Path) -> None:
    edit(platforms / "modelops.yaml", "target: seldon-v2", "target: kserve")
    commit_compiled(platforms, "core2 environment moves to KServe")

    [change] = review_json(platforms, "HEAD~1", "HEAD")
    assert change["environment"] == "core2"
    # the variants are the same; the Models and the Experiment gave way to an InferenceService
    assert change["details"][0] == "target seldon-v2 -> kserve"
    assert not any(d.startswith(("main:", "canary:", "Model", "Experiment", "InferenceService"))
                   for d in change["details"])


def test_the_terminal_table_shows_rich_markup_in_names_as_text(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from modelops.review.changes import ModelChange, Review, print_terminal

    monkeypatch.setenv("COLUMNS", "200")
    change = ModelChange("staging", "models", "[link=https://evil.example/]x[/link]", "added", ["[red]y"])
    print_terminal(Review([change], ""), show_diff=False)
    out = capsys.readouterr().out
    assert "[link=https://evil.example/]x[/link]" in out and "[red]y" in out
