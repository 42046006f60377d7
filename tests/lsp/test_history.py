"""The rollout gate (MO405) judges an open buffer by the file's history, as validate does."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.lsp.history import git_history
from modelops.lsp.workspace import Workspace
from support.fixtures import copy_example_repo, git

ETA = "models/eta-courier.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crd_dir: Path) -> Path:
    for name in ("BASE_REF", "GITHUB_BASE_REF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODELOPS_CRD_DIR", str(crd_dir))
    return copy_example_repo(tmp_path / "repo")


def main_at(text: str, version: int) -> str:
    return text.replace("      main: {weight: 90}", "      main:\n        weight: 90\n"
                        f"        artifact: {{uri: s3://acme-models/eta-courier/{version}}}")


def test_a_new_main_artifact_needs_a_canary_first(repo: Path) -> None:
    notes: list[str] = []
    workspace = Workspace(repo, git_history(repo, notes.append))
    text = (repo / ETA).read_text()
    workspace.set_text(ETA, main_at(text, 13))
    (found,) = workspace.diagnostics(ETA)
    assert found.code == "MO405" and "eta-courier/13 has not run as a canary or shadow" in found.message
    workspace.set_text(ETA, main_at(text, 12))  # ran as the production canary: it may become main
    assert workspace.diagnostics(ETA) == []
    assert len(notes) == 1 and notes[0].startswith("origin/main is not in this clone")  # once


def test_a_branch_is_judged_against_its_base(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "checkout", "-qb", "jump")
    (repo / ETA).write_text(main_at((repo / ETA).read_text(), 13))
    git(repo, "commit", "-qam", "v13 straight to main")
    monkeypatch.setenv("BASE_REF", "main")
    workspace = Workspace(repo, git_history(repo, print))
    workspace.set_text(ETA, (repo / ETA).read_text())
    assert [d.code for d in workspace.diagnostics(ETA)] == ["MO405"]


def test_a_base_this_clone_lacks_is_a_note_and_no_gate(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASE_REF", "origin/release")
    notes: list[str] = []
    workspace = Workspace(repo, git_history(repo, notes.append))
    workspace.set_text(ETA, main_at((repo / ETA).read_text(), 13))
    assert workspace.diagnostics(ETA) == []
    assert len(notes) == 1 and "MO020 cannot judge the rollout gate against base origin/release" in notes[0]


def test_outside_git_there_is_no_gate(tmp_path: Path, crd_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELOPS_CRD_DIR", str(crd_dir))
    repo = copy_example_repo(tmp_path / "repo", commit=False)
    notes: list[str] = []
    workspace = Workspace(repo, git_history(repo, notes.append))
    workspace.set_text(ETA, main_at((repo / ETA).read_text(), 13))
    assert workspace.diagnostics(ETA) == [] and notes == []
