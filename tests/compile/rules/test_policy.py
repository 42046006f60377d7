"""Policy gates from modelops.yaml and the generated CODEOWNERS."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support.fixtures import CRD_DIR, copy_example_repo, edit, git, run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example_repo(tmp_path / "repo")


def errors(repo: Path, *args: str) -> list[str]:
    done = run(repo, "validate", *args, crd_dir=CRD_DIR)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if ": MO" in line]
    assert (done.returncode == 1) == bool(lines), done.stderr
    return lines


def test_examples_pass_every_gate(repo: Path) -> None:
    assert errors(repo) == []


@pytest.mark.slow
def test_production_requires_monitoring_but_staging_does_not(repo: Path) -> None:
    iris = repo / "models" / "iris-classifier.yaml"
    edit(iris, "monitoring:\n  interval: 30s", "monitoring:\n  enabled: false")
    assert errors(repo) == [
        "models/iris-classifier.yaml:13:12: MO401 monitoring cannot be switched off in production "
        "(rules.require_monitoring of environment production in modelops.yaml)"
    ]
    edit(repo / "modelops.yaml", "      require_monitoring: true", "      require_monitoring: false")
    assert errors(repo) == []


def test_min_replicas_points_at_the_setting(repo: Path) -> None:
    edit(repo / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 1")
    [line] = errors(repo)
    assert line.startswith("models/iris-classifier.yaml:11:11: MO402 variant 'main' may run 1 replica(s)")
    assert "needs at least 2" in line


def test_min_replicas_counts_autoscaling_min(repo: Path) -> None:
    edit(repo / "models" / "search-ranker.yaml", "  min: 2\n", "  min: 1\n")
    [first, second] = errors(repo)
    assert ": MO402 variant 'a' may run 1 replica(s)" in first
    assert ": MO402 variant 'b' may run 1 replica(s)" in second


def test_memory_limit_required_in_production(repo: Path) -> None:
    edit(repo / "modelops.yaml", "    limits: {memory: 1Gi}\n", "")
    found = errors(repo)
    assert found and all(": MO403 " in line for line in found)
    assert any(line.startswith("models/iris-classifier.yaml:") for line in found)
    # eta-courier sets its own memory limit
    assert not any(line.startswith("models/eta-courier.yaml:") for line in found)


def test_team_replica_cap(repo: Path) -> None:
    edit(repo / "modelops.yaml", "    max_replicas: 30 ", "    max_replicas: 10 ")
    [line] = errors(repo)
    assert line.startswith("models/search-ranker.yaml:4:7: MO404 team search may run 12 replicas in")
    assert "over its cap of 10" in line


def test_rollout_needs_a_canary_first(repo: Path) -> None:
    eta = repo / "models" / "eta-courier.yaml"
    edit(eta, "      main: {weight: 90}", "      main:\n        weight: 90\n"
         "        artifact: {uri: s3://acme-models/eta-courier/13}")
    [line] = errors(repo)
    assert ": MO405 s3://acme-models/eta-courier/13 has not run as a canary or shadow in production" in line

    # version 12 ran as the production canary in the committed history: it may become main
    edit(eta, "eta-courier/13}", "eta-courier/12}")
    assert errors(repo) == []


def test_rollout_gate_does_not_apply_to_staging(repo: Path) -> None:
    eta = repo / "models" / "eta-courier.yaml"
    edit(eta, "uri: s3://acme-models/eta-courier/12\n          mlflow: {model: eta-courier, version: 12}\n"
         "  production:",
         "uri: s3://acme-models/eta-courier/14\n          mlflow: {model: eta-courier, version: 14}\n"
         "  production:")
    assert errors(repo) == []


def test_codeowners_lists_teams_and_platform_on_protected_envs(repo: Path) -> None:
    assert run(repo, "compile", crd_dir=CRD_DIR).returncode == 0
    lines = (repo / ".github" / "CODEOWNERS").read_text().splitlines()
    assert "/models/eta-courier.yaml @acme/logistics-ds" in lines
    assert "/generated/production/models/eta-courier.yaml @acme/logistics-ds @acme/ml-platform" in lines
    assert "/generated/staging/models-staging/eta-courier.yaml @acme/logistics-ds" in lines
    assert "/modelops.yaml @acme/ml-platform" in lines


@pytest.mark.slow
def test_codeowners_staleness_fails_check(repo: Path) -> None:
    assert run(repo, "compile", crd_dir=CRD_DIR).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "codeowners")
    edit(repo / "modelops.yaml", '"@acme/risk-ds"', '"@acme/risk-science"')
    done = run(repo, "compile", "--check", crd_dir=CRD_DIR)
    assert done.returncode == 1
    assert "+/models/iris-classifier.yaml @acme/risk-science" in done.stdout
    assert run(repo, "compile", crd_dir=CRD_DIR).returncode == 0
    assert run(repo, "compile", "--check", crd_dir=CRD_DIR).returncode == 0


def test_committed_codeowners_is_current() -> None:
    root = Path(__file__).resolve().parents[3]
    done = run(root, "compile", "--check", crd_dir=CRD_DIR)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr


def test_rollout_gate_is_not_judged_without_git_history(tmp_path: Path) -> None:
    """A copy that is no git repository has no history to judge by: validate passes."""
    root = Path(__file__).resolve().parents[3]
    copy = tmp_path / "plain"
    copy.mkdir()
    shutil.copy(root / "modelops.yaml", copy / "modelops.yaml")
    shutil.copytree(root / "models", copy / "models")
    edit(copy / "models" / "eta-courier.yaml", "      main: {weight: 90}", "      main:\n        weight: 90\n"
         "        artifact: {uri: s3://acme-models/eta-courier/13}")
    assert errors(copy) == []


def test_compile_reads_history_only_through_what_it_is_given() -> None:
    """compile/ imports none of git, review, cluster, promotion or cli: validate hands it a reader."""
    package = Path(__file__).resolve().parents[3] / "compiler" / "modelops"
    outside = re.compile(r"^\s*(?:from|import)\s+modelops\.(git|review|cluster|promotion|cli)\b", re.M)
    found = {p.relative_to(package).as_posix(): outside.findall(p.read_text())
             for p in sorted((package / "compile").rglob("*.py"))}
    assert {path: names for path, names in found.items() if names} == {}


def test_rollout_gate_judges_a_branch_against_its_base(repo: Path) -> None:
    """Committed on a branch, the jump to v13 is judged by main's history, where it never ran."""
    git(repo, "checkout", "-qb", "jump")
    edit(repo / "models" / "eta-courier.yaml", "      main: {weight: 90}", "      main:\n        weight: 90\n"
         "        artifact: {uri: s3://acme-models/eta-courier/13}")
    git(repo, "commit", "-qam", "v13 straight to main")
    [line] = errors(repo, "--base", "main")
    assert ": MO405 s3://acme-models/eta-courier/13 has not run as a canary or shadow in production" in line
    done = run(repo, "validate", crd_dir=CRD_DIR, env={"BASE_REF": "main"})
    assert done.returncode == 1 and ": MO405 " in done.stderr

    # no remote (so no origin/main) and no base named: one note, and HEAD's own history
    done = run(repo, "validate", crd_dir=CRD_DIR, unset=("BASE_REF", "GITHUB_BASE_REF"))
    assert done.returncode == 0
    assert done.stderr.startswith("note: origin/main is not in this clone: the rollout gate (MO405) judges "
                                  "against HEAD's own history"), done.stderr


def test_a_named_base_this_clone_lacks_is_an_error(repo: Path) -> None:
    done = run(repo, "validate", "--base", "origin/release", crd_dir=CRD_DIR)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        ".:1:1: MO020 cannot judge the rollout gate against base origin/release: origin/release is not "
        "in this clone (fetch the whole history: git fetch --unshallow, or actions/checkout with "
        "fetch-depth: 0)"]
