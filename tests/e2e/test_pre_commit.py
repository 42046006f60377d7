"""The pre-commit hooks as another repository uses them: installed by pre-commit itself, core only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.fixtures import GIT_ENV, ROOT, copy_example_repo, git
from support.git_repos import snapshot_of_this_tree

PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")
EXTRAS_ONLY = {"kubernetes", "mlflow", "github", "rich", "ruamel", "pygls"}  # import names of the extras


def run_hook(repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run([PRE_COMMIT, "run", hook, "--all-files"], cwd=repo,
                          capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_compile_check_fails_on_stale_output_and_compile_fixes_it(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    rev = snapshot_of_this_tree(hooks)
    repo = copy_example_repo(tmp_path / "user")
    shutil.copytree(ROOT / ".github", repo / ".github", ignore=shutil.ignore_patterns("workflows"))
    (repo / ".gitignore").write_text(".modelops-cache/\n")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n"
        "      - id: modelops-validate\n      - id: modelops-compile\n      - id: modelops-compile-check\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "codeowners and hooks")
    stale = repo / "generated" / "production" / "models" / "churn-score.yaml"
    fresh = stale.read_text()
    stale.write_text(fresh.replace("replicas: 3", "replicas: 4", 1))
    assert stale.read_text() != fresh
    home = tmp_path / "pre-commit-home"

    check = run_hook(repo, "modelops-compile-check", home)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "churn-score.yaml" in check.stdout
    assert stale.read_text() != fresh

    fix = run_hook(repo, "modelops-compile", home)
    assert fix.returncode == 1 and "files were modified by this hook" in fix.stdout, fix.stdout
    assert stale.read_text() == fresh
    assert git(repo, "status", "--porcelain") == ""  # back to the committed, compiled state

    again = run_hook(repo, "modelops-compile-check", home)
    assert again.returncode == 0, again.stdout + again.stderr
    installed = {p.name.lower() for p in home.glob("repo*/py_env-*/lib/python*/site-packages/*")}
    assert "modelops" in installed
    assert not installed & EXTRAS_ONLY, sorted(installed)
