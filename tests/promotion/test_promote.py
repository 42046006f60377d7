"""`modelops promote` / `rollback`: real MLflow registry, real git with a bare origin, and a local
stand-in for the GitHub API."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from modelops.compile.spec import MlflowSettings
from modelops.diagnostics import UserError
from modelops.markdown import table as markdown_table
from modelops.promotion.edit import Pin, pin_text
from modelops.promotion.promote import Request, promote
from modelops.promotion.registry import (
    ModelVersion,
    RegistryError,
    flavor_problem,
    metric_rows,
    skops_problem,
    storage_uri,
)
from support import fixtures
from support.fake_github_pulls import FakeGitHubPulls
from support.generated_files import by_kind
from support.mlflow_fixtures import CONFIG, MODEL, MODEL_TEXT, Repo, git, make_repo
from support.promotion_fixtures import run

ENVS = ["production", "staging"]
SDEP = "generated/production/models/eta-courier.yaml"


def diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
            if not line.startswith(("---", "+++", "@@"))]


def predictors(text: str) -> dict[str, dict]:
    body = by_kind(text)["SeldonDeployment"]
    return {p["name"]: p for p in body["spec"]["predictors"]}


# --- editing the model file ---------------------------------------------------------------------

PIN = Pin("s3://acme-models/eta-courier/2", MODEL, 2)


def test_main_edit_changes_only_the_pinned_lines() -> None:
    after = pin_text(MODEL_TEXT, "production", ENVS, PIN, "main")
    assert diff(MODEL_TEXT, after) == [
        "+    artifact:",
        "+      uri: s3://acme-models/eta-courier/2",
        "+      mlflow: {model: eta-courier, version: 2}",
    ]
    # every original line, comments and odd spacing included, is still there byte for byte
    assert [line for line in after.splitlines() if line in MODEL_TEXT.splitlines()] == MODEL_TEXT.splitlines()


def test_canary_edit_writes_weights_and_keeps_comments() -> None:
    after = pin_text(MODEL_TEXT, "production", ENVS, PIN, "canary", 10)
    assert diff(MODEL_TEXT, after) == [
        "+    traffic:",
        "+      main: {weight: 90}",
        "+      canary:",
        "+        weight: 10",
        "+        artifact:",
        "+          uri: s3://acme-models/eta-courier/2",
        "+          mlflow: {model: eta-courier, version: 2}",
    ]
    again = pin_text(after, "production", ENVS, Pin("s3://acme-models/eta-courier/3", MODEL, 3), "canary", 20)
    assert diff(after, again) == [
        "-      main: {weight: 90}", "+      main: {weight: 80}",
        "-        weight: 10", "+        weight: 20",
        "-          uri: s3://acme-models/eta-courier/2",
        "-          mlflow: {model: eta-courier, version: 2}",
        "+          uri: s3://acme-models/eta-courier/3",
        "+          mlflow: {model: eta-courier, version: 3}",
    ]


def test_shadow_edit_and_canary_to_main() -> None:
    shadow = pin_text(MODEL_TEXT, "staging", ENVS, PIN, "shadow")
    spec = yaml.safe_load(shadow)["environments"]["staging"]
    assert spec["traffic"] == {"main": {}, "shadow": {"shadow": True, "artifact": {
        "uri": PIN.uri, "mlflow": {"model": MODEL, "version": 2}}}}
    canary = pin_text(MODEL_TEXT, "production", ENVS, PIN, "canary", 10)
    promoted = pin_text(canary, "production", ENVS, PIN, "main")
    traffic = yaml.safe_load(promoted)["environments"]["production"]["traffic"]
    assert traffic == {"main": {"artifact": {"uri": PIN.uri, "mlflow": {"model": MODEL, "version": 2}}}}
    assert "# production keeps the version pinned above" in promoted


def test_model_without_environments_keeps_running_everywhere() -> None:
    text = MODEL_TEXT.split("environments:")[0]
    after = pin_text(text, "production", ENVS, PIN, "main")
    assert yaml.safe_load(after)["environments"] == {
        "production": {"artifact": {"uri": PIN.uri, "mlflow": {"model": MODEL, "version": 2}}},
        "staging": {},
    }
    assert after.startswith(text)


def test_storage_uri_never_pins_registry_or_local_uris() -> None:
    settings = MlflowSettings(artifacts_destination="s3://acme-models/mlartifacts/")
    assert storage_uri("mlflow-artifacts:/eta/5/artifacts", settings) == "s3://acme-models/mlartifacts/eta/5/artifacts"
    assert storage_uri("mlflow-artifacts://mlflow.internal:5000/eta/5/artifacts/", settings) == (
        "s3://acme-models/mlartifacts/eta/5/artifacts")
    assert storage_uri("s3://acme-models/eta/1/", settings) == "s3://acme-models/eta/1"
    for uri, code in [("models:/eta/1", "MO504"), ("runs:/abc/model", "MO504"), ("/srv/model", "MO506"),
                      ("file:///srv/model", "MO506")]:
        with pytest.raises(RegistryError) as error:
            storage_uri(uri, settings)
        assert error.value.code == code
    with pytest.raises(RegistryError) as error:
        storage_uri("mlflow-artifacts:/eta/5", MlflowSettings())
    assert error.value.code == "MO505"


def test_skops_is_read_from_the_mlmodel_flavor() -> None:
    assert skops_problem("flavors:\n  sklearn: {serialization_format: skops}\n")
    assert skops_problem("flavors:\n  sklearn: {serialization_format: cloudpickle}\n") is None
    assert skops_problem("flavors:\n  xgboost: {model_format: json}\n") is None


def test_flavour_must_fit_the_framework() -> None:
    sklearn = "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {}\n"
    assert flavor_problem(sklearn, "sklearn") is None
    assert flavor_problem(sklearn, "mlflow") is None and flavor_problem(sklearn, "custom") is None
    assert flavor_problem(sklearn, "xgboost") == (
        "is an MLflow model of flavour python_function, sklearn, but the model file says framework: "
        "xgboost (needs xgboost): pin a version of that kind, or change framework")
    pyfunc = "flavors:\n  python_function: {loader_module: my.module}\n"
    assert "only framework mlflow or custom fits" in flavor_problem(pyfunc, "sklearn")
    assert flavor_problem(pyfunc, "mlflow") is None
    assert flavor_problem("flavors:\n  keras: {}\n", "tensorflow") is None


def test_metrics_side_by_side() -> None:
    current = ModelVersion(MODEL, 1, "s3://a/1", "r1", "s3://a/1", {"rmse": 3.0, "mae": 2.0})
    candidate = ModelVersion(MODEL, 2, "s3://a/2", "r2", "s3://a/2", {"rmse": 2.9, "r2": 0.8})
    assert markdown_table(metric_rows(current, candidate))[2:] == [
        "| mae | 2 | — | — |",
        "| r2 | — | 0.8 | — |",
        "| rmse | 3 | 2.9 | -0.1 |",
    ]


# --- promote against the embedded registry and a bare origin -------------------------------------

@pytest.mark.slow
def test_promote_canary_opens_a_pull_request(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    outcome = promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                      crd_dir=crd_dir)
    branch = "promote/eta-courier-production-v2-canary"
    assert outcome.state == "pushed" and outcome.branch == branch
    assert outcome.pull_request == {"action": "created", "number": 1,
                                    "url": "https://github.example/acme/models/pull/1"}
    # the user's checkout is untouched; the branch holds the edited model and the recompiled output
    assert repo.model().read_text() == MODEL_TEXT
    assert git(repo.root, "status", "--porcelain") == ""
    assert branch in repo.origin_branches()
    edited = repo.show(f"origin/{branch}", "models/eta-courier.yaml")
    assert diff(MODEL_TEXT, edited)[1] == "+      main: {weight: 90}"
    sdep = predictors(repo.show(f"origin/{branch}", SDEP))
    assert (sdep["main"]["traffic"], sdep["canary"]["traffic"]) == (90, 10)
    assert sdep["canary"]["graph"]["modelUri"] == "s3://acme-models/eta-courier/2"
    assert sdep["main"]["graph"]["modelUri"] == "s3://acme-models/eta-courier/1"
    assert "models:/" not in edited
    # the pull request: created once, with labels and a body reviewers can act on
    pull = github.pulls[1]
    assert (pull["head"], pull["base"]) == (branch, "main")
    assert pull["title"] == "Promote eta-courier v2 to production (canary, 10%)"
    assert pull["labels"] == ["env:production", "model:eta-courier", "team:logistics"]
    body = pull["body"]
    assert "| rmse | 3 | 2.9 | -0.1 |" in body
    assert "| metric | deployed (v1) | candidate (v2) | change |" in body
    assert "variant canary added" in body or "canary" in body
    assert "modelops rollback eta-courier --env production" in body
    assert "--from-canary" in body


@pytest.mark.slow
def test_promote_twice_updates_the_same_branch_and_pull_request(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    request = Request(MODEL, "production", version=2, role="canary", traffic=10)
    first = promote(repo.root, request, crd_dir=crd_dir)
    again = promote(repo.root, request, crd_dir=crd_dir)
    assert again.state == "unchanged" and again.commit == first.commit
    assert again.pull_request["action"] == "unchanged"
    wider = promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=25),
                    crd_dir=crd_dir)
    assert wider.state == "pushed" and wider.branch == first.branch
    assert wider.pull_request == {**first.pull_request, "action": "updated"}
    assert len(github.calls("POST", r"/repos/acme/models/pulls")) == 1
    assert len(github.calls("PATCH", r"/repos/acme/models/pulls/1")) == 1
    assert list(github.pulls) == [1]
    assert "(canary, 25%)" in github.pulls[1]["title"]
    assert "main: {weight: 75}" in repo.show(f"origin/{first.branch}", "models/eta-courier.yaml")


def test_promote_pins_the_storage_location_of_an_mlflow3_logged_model(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    outcome = promote(repo.root, Request(MODEL, "staging", version=6), crd_dir=crd_dir)
    staged = yaml.safe_load(repo.show(f"origin/{outcome.branch}", "models/eta-courier.yaml"))
    uri = staged["environments"]["staging"]["artifact"]["uri"]
    assert re.fullmatch(r"s3://acme-models/mlflow/eta/models/m-[0-9a-f]+/artifacts", uri)


def test_proxied_artifacts_are_pinned_under_the_configured_bucket(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    outcome = promote(repo.root, Request(MODEL, "staging", version=5), crd_dir=crd_dir)
    staged = yaml.safe_load(repo.show(f"origin/{outcome.branch}", "models/eta-courier.yaml"))
    assert staged["environments"]["staging"]["artifact"]["uri"] == (
        "s3://acme-models/mlartifacts/eta-courier/5/artifacts")


def test_proxied_artifacts_without_a_bucket_are_refused(tmp_path: Path, crd_dir: Path, mlflow_template: Path,
                                                        github: FakeGitHubPulls) -> None:
    config = CONFIG.replace("  artifacts_destination: s3://acme-models/mlartifacts\n", "")
    repo = make_repo(tmp_path, crd_dir, config=config, store=mlflow_template)
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "staging", version=5), crd_dir=crd_dir)
    [diagnostic] = error.value.diagnostics
    assert (diagnostic.path, diagnostic.line, diagnostic.code) == ("modelops.yaml", 16, "MO505")
    assert repo.origin_branches() == ["main"] and not github.requests


def test_local_path_is_refused_and_nothing_is_pushed(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", version=4), crd_dir=crd_dir)
    [diagnostic] = error.value.diagnostics
    assert diagnostic.code == "MO506" and "/srv/laptop/eta-courier/4 is a local path" in diagnostic.message
    assert repo.origin_branches() == ["main"]
    assert git(repo.root, "branch", "--list", "promote/*") == ""
    assert git(repo.root, "worktree", "list").count("\n") == 1
    assert not github.requests


def test_unknown_version_is_one_clear_error(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", alias="nope"), crd_dir=crd_dir)
    assert str(error.value.diagnostics[0]).startswith(
        "models/eta-courier.yaml:4:7: MO502 alias 'nope' of registered model 'eta-courier' not found")


# --- the command line (real subprocesses) ---------------------------------------------------------

@pytest.mark.slow
def test_cli_without_token_pushes_and_prints_the_compare_url(repo: Repo, crd_dir: Path) -> None:
    done = run(repo, "promote", MODEL, "--env", "production", "--alias", "challenger", "--as", "canary",
               "--traffic", "10", crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert "branch promote/eta-courier-production-v2-canary pushed" in done.stdout
    assert ("https://github.com/acme/models/compare/main...promote/eta-courier-production-v2-canary?expand=1"
            in done.stdout)
    assert "GITHUB_TOKEN is not set" in done.stderr
    assert "promote/eta-courier-production-v2-canary" in repo.origin_branches()


@pytest.mark.slow
def test_cli_mlflow_unreachable_is_one_line_and_exit_1(repo: Repo, crd_dir: Path) -> None:
    done = run(repo, "promote", MODEL, "--env", "production", "--version", "2", crd_dir=crd_dir,
               MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert re.fullmatch(r"models/eta-courier\.yaml:\d+:\d+: MO501 MLflow at http://127\.0\.0\.1:9 failed "
                        r"after 0 retries: .*", line), line
    assert repo.origin_branches() == ["main"]


def test_cli_usage_errors(repo: Repo, crd_dir: Path) -> None:
    done = run(repo, "promote", MODEL, "--env", "production", crd_dir=crd_dir)
    assert done.returncode == 2 and "exactly one of --version, --alias or --from-canary" in done.stderr


def test_importing_the_cli_does_not_import_mlflow_or_github() -> None:
    code = ("import sys, modelops.cli.main; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('mlflow', 'github', 'kubernetes', 'ruamel')]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the MLmodel flavor check through a real tracking server -------------------------------------

@pytest.mark.slow
def test_skops_model_is_refused_pickle_accepted(
        tmp_path: Path, crd_dir: Path, mlflow_server, github: FakeGitHubPulls,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    experiment = client.create_experiment("fraud")
    client.create_registered_model("fraud-sklearn")
    sources = {}
    for version, fmt in [(1, "skops"), (2, "cloudpickle")]:
        run = client.create_run(experiment).info
        folder = tmp_path / f"model-{version}"
        folder.mkdir()
        (folder / "MLmodel").write_text(
            f"flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: {fmt}\n"
            "    sklearn_version: 1.6.1\n")
        client.log_artifact(run.run_id, str(folder / "MLmodel"), artifact_path="model")  # via the server
        sources[version] = f"{run.artifact_uri}/model"
        client.create_model_version("fraud-sklearn", source=sources[version], run_id=run.run_id)
    assert sources[2].startswith("mlflow-artifacts:/")
    model = MODEL_TEXT.replace("framework: xgboost", "framework: sklearn").replace(
        "mlflow: {model: eta-courier, version: 1}", "mlflow: {model: fraud-sklearn, version: 2}")
    (tmp_path / "repo").mkdir()
    repo = make_repo(tmp_path / "repo", crd_dir, model=model)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", version=1), crd_dir=crd_dir)
    [diagnostic] = error.value.diagnostics
    assert diagnostic.code == "MO503"
    assert "fraud-sklearn version 1 is a scikit-learn model saved in the skops format" in diagnostic.message
    assert repo.origin_branches() == ["main"]

    (tmp_path / "xgb").mkdir()  # the same sklearn model pinned into a file that says xgboost
    xgb = make_repo(tmp_path / "xgb", crd_dir,
                    model=model.replace("framework: sklearn", "framework: xgboost"))
    with pytest.raises(UserError) as error:
        promote(xgb.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    assert [str(d) for d in error.value.diagnostics] == [
        "models/eta-courier.yaml:7:12: MO509 fraud-sklearn version 2 is an MLflow model of flavour sklearn, "
        "but the model file says framework: xgboost (needs xgboost): pin a version of that kind, or "
        "change framework"]
    assert xgb.origin_branches() == ["main"]

    outcome = promote(repo.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    assert not any("not checked" in note for note in outcome.notes)
    pinned = yaml.safe_load(repo.show(f"origin/{outcome.branch}", "models/eta-courier.yaml"))
    assert pinned["environments"]["production"]["artifact"] == {
        "uri": "s3://acme-models/mlartifacts/" + sources[2].removeprefix("mlflow-artifacts:/"),
        "mlflow": {"model": "fraud-sklearn", "version": 2}}
    assert f"{mlflow_server.url}/#/models/fraud-sklearn/versions/2" in github.pulls[1]["body"]


def test_a_github_hiccup_is_retried(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    """A 502 from GitHub while opening the pull request does not fail the promotion."""
    github.fail("POST", r"/repos/acme/models/pulls", 502)
    outcome = promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                      crd_dir=crd_dir)
    assert outcome.pull_request["action"] == "created"
    assert len(github.calls("POST", r"/repos/acme/models/pulls")) == 2
    assert list(github.pulls) == [1]


@pytest.mark.slow
def test_github_down_is_one_clear_error(repo: Repo, github: FakeGitHubPulls, crd_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    github.fail("GET", r"/repos/acme/models", 503, times=10)
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                crd_dir=crd_dir)
    (diagnostic,) = error.value.diagnostics
    assert "GitHub" in diagnostic.message and "503" in diagnostic.message, diagnostic.message
    # the backoff (0, 2, 4 s): the wait over a couple of seconds says what it waits for
    assert capsys.readouterr().err.splitlines() == [
        "waiting 4 s for GitHub to recover from HTTP 503 "
        "(acme/models (branch promote/eta-courier-production-v2-canary))"]


def test_a_rate_limit_wait_says_so() -> None:
    from modelops.git.github import waiting_line

    assert waiting_line(30, 403, "promote eta-courier") == (
        "waiting 30 s for GitHub's rate limit to reset (promote eta-courier)")


# --- every promotion refusal is one line at the model file ---------------------------------------

def refusal(repo: Repo, request: Request, crd_dir: Path, *, push: bool = True) -> str:
    """The one diagnostic `promote` stops with; nothing reaches origin."""
    with pytest.raises(UserError) as error:
        promote(repo.root, request, push=push, crd_dir=crd_dir)
    (diagnostic,) = error.value.diagnostics
    assert repo.origin_branches() == ["main"]
    return str(diagnostic)


def test_model_missing_on_the_base_branch(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    assert refusal(repo, Request("eta-bike", "production", version=2), crd_dir) == (
        "models/eta-bike.yaml:1:1: MO510 no model 'eta-bike' on the base branch (models/eta-bike.yaml)")


def test_from_canary_without_a_canary(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    assert refusal(repo, Request(MODEL, "production", from_canary=True), crd_dir) == (
        "models/eta-courier.yaml:26:5: MO511 no canary with a pinned MLflow version runs in production")


def test_the_main_version_is_not_tried_again_as_a_canary(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    assert refusal(repo, Request(MODEL, "production", version=1, role="canary", traffic=10), crd_dir) == (
        "models/eta-courier.yaml:4:7: MO511 version 1 already runs as main in production: "
        "nothing to try as canary")


def test_an_alias_mlflow_refuses(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    store = (repo.root / ".mlflow" / "mlflow.db").resolve()
    assert refusal(repo, Request(MODEL, "production", alias="next one!"), crd_dir) == (
        f"models/eta-courier.yaml:4:7: MO508 MLflow at sqlite:///{store} refused alias 'next one!' of "
        "registered model 'eta-courier': Invalid alias name: 'next one!'. Names may only contain "
        "alphanumerics, underscores (_), and dashes (-).")


def test_without_mlflow_installed(repo: Repo, github: FakeGitHubPulls, crd_dir: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)  # what `import` meets without mlflow
    assert refusal(repo, Request(MODEL, "production", version=2), crd_dir) == (
        "models/eta-courier.yaml:4:7: MO507 cannot import mlflow (import of mlflow.tracking halted; "
        "None in sys.modules): install mlflow-skinny")


def test_no_remote_to_push_to(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    git(repo.root, "remote", "remove", "origin")
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    assert [str(d) for d in error.value.diagnostics] == [
        ".:1:1: MO512 no git remote 'origin' to push to: add it, set git.remote in modelops.yaml, "
        "or use --no-push"]
    assert not github.requests


def test_repository_unknown_without_github_repository(
        tmp_path: Path, crd_dir: Path, mlflow_template: Path, github: FakeGitHubPulls) -> None:
    config = CONFIG.replace("github:\n  repository: acme/models\n", "")
    repo = make_repo(tmp_path, crd_dir, config=config, store=mlflow_template)
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    assert [str(d) for d in error.value.diagnostics] == [
        ".:1:1: MO513 cannot tell the GitHub repository from the remote URL: set github.repository "
        "(owner/name) in modelops.yaml"]
    assert not github.pulls
    # checked before the push: the bare remote has no new branch, the clone no promotion branch
    assert repo.origin_branches() == ["main"]
    assert git(repo.root, "branch", "--list", "promote/*") == ""


# --- what CI sees of a promotion branch -----------------------------------------------------------

ROLLOUT_CONFIG = CONFIG.replace("  production:\n    namespace: models\n",
                                "  production:\n    namespace: models\n    rules: {require_rollout: true}\n")


@pytest.mark.slow
def test_promote_as_main_without_a_canary_fails_validate_in_ci(
        tmp_path: Path, crd_dir: Path, mlflow_template: Path, github: FakeGitHubPulls) -> None:
    """The branch `promote --as main` pushes, checked out and committed as CI sees it: MO405."""
    repo = make_repo(tmp_path, crd_dir, config=ROLLOUT_CONFIG, store=mlflow_template)
    outcome = promote(repo.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    git(repo.root, "checkout", "--quiet", outcome.branch)
    assert git(repo.root, "status", "--porcelain") == ""
    clean = ("BASE_REF", "GITHUB_BASE_REF", "GITHUB_TOKEN", "MLFLOW_TRACKING_URI")
    for env in ({}, {"GITHUB_BASE_REF": "main"}, {"BASE_REF": "origin/main"}):
        done = fixtures.run(repo.root, "validate", crd_dir=crd_dir, env=env, unset=clean)
        assert done.returncode == 1, (env, done.stdout, done.stderr)
        [line] = [line for line in done.stderr.splitlines() if ": MO" in line]
        assert re.fullmatch(r"models/eta-courier\.yaml:\d+:\d+: MO405 s3://acme-models/eta-courier/2 has not "
                            r"run as a canary or shadow in production yet: .*", line), done.stderr

    # the canary first: once it is merged, the same move to main passes
    git(repo.root, "checkout", "--quiet", "main")
    canary = promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                     crd_dir=crd_dir)
    git(repo.root, "push", "--quiet", "origin", f"{canary.commit}:refs/heads/main")
    main = promote(repo.root, Request(MODEL, "production", from_canary=True), crd_dir=crd_dir)
    git(repo.root, "checkout", "--quiet", main.branch)
    done = fixtures.run(repo.root, "validate", crd_dir=crd_dir, unset=clean)
    assert done.returncode == 0, done.stderr


def test_a_pre_receive_rejection_keeps_the_remote_s_reason(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    hook = repo.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'promotion branches need a change ticket (see CONTRIBUTING)' >&2\n"
                    "exit 1\n")
    hook.chmod(0o755)
    with pytest.raises(UserError) as error:
        promote(repo.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    [diagnostic] = error.value.diagnostics
    assert diagnostic.code == "MO020"
    assert "remote: promotion branches need a change ticket (see CONTRIBUTING)" in diagnostic.message
    assert "pre-receive hook declined" in diagnostic.message
    assert "\n" not in diagnostic.message and " | " in diagnostic.message
    assert repo.origin_branches() == ["main"] and not github.pulls


@pytest.mark.slow
def test_a_version_worse_on_the_model_s_metric_is_a_warning(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    outcome = promote(repo.root, Request(MODEL, "production", version=3, role="canary", traffic=10),
                      crd_dir=crd_dir)  # rmse 3.2 where version 1 runs with 3.0
    warning = ("version 3 is worse than the running version 1 on rmse (3.2 against 3, "
               "autoupdate.direction: minimize)")
    assert outcome.warnings == [warning] and outcome.state == "pushed"
    assert "> [!WARNING]\n> Version 3 is worse than the running version 1 on rmse" in github.pulls[1]["body"]
    better = promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                     crd_dir=crd_dir)
    assert better.warnings == []


def test_config_is_read_from_the_base_branch(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    """An uncommitted modelops.yaml edit does not shape the promotion: config and model file both come
    from origin/main."""
    config = repo.root / "modelops.yaml"
    config.write_text(config.read_text().replace("namespace: models\n", "namespace: models-dirty\n"))
    outcome = promote(repo.root, Request(MODEL, "production", version=2), crd_dir=crd_dir)
    files = git(repo.root, "ls-tree", "-r", "--name-only", f"origin/{outcome.branch}", "generated/").split()
    assert SDEP in files and not any("models-dirty" in f for f in files)
