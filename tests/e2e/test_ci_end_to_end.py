"""ci/pr.sh and ci/merge.sh as shipped, in another repository, with modelops installed from a wheel.

The wheel is built from this checkout and installed into a fresh venv (dependencies from the package
index through pip's cache), so the test sees what a user's CI sees: no editable install,
nothing beside the repository, no CRD folder. GitHub is tests/support/fake_github.py, the cluster
tests/support/kmock_cluster.py; both serve HTTP on 127.0.0.1 from this process, which the scripts'
subprocesses reach.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from modelops.review.changes import MARKER
from support.fake_github import FakeGitHub
from support.kmock_cluster import RunningServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SDEP = "machinelearning.seldon.io/v1"
CONFIG = """\
environments:
  staging:
    namespace: models-staging
    target: seldon-v1
  production:
    namespace: models
    target: seldon-v1
defaults:
  resources:
    requests: {cpu: 100m, memory: 256Mi}
    limits: {memory: 1Gi}
teams:
  risk:
    reviewers: ["@acme/risk-ds"]
policy:
  allowed_schemes: [s3]
  allowed_buckets: ["s3://acme-models/"]
"""
MODEL = ("name: {name}\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/{name}/1\n"
         "replicas: 2\n")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with modelops installed from a wheel of this checkout: its bin/ folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so building writes no build/ or egg-info into the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "compiler", source / "compiler",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip(sys.executable, "wheel", "--no-deps", "-w", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("modelops_gitops-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    pip(str(work / "venv" / "bin" / "python"), "install", f"{wheel}[review,github,sync]")
    return work / "venv" / "bin"


def pip(python: str, *args: str) -> None:
    done = subprocess.run([python, "-m", "pip", "--quiet", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout


def user_env(venv: Path, **extra: str) -> dict[str, str]:
    """A CI job's environment: modelops on PATH from the venv, nothing of this checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "MODELOPS_CRD_DIR", "PYTHONPATH", "KUBECONFIG")
           and not k.startswith(("GITHUB_", "CI_", "GITLAB_"))}
    return {**env, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", **extra}


def script(repo: Path, name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """ci/NAME as the Action runs it: from modelops' own checkout, in the user's repository."""
    return subprocess.run([str(ROOT / "ci" / name), *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def repo(tmp_path: Path, venv: Path) -> Path:
    """Another team's repository: two models compiled on main (pushed to a bare remote); no ci/ in it."""
    git(tmp_path, "init", "-q", "--bare", "-b", "main", "remote.git")
    root = tmp_path / "models-repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", str(tmp_path / "remote.git"))
    (root / "modelops.yaml").write_text(CONFIG)
    (root / ".gitignore").write_text(".modelops-cache/\n")  # as `modelops init` writes it
    (root / "models").mkdir()
    for name in ("iris", "churn"):
        (root / "models" / f"{name}.yaml").write_text(MODEL.format(name=name))
    compiled = subprocess.run([str(venv / "modelops"), "compile"], cwd=root, env=user_env(venv),
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "two models")
    git(root, "push", "-q", "origin", "main")
    git(root, "fetch", "-q", "origin")
    return root


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def cluster() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.stop()


def pull_request(repo: Path, venv: Path, edit: tuple[str, str], *, compile: bool = True) -> None:
    """A PR branch changing models/iris.yaml, compiled like the author would, pushed."""
    git(repo, "checkout", "-q", "-b", "more-iris")
    model = repo / "models" / "iris.yaml"
    model.write_text(model.read_text().replace(*edit))
    if compile:
        done = subprocess.run([str(venv / "modelops"), "compile"], cwd=repo, env=user_env(venv),
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    git(repo, "commit", "-qam", "iris change")
    git(repo, "push", "-q", "origin", "more-iris")


def pr_env(venv: Path, github: FakeGitHub) -> dict[str, str]:
    return user_env(venv, BASE_REF="origin/main", PR_NUMBER="7", GITHUB_TOKEN="test-token",
                    GITHUB_REPOSITORY="acme/models", GITHUB_API_URL=github.url)


def test_pr_then_merge_comment_and_sync(repo: Path, venv: Path, github: FakeGitHub,
                                        cluster: RunningServer) -> None:
    pull_request(repo, venv, ("replicas: 2", "replicas: 3"))
    temp = repo.parent / "runner-temp"
    temp.mkdir()
    checked = script(repo, "pr.sh", {**pr_env(venv, github), "RUNNER_TEMP": str(temp)})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "created the review comment on acme/models#7" in checked.stderr
    (comment,) = github.comments.values()
    assert comment["number"] == 7 and comment["body"].startswith(MARKER)
    assert "replicas 2 -> 3" in comment["body"]
    assert (temp / "modelops-review.md").read_text() == comment["body"]
    assert git(repo, "status", "--porcelain") == ""  # the check leaves the checkout as it found it

    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "more-iris")
    kubeconfig = cluster.kubeconfig(repo.parent / "kubeconfig")
    config = yaml.safe_load(kubeconfig.read_text())
    kubeconfig.write_text(yaml.safe_dump({**config, "current-context": "kmock"}))
    env = user_env(venv, KUBECONFIG=str(kubeconfig))
    listed = script(repo, "environments.sh", env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == ["production", "staging"]
    merged = script(repo, "merge.sh", env)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    for namespace in ("models", "models-staging"):
        iris = cluster.get(SDEP, "seldondeployments", namespace, "iris")
        churn = cluster.get(SDEP, "seldondeployments", namespace, "churn")
        assert iris is not None and churn is not None, namespace
        assert iris["spec"]["predictors"][0]["replicas"] == 3
        assert iris["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "modelops"


def test_a_broken_model_fails_the_pr_check_in_one_line(repo: Path, venv: Path, github: FakeGitHub) -> None:
    pull_request(repo, venv, ("replicas: 2", "replicas: many"), compile=False)
    checked = script(repo, "pr.sh", pr_env(venv, github))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    one_line = re.compile(r"models/iris\.yaml:\d+:\d+: MO\d+ ")
    errors = [line for line in checked.stderr.splitlines() if one_line.match(line)]
    assert len(errors) == 1, checked.stderr
    assert "replicas" in errors[0] and "Traceback" not in checked.stderr
    assert github.requests == []  # nothing posted for a change that does not compile

