"""`git.history`: a file's past versions newest first, the Project's git reader, and the base the
rollout gate judges by (`review_base`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.diagnostics import UserError
from modelops.git.history import open_project, past_texts, review_base, versions
from support.fixtures import IRIS, git
from support.git_repos import clone

V2 = IRIS.replace("iris/1", "iris/2")


def test_versions_newest_first_skipping_the_commits_without_the_file(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    first = git(repo.root, "rev-parse", "HEAD").strip()
    second = repo.commit({"models/iris.yaml": V2}, "iris v2")
    repo.commit({"README": "unrelated\n"}, "docs")
    assert list(versions(repo.root, "models/iris.yaml")) == [(second, V2), (first, IRIS)]
    repo.commit({"models/iris.yaml": None}, "drop iris")
    assert [c for c, _ in versions(repo.root, "models/iris.yaml")] == [second, first]
    assert past_texts(repo.root)("models/iris.yaml") == [V2, IRIS]


def test_past_texts_outside_a_repository_is_empty(tmp_path: Path) -> None:
    assert past_texts(tmp_path)("models/iris.yaml") == []


def test_the_project_reads_models_at_a_ref_and_their_past_in_one_environment(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    repo.commit({"models/iris.yaml": V2}, "iris v2")
    project = open_project(repo.root)
    assert [f.path for f in project.models("HEAD~1")] == ["models/iris.yaml"]
    uris = [past.main.settings.get("artifact", "uri") if past else None
            for _, past in project.past("models/iris.yaml", "staging", "HEAD")]
    assert uris == ["s3://acme-models/iris/2", "s3://acme-models/iris/1"]


def test_review_base_is_where_the_branch_left_the_base(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    base = git(repo.root, "rev-parse", "HEAD").strip()
    git(repo.root, "fetch", "-q", "origin")
    git(repo.root, "checkout", "-qb", "change")
    repo.commit({"models/iris.yaml": V2}, "under review")
    notes: list[str] = []
    assert review_base(repo.root, None, "origin/main", notes.append) == base
    assert review_base(repo.root, "main", "origin/main", notes.append) == base
    assert notes == []


def test_a_named_base_the_clone_lacks_is_an_error_and_a_missing_default_a_note(tmp_path: Path) -> None:
    repo = clone(tmp_path)
    with pytest.raises(UserError) as error:
        review_base(repo.root, "release", "origin/main", print)
    assert "MO020 cannot judge the rollout gate against base release: release is not in this clone" in str(
        error.value.diagnostics[0])
    notes: list[str] = []
    assert review_base(repo.root, None, "upstream/main", notes.append) == "HEAD"
    assert notes and notes[0].startswith("upstream/main is not in this clone: the rollout gate (MO405)")
    assert review_base(tmp_path / "nowhere", None, "origin/main", notes.append) is None
