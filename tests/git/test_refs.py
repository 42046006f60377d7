"""`git.refs`: git run as a subprocess, its failures one line, files read at a ref without checkout."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.diagnostics import UserError
from modelops.git.refs import files_at, git, git_message
from support.git_repos import clone


def test_files_at_reads_a_folder_as_a_ref_has_it_not_as_the_working_tree(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    first = repo.commit({"models/eta.yaml": "name: eta\n"}, "eta")
    (repo.root / "models" / "eta.yaml").write_text("name: edited\n")  # uncommitted
    repo.commit({"models/eta.yaml": None}, "drop eta")
    iris = (repo.root / "models/iris.yaml").read_text()
    assert files_at(repo.root, first, "models") == {"eta.yaml": "name: eta\n", "iris.yaml": iris}
    assert list(files_at(repo.root, "HEAD", "models")) == ["iris.yaml"]
    assert files_at(repo.root, "HEAD", "generated") == {}  # a folder the ref does not have


def test_an_unknown_ref_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError) as error:
        files_at(clone(tmp_path).root, "no-such-branch", "models")
    assert [str(d) for d in error.value.diagnostics] == [
        ".:1:1: MO020 unknown git revision 'no-such-branch': give a branch, tag or commit "
        "(fetch it first in CI)"]


def test_a_failing_git_command_keeps_all_of_git_s_reason_on_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError) as error:
        git(tmp_path, "log")  # not a repository
    [diagnostic] = error.value.diagnostics
    assert diagnostic.code == "MO020" and str(diagnostic).startswith(".:1:1: MO020 git log: ")
    assert "\n" not in str(diagnostic)
    assert git_message(b"remote: hook declined\nerror: failed to push\n\n") == (
        "remote: hook declined | error: failed to push")
    assert git_message(b"") == "git failed"
