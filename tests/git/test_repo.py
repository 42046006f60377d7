"""`git.repo`: the base ref, a throwaway worktree, commit, push with a lease, the remote's branch and
the GitHub repository named by a remote URL, on real repositories with a bare origin."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.compile.spec import GitSettings
from modelops.diagnostics import UserError
from modelops.git import repo as gitrepo
from support.fixtures import git
from support.git_repos import clone


def test_base_ref_is_the_fetched_remote_branch_else_the_local_one_else_head(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    settings = GitSettings()
    assert gitrepo.base_ref(repo.root, settings) == "origin/main"
    assert gitrepo.base_ref(repo.root, settings, remote=False) == "main"
    assert gitrepo.base_ref(repo.root, GitSettings(base="release"), remote=False) == "HEAD"
    assert gitrepo.has_remote(repo.root, "origin") and not gitrepo.has_remote(repo.root, "upstream")


def test_the_worktree_is_a_detached_copy_removed_afterwards(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    (repo.root / "modelops.yaml").write_text("dirty: true\n")  # the user's checkout stays as it is
    with gitrepo.worktree(repo.root, "origin/main") as tree:
        assert (tree / "models" / "iris.yaml").is_file()
        assert "dirty" not in (tree / "modelops.yaml").read_text()
        assert gitrepo.commit_all(tree, "nothing changed") is None
        (tree / "models" / "eta.yaml").write_text("name: eta\n")
        commit = gitrepo.commit_all(tree, "add eta")
    assert commit is not None and not tree.exists()
    assert "modelops-promote-" not in git(repo.root, "worktree", "list")
    assert (repo.root / "modelops.yaml").read_text() == "dirty: true\n"
    assert git(repo.root, "show", f"{commit}:models/eta.yaml") == "name: eta\n"


def test_push_replaces_only_what_was_seen_on_the_remote(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    assert gitrepo.remote_branch(repo.root, "origin", "promote/x") is None
    first = repo.commit({"a.txt": "1\n"}, "one")
    gitrepo.push(repo.root, "origin", first, "promote/x", None)
    assert gitrepo.remote_branch(repo.root, "origin", "promote/x") == first
    second = repo.commit({"a.txt": "2\n"}, "two")
    gitrepo.push(repo.root, "origin", second, "promote/x", first)
    assert gitrepo.tree_of(repo.root, gitrepo.remote_branch(repo.root, "origin", "promote/x") or "") == (
        gitrepo.tree_of(repo.root, second))
    with pytest.raises(UserError) as error:  # someone else pushed meanwhile: the lease refuses
        gitrepo.push(repo.root, "origin", first, "promote/x", first)
    assert error.value.diagnostics[0].code == "MO020"
    gitrepo.set_branch(repo.root, "promote/x", second)
    assert gitrepo.rev(repo.root, "promote/x") == second


@pytest.mark.parametrize(("url", "repository"), [
    ("https://github.com/acme/models.git", "acme/models"),
    ("git@github.com:acme/models.git", "acme/models"),
    ("ssh://git@github.example.com/acme/models", "acme/models"),
    ("/srv/git/models.git", None),
    ("file:///srv/git/acme/models.git", None),
])
def test_the_github_repository_from_a_remote_url(url: str, repository: str | None) -> None:
    assert gitrepo.repository_from_url(url) == repository
