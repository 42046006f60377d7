"""The afternoon a platform team adopts modelops, as they would: in a brand-new repository, from the
wheel alone (core install, no extras), `init`, `validate`, `compile`, the pull-request steps the
generated workflow runs (the Action's `ci/pr.sh`, by hand: no GitHub runner here), and
`pre-commit run --all-files` with the `.pre-commit-config.yaml` init wrote, at the release tag."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from modelops.compile.scaffold import RELEASE_TAG, REPOSITORY
from support.fixtures import GIT_ENV, git
from support.git_repos import snapshot_of_this_tree

pytestmark = pytest.mark.slow
EXTRAS_ONLY = {"kubernetes", "mlflow", "github", "rich", "ruamel", "pyarrow", "duckdb", "pygls", "lsprotocol"}


def sh(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree as a repository tagged with the release init pins (what `uses:` and `rev:` name)."""
    source = tmp_path_factory.mktemp("modelops-release")
    snapshot_of_this_tree(source)
    git(source, "tag", RELEASE_TAG)
    return source


@pytest.fixture(scope="module")
def installed(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel built from the release, core only: its bin/."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(release)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = dist.glob("*.whl")
    assert RELEASE_TAG[1:] in wheel.name  # the version comes from the tag
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    done = subprocess.run([str(home / "bin" / "pip"), "install", "--quiet", str(wheel)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    site = {p.name.lower() for p in home.glob("lib/python*/site-packages/*")}
    assert not site & EXTRAS_ONLY, sorted(site & EXTRAS_ONLY)
    return home / "bin"


def test_a_new_repository_from_the_wheel_to_a_passing_pull_request(
        installed: Path, release: Path, tmp_path: Path) -> None:
    env = {**os.environ, **GIT_ENV, "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}",
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.pop("VIRTUAL_ENV", None)
    repo, origin = tmp_path / "ml-deployments", tmp_path / "origin.git"
    repo.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(origin))

    for step in (["modelops", "--version"], ["modelops", "init"], ["modelops", "validate"],
                 ["modelops", "compile"]):
        done = sh(repo, *step, env=env)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
    assert RELEASE_TAG[1:] in sh(repo, "modelops", "--version", env=env).stdout

    workflow = (repo / ".github" / "workflows" / "modelops.yml").read_text()
    assert f"uses: {REPOSITORY}@{RELEASE_TAG}" in workflow
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "modelops init")
    git(repo, "push", "-q", "origin", "main")

    # A pull request: a change to the example model, compiled, committed on a branch.
    git(repo, "checkout", "-qb", "more-replicas")
    model = repo / "models" / "eta-courier.yaml"
    text = model.read_text()
    assert "autoscaling: {min: 2, max: 10" in text
    model.write_text(text.replace("autoscaling: {min: 2, max: 10", "autoscaling: {min: 3, max: 10"))
    assert sh(repo, "modelops", "compile", env=env).returncode == 0
    git(repo, "commit", "-qam", "eta-courier: at least three replicas")

    # What the Action runs for `command: check`, from the release's own checkout (its action path).
    check = sh(repo, str(release / "ci" / "pr.sh"), env={**env, "BASE_REF": "origin/main"})
    assert check.returncode == 0, check.stdout + check.stderr
    assert "eta-courier" in check.stdout and "replicas" in check.stdout  # the review, in Markdown
    assert sh(repo, "git", "status", "--porcelain", env=env).stdout == ""  # the checkout stays clean

    review = sh(repo, "modelops", "diff", "origin/main", "HEAD", "-o", "json", env=env)
    assert review.returncode == 0, review.stderr  # Markdown and JSON need no extra
    assert json.loads(review.stdout)["ok"] is True

    # pre-commit, with the config init wrote, at the tag: only the repository URL points here.
    config = repo / ".pre-commit-config.yaml"
    pinned = config.read_text()
    assert f"rev: {RELEASE_TAG}" in pinned
    config.write_text(pinned.replace(f"https://github.com/{REPOSITORY}", str(release)))
    hooks = sh(repo, str(Path(sys.executable).parent / "pre-commit"), "run", "--all-files", env=env)
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    assert "modelops" in hooks.stdout and "Passed" in hooks.stdout
