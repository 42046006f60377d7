"""`modelops rollback`: abort a running canary or shadow, or move main back to the artifact the git
history shows it ran before, against the embedded registry and a bare origin."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from modelops.diagnostics import UserError
from modelops.promotion.promote import Request, promote
from modelops.promotion.rollback import rollback
from support.fake_github_pulls import FakeGitHubPulls
from support.generated_files import by_kind
from support.mlflow_fixtures import MODEL, Repo, git
from support.promotion_fixtures import run

SDEP = "generated/production/models/eta-courier.yaml"


def predictors(text: str) -> dict[str, dict]:
    body = by_kind(text)["SeldonDeployment"]
    return {p["name"]: p for p in body["spec"]["predictors"]}


@pytest.mark.slow
def test_canary_to_main_then_rollback(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    canary = promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                     crd_dir=crd_dir)
    git(repo.root, "push", "--quiet", "origin", f"{canary.commit}:refs/heads/main")  # "merge" it
    main = promote(repo.root, Request(MODEL, "production", from_canary=True), crd_dir=crd_dir)
    assert main.branch == "promote/eta-courier-production-v2" and main.version == 2
    edited = yaml.safe_load(repo.show(f"origin/{main.branch}", "models/eta-courier.yaml"))
    assert edited["environments"]["production"]["traffic"] == {
        "main": {"artifact": {"uri": "s3://acme-models/eta-courier/2",
                              "mlflow": {"model": MODEL, "version": 2}}}}
    assert list(predictors(repo.show(f"origin/{main.branch}", SDEP))) == ["main"]
    git(repo.root, "push", "--quiet", "origin", f"{main.commit}:refs/heads/main")

    back = rollback(repo.root, MODEL, "production", crd_dir=crd_dir)
    assert back.branch == "rollback/eta-courier-production-v1" and back.version == 1
    sdep = predictors(repo.show(f"origin/{back.branch}", SDEP))
    assert sdep["main"]["graph"]["modelUri"] == "s3://acme-models/eta-courier/1"
    assert "rollback" in github.pulls[3]["labels"]
    assert github.pulls[3]["title"] == "Roll back eta-courier in production to version 1"


def test_rollback_without_an_earlier_artifact(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    with pytest.raises(UserError) as error:
        rollback(repo.root, MODEL, "production", crd_dir=crd_dir)
    assert [str(d) for d in error.value.diagnostics] == [
        "models/eta-courier.yaml:4:7: MO514 the git history of models/eta-courier.yaml shows no earlier "
        "artifact for production's main variant"]
    assert repo.origin_branches() == ["main"] and not github.requests


@pytest.mark.slow
def test_rollback_during_a_canary_aborts_it_and_main_stays(
        repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    def merge(outcome) -> None:
        git(repo.root, "push", "--quiet", "origin", f"{outcome.commit}:refs/heads/main")

    merge(promote(repo.root, Request(MODEL, "production", version=2, role="canary", traffic=10),
                  crd_dir=crd_dir))
    merge(promote(repo.root, Request(MODEL, "production", from_canary=True), crd_dir=crd_dir))
    merge(promote(repo.root, Request(MODEL, "production", version=3, role="canary", traffic=20),
                  crd_dir=crd_dir))  # main v2, canary v3 at 20 %

    aborted = rollback(repo.root, MODEL, "production", crd_dir=crd_dir)
    assert (aborted.role, aborted.branch) == ("abort", "rollback/eta-courier-production-abort-v3")
    assert aborted.notes == ["aborting the canary 'canary' (version 3) in production; main stays at "
                             "version 2 (rollback --main moves main back as well)"]
    sdep = predictors(repo.show(f"origin/{aborted.branch}", SDEP))
    assert list(sdep) == ["main"]
    assert sdep["main"]["graph"]["modelUri"] == "s3://acme-models/eta-courier/2"
    production = yaml.safe_load(repo.show(f"origin/{aborted.branch}", "models/eta-courier.yaml"))[
        "environments"]["production"]
    assert production["traffic"] == {"main": {"artifact": {"uri": "s3://acme-models/eta-courier/2",
                                                           "mlflow": {"model": MODEL, "version": 2}}}}
    pull = github.pulls[aborted.pull_request["number"]]
    assert pull["title"] == "Abort the canary 'canary' (version 3) of eta-courier in production"
    assert "rollback" in pull["labels"]

    back = rollback(repo.root, MODEL, "production", main=True, crd_dir=crd_dir)  # the explicit choice
    assert (back.role, back.version, back.branch) == ("main", 1, "rollback/eta-courier-production-v1")
    assert back.notes == ["the canary 'canary' (version 3) in production is dropped as well"]
    sdep = predictors(repo.show(f"origin/{back.branch}", SDEP))
    assert list(sdep) == ["main"] and sdep["main"]["graph"]["modelUri"] == "s3://acme-models/eta-courier/1"


@pytest.mark.slow
def test_rollback_cli_says_it_aborts_the_shadow(repo: Repo, github: FakeGitHubPulls, crd_dir: Path) -> None:
    shadow = promote(repo.root, Request(MODEL, "staging", version=2, role="shadow"), crd_dir=crd_dir)
    git(repo.root, "merge", "--quiet", "--ff-only", shadow.commit)  # --no-push starts from local main
    done = run(repo, "rollback", MODEL, "--env", "staging", "--no-push", crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert ("note: aborting the shadow 'shadow' (version 2) in staging; main stays at version 1 "
            "(rollback --main moves main back as well)") in done.stderr
    assert "Aborted the trial of eta-courier in staging: branch rollback/eta-courier-staging-abort-v2" in (
        done.stdout)
    staged = yaml.safe_load(repo.show("rollback/eta-courier-staging-abort-v2", "models/eta-courier.yaml"))
    assert staged["environments"]["staging"] == {"replicas": 1}

    done = run(repo, "rollback", MODEL, "--env", "staging", "--main", "--no-push", crd_dir=crd_dir)
    assert done.returncode == 1  # main never ran anything else in staging: nothing to move back to
    assert "MO514" in done.stderr
