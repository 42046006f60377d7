"""`promotion.propose`: the one engine behind promote, rollback, autoupdate and rollout, driven with
edits of its own on a real repository with a bare origin (no MLflow, no GitHub)."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.diagnostics import UserError
from modelops.git.history import open_project
from modelops.promotion.edit import EditError
from modelops.promotion.propose import Origin, Outcome, Proposal, Target, propose
from support.fixtures import git
from support.git_repos import Clone, clone

SDEP = "generated/staging/models-staging/iris.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Clone:
    for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return clone(tmp_path)


def replicas(target: Target, count: int = 3) -> Proposal:
    """An edit of the test's own: iris runs `count` replicas everywhere."""
    outcome = Outcome(target.spec.name, target.env, "main", None, "nothing-to-do",
                      branch=f"test/{target.spec.name}-{count}")
    return Proposal(outcome, target.text + f"replicas: {count}\n", f"Scale {target.spec.name} to {count}",
                    f"Scale **{target.spec.name}** to {count} replicas.", "What next: nothing.",
                    labels=["test"], command="test")


def test_a_local_proposal_commits_the_edit_and_generated_on_a_branch(repo: Clone, crd_dir: Path) -> None:
    before = {p: p.read_bytes() for p in repo.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    outcome = propose(Origin.of(repo.root, fetch=False), "iris", "staging", replicas, push=False,
                      crd_dir=crd_dir)
    assert (outcome.state, outcome.branch) == ("local", "test/iris-3")
    assert git(repo.root, "rev-parse", "test/iris-3").strip() == outcome.commit
    assert "replicas: 3" in git(repo.root, "show", f"{outcome.commit}:{SDEP}")
    changed = git(repo.root, "diff-tree", "-r", "--name-only", "--no-commit-id", "main", outcome.commit or "")
    assert "models/iris.yaml" in changed.split() and SDEP in changed.split()
    assert ".modelops-cache" not in changed  # the worktree's render cache is no part of the change
    message = git(repo.root, "log", "-1", "--format=%B", outcome.commit)
    assert message.startswith("Scale iris to 3\n\n<!-- modelops-promotion -->\n"
                              "Scale **iris** to 3 replicas.\n")
    assert "what changes in the cluster" in message
    assert message.rstrip().endswith("What next: nothing.\n\nTeam: risk. Opened by `modelops test`.")
    after = {p: p.read_bytes() for p in repo.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before  # the user's checkout is not touched


def test_pushing_twice_updates_nothing_the_second_time(repo: Clone, crd_dir: Path) -> None:
    origin = Origin.of(repo.root, fetch=True)
    first = propose(origin, "iris", "staging", replicas, crd_dir=crd_dir)
    assert first.state == "pushed"
    assert first.notes == ["GITHUB_TOKEN is not set: open the pull request yourself"]
    assert git(repo.origin, "rev-parse", "test/iris-3").strip() == first.commit
    again = propose(origin, "iris", "staging", replicas, crd_dir=crd_dir)
    assert (again.state, again.commit) == ("unchanged", first.commit)


def test_the_same_text_is_nothing_to_do(repo: Clone, crd_dir: Path) -> None:
    def same(target: Target) -> Proposal:
        return Proposal(Outcome("iris", target.env, "main", None, "nothing-to-do"), target.text)

    outcome = propose(Origin.of(repo.root, fetch=True), "iris", "staging", same, crd_dir=crd_dir)
    assert (outcome.state, outcome.branch, outcome.commit) == ("nothing-to-do", None, None)
    assert git(repo.origin, "branch", "--format=%(refname:short)").split() == ["main"]


def test_the_model_and_config_come_from_the_base_branch(repo: Clone, crd_dir: Path) -> None:
    config = repo.root / "modelops.yaml"
    config.write_text(config.read_text().replace("namespace: models-staging", "namespace: dirty"))
    seen: list[Target] = []

    def look(target: Target) -> Proposal:
        seen.append(target)
        return replicas(target)

    outcome = propose(Origin.of(repo.root, fetch=True), "iris", "staging", look, crd_dir=crd_dir)
    [target] = seen
    assert target.config.environments["staging"].namespace == "models-staging"
    assert target.origin.project.require().environments["staging"].namespace == "dirty"
    assert target.envs == ["production", "staging"] and target.deployed() is not None
    files = git(repo.root, "ls-tree", "-r", "--name-only", outcome.commit or "", "generated/").split()
    assert SDEP in files and not any("dirty" in f for f in files)


def test_a_caller_s_origin_is_used_as_it_is(repo: Clone) -> None:
    origin = Origin(open_project(repo.root), "main")
    assert Origin.of(origin, fetch=True) is origin


@pytest.mark.parametrize(("model", "env", "decide", "line"), [
    ("eta", "staging", replicas,
     "models/eta.yaml:1:1: MO510 no model 'eta' on the base branch (models/eta.yaml)"),
    ("iris", "qa", lambda t: (t.deployed(), replicas(t))[1],
     "models/iris.yaml:1:7: MO203 unknown environment 'qa' (modelops.yaml defines production, staging)"),
])
def test_what_is_not_on_the_base_branch_is_one_line(repo: Clone, crd_dir: Path, model: str, env: str,
                                                     decide, line: str) -> None:
    with pytest.raises(UserError) as error:
        propose(Origin.of(repo.root, fetch=False), model, env, decide, push=False, crd_dir=crd_dir)
    assert [str(d) for d in error.value.diagnostics] == [line]


def test_an_edit_that_cannot_be_made_is_mo511_and_nothing_is_left(repo: Clone, crd_dir: Path) -> None:
    def refuse(target: Target) -> Proposal:
        raise EditError("no canary runs in staging")

    with pytest.raises(UserError) as error:
        propose(Origin.of(repo.root, fetch=False), "iris", "staging", refuse, push=False, crd_dir=crd_dir)
    [diagnostic] = error.value.diagnostics
    assert (diagnostic.code, diagnostic.message) == ("MO511", "no canary runs in staging")
    assert "modelops-promote-" not in git(repo.root, "worktree", "list")


def test_a_compile_error_on_the_base_branch_stops_before_any_commit(repo: Clone, crd_dir: Path) -> None:
    def break_it(target: Target) -> Proposal:
        proposal = replicas(target)
        proposal.text = target.text + "replicas: 0\nreplicass: 1\n"
        return proposal

    with pytest.raises(UserError) as error:
        propose(Origin.of(repo.root, fetch=True), "iris", "staging", break_it, crd_dir=crd_dir)
    assert "MO101" in {d.code for d in error.value.diagnostics}
    assert git(repo.origin, "branch", "--format=%(refname:short)").split() == ["main"]


def test_pushing_needs_a_remote_checked_before_anything_is_edited(repo: Clone, crd_dir: Path) -> None:
    git(repo.root, "remote", "remove", "origin")
    called: list[str] = []

    def never(target: Target) -> Proposal:
        called.append(target.env)
        return replicas(target)

    with pytest.raises(UserError) as error:
        propose(Origin.of(repo.root, fetch=True), "iris", "staging", never, crd_dir=crd_dir)
    assert [d.code for d in error.value.diagnostics] == ["MO512"] and called == []
