"""`modelops diff --gitlab-note`: the review as one merge-request note, against a fake GitLab."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.review.changes import MARKER
from support.fake_gitlab import FakeGitLab
from support.fixtures import CRD_DIR, copy_example_repo, edit, git, run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_example_repo(tmp_path / "repo")
    edit(root / "models" / "iris-classifier.yaml", "replicas: 2", "replicas: 3")
    assert run(root, "compile", crd_dir=CRD_DIR).returncode == 0
    git(root, "commit", "-qam", "more iris")
    return root


def ci_env(gitlab: FakeGitLab, **extra: str) -> dict[str, str]:
    return {"CI_API_V4_URL": gitlab.api, "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7",
            "GITLAB_TOKEN": "glpat-test", **extra}


def note(repo: Path, env: dict[str, str], base: str = "HEAD~1"):
    return run(repo, "diff", base, "HEAD", "--gitlab-note", crd_dir=CRD_DIR, env=env)


@pytest.mark.slow
def test_note_is_created_once_then_updated_in_place(repo: Path) -> None:
    with FakeGitLab(per_page_limit=1) as gitlab:  # one note a page: the marker is found on page 2
        gitlab.add_note("42", 7, "Looks good to me")
        first = note(repo, ci_env(gitlab))
        assert first.returncode == 0, first.stderr
        assert first.stderr == "created the review note on merge request !7\n"

        edit(repo / "models" / "iris-classifier.yaml", "replicas: 3", "replicas: 5")
        assert run(repo, "compile", crd_dir=CRD_DIR).returncode == 0
        git(repo, "commit", "-qam", "even more iris")
        second = note(repo, ci_env(gitlab), base="HEAD~2")
        assert second.returncode == 0, second.stderr
        assert second.stderr == "updated the review note on merge request !7\n"

    ours = [n for n in gitlab.notes.values() if MARKER in n["body"]]
    assert len(ours) == 1 and "replicas 2 -> 5" in ours[0]["body"]
    assert [n["body"] for n in gitlab.notes.values() if n["author"] == "someone"] == ["Looks good to me"]
    writes = [(r["method"], r["path"]) for r in gitlab.requests if r["method"] != "GET"]
    notes = "/api/v4/projects/42/merge_requests/7/notes"
    assert writes == [("POST", notes), ("PUT", f"{notes}/{ours[0]['id']}")]
    assert {r["token"] for r in gitlab.requests} == {"glpat-test"}


@pytest.mark.slow
def test_unchanged_review_writes_nothing(repo: Path) -> None:
    with FakeGitLab() as gitlab:
        assert note(repo, ci_env(gitlab)).returncode == 0
        again = note(repo, ci_env(gitlab))
    assert again.returncode == 0 and "updated" in again.stderr
    assert [r["method"] for r in gitlab.requests] == ["GET", "POST", "GET"]


def test_refusal_is_one_line(repo: Path) -> None:
    with FakeGitLab() as gitlab:
        gitlab.refuse = 403
        done = note(repo, ci_env(gitlab))
    assert done.returncode == 1
    assert done.stderr == ".:1:1: MO032 GitLab answered 403 for merge request !7: 403 Forbidden\n"


def test_missing_token_is_one_line(repo: Path) -> None:
    with FakeGitLab() as gitlab:
        done = note(repo, ci_env(gitlab, GITLAB_TOKEN=""))
        assert gitlab.requests == []
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(".:1:1: MO032 GITLAB_TOKEN not set: cannot post the merge-request note")
    assert len(done.stderr.splitlines()) == 1
