"""`modelops environments [--sync MODE]`: one name a line for CI scripts, from the one Project."""

from __future__ import annotations

from pathlib import Path

from support.fixtures import CONFIG, make_repo, run


def test_the_environments_one_a_line_sorted(tmp_path: Path) -> None:
    done = run(make_repo(tmp_path / "repo"), "environments")
    assert (done.returncode, done.stdout) == (0, "production\nstaging\n")


def test_only_those_synced_one_way(tmp_path: Path) -> None:
    argocd = "    sync: argocd\n    gitops: {repo_url: 'https://github.com/acme/models.git'}\n"
    config = CONFIG.replace("    namespace: models\n", "    namespace: models\n" + argocd, 1)
    root = make_repo(tmp_path / "repo", config=config)
    assert run(root, "environments", "--sync", "argocd").stdout == "production\n"
    assert run(root, "environments", "--sync", "ci").stdout == "staging\n"


def test_without_modelops_yaml_one_line_and_exit_1(tmp_path: Path) -> None:
    done = run(tmp_path, "environments")
    assert done.returncode == 1 and done.stdout == ""
    first, summary = done.stderr.splitlines()
    assert first.startswith("modelops.yaml:1:1: MO010 no modelops.yaml in ")
    assert summary == "Found 1 error."
