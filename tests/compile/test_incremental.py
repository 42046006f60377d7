"""A model file edited since the last clean compile is compiled alone when nothing shared depends on
the edit, and every edit, compiled alone or not, gives the bytes a fresh clone's compile gives."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from modelops.compile.emit.tree import read_tree
from modelops.compile.incremental import render_changed
from modelops.compile.unchanged import Delta, since_last, unchanged
from support import fixtures

MODEL = Path("models") / "iris-classifier.yaml"
OTHER = Path("models") / "churn-score.yaml"


RENDER_CACHE = Path(".modelops-cache") / "render.json"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The example repository compiled, after a compile that replaced generated/ (so there is a
    spare tree to patch, as in any clone that compiled once)."""
    repo = fixtures.copy_example_repo(tmp_path / "repo", commit=False, codeowners=True)
    for old, new in (("", ""), ("iris-classifier/v3", "iris-classifier/v30"),
                     ("iris-classifier/v30", "iris-classifier/v3")):
        if old:
            edit(repo, old, new)
        done = fixtures.run(repo, "compile", crd_dir=None)
        assert done.returncode == 0, done.stderr
    assert (repo / ".modelops-cache" / "previous-generated").is_dir()
    return repo


def edit(root: Path, old: str, new: str, path: Path = MODEL) -> None:
    fixtures.edit(root / path, old, new)
    time.sleep(0.1)  # older than a timestamp tick (unchanged.RACY_NS), so the run may record it


def compile_json(root: Path, *args: str, **env: str) -> tuple[int, dict[str, object], str]:
    done = fixtures.run(root, "compile", *args, "-o", "json", crd_dir=None, env=env)
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


def fresh_clone(root: Path, target: Path) -> Path:
    """The inputs of `root` alone (no generated/, no cache), as CI checks them out."""
    target.mkdir()
    shutil.copy2(root / "modelops.yaml", target / "modelops.yaml")
    shutil.copytree(root / "models", target / "models")
    shutil.copytree(root / ".github", target / ".github")
    return target


def assert_same_as_a_fresh_clone(root: Path, tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    clone = fresh_clone(root, tmp_path / "clone")
    done = fixtures.run(clone, "compile", crd_dir=None, env={"MODELOPS_NO_CACHE": "1"})
    assert done.returncode == 0, done.stderr
    assert read_tree(root / "generated") == read_tree(clone / "generated")
    assert (root / ".github" / "CODEOWNERS").read_text() == (clone / ".github" / "CODEOWNERS").read_text()


def delta(root: Path) -> Delta:
    found = since_last(root, None)
    assert isinstance(found, Delta), found
    return found


def test_a_promotion_is_compiled_alone_and_writes_that_models_files(root: Path, tmp_path: Path) -> None:
    before = read_tree(root / "generated")
    cache_written = (root / RENDER_CACHE).stat().st_mtime_ns
    edit(root, "iris-classifier/v3", "iris-classifier/v4")
    assert delta(root).changed == [MODEL.as_posix()]
    assert render_changed(root, delta(root), None) is not None
    code, report, stderr = compile_json(root)
    assert code == 0, stderr
    after = read_tree(root / "generated")
    differ = [f"generated/{name}" for name in after if after[name] != before.get(name)]
    assert sorted(report["changed"]) == sorted(differ)
    assert report["changed"] and all("iris-classifier" in name for name in report["changed"])
    assert (root / RENDER_CACHE).stat().st_mtime_ns == cache_written  # no other model was looked at
    assert_same_as_a_fresh_clone(root, tmp_path)
    assert unchanged(root, None) is not None  # recorded: the next check reads nothing


def test_check_after_an_edit_reports_what_the_whole_run_reports(root: Path) -> None:
    edit(root, "iris-classifier/v3", "iris-classifier/v4")
    alone = compile_json(root, "--check")
    whole = compile_json(root, "--check", MODELOPS_NO_CACHE="1")
    assert alone == whole
    code, report, stderr = alone
    assert code == 1 and report["stale"] and "stale or hand-edited" not in stderr  # -o json: the report
    assert "iris-classifier" in str(report["diff"]) and "churn-score" not in str(report["diff"])


def test_a_comment_moves_positions_but_changes_nothing_shared(root: Path, tmp_path: Path) -> None:
    text = (root / MODEL).read_text()
    (root / MODEL).write_text("# owned by the vision team\n\n" + text)
    time.sleep(0.1)
    assert render_changed(root, delta(root), None) is not None
    code, report, _ = compile_json(root)
    assert code == 0 and report["changed"] == []
    assert unchanged(root, None) is not None
    assert_same_as_a_fresh_clone(root, tmp_path)


@pytest.mark.parametrize(("old", "new"), [
    ("team: risk", "team: logistics"),  # CODEOWNERS, team caps
    ("replicas: 2", "replicas: 5"),  # team caps read the most replicas
])
def test_edits_that_shared_files_read_take_the_whole_run(root: Path, tmp_path: Path, old: str,
                                                         new: str) -> None:
    edit(root, old, new)
    assert render_changed(root, delta(root), None) is None
    code, _, stderr = compile_json(root)
    assert code == 0, stderr
    assert_same_as_a_fresh_clone(root, tmp_path)


def test_a_broken_edit_is_reported_as_the_whole_run_reports_it(root: Path) -> None:
    edit(root, "replicas: 2", "replicas: two")
    assert render_changed(root, delta(root), None) is None
    alone = fixtures.run(root, "compile", crd_dir=None)
    whole = fixtures.run(root, "compile", crd_dir=None, env={"MODELOPS_NO_CACHE": "1"})
    assert alone.returncode == whole.returncode == 1
    assert alone.stderr == whole.stderr and f"{MODEL.as_posix()}:" in alone.stderr


def test_a_hand_edited_output_is_restored_when_another_model_changes(root: Path, tmp_path: Path) -> None:
    hand_edited = next((root / "generated").rglob("churn-score.yaml"))
    hand_edited.write_text(hand_edited.read_text() + "# tweaked by hand\n")
    edit(root, "iris-classifier/v3", "iris-classifier/v4")
    assert since_last(root, None) is None  # an output is not as recorded: the whole run answers
    code, _, stderr = compile_json(root)
    assert code == 0, stderr
    assert "tweaked by hand" not in hand_edited.read_text()
    assert_same_as_a_fresh_clone(root, tmp_path)


def test_without_a_spare_tree_one_is_linked_and_patched(tmp_path: Path) -> None:
    root = fixtures.copy_example_repo(tmp_path / "repo", commit=False, codeowners=True)
    assert fixtures.run(root, "compile", crd_dir=None).returncode == 0  # a fresh clone: nothing to replace
    assert not (root / ".modelops-cache" / "previous-generated").exists()
    cache_written = (root / RENDER_CACHE).stat().st_mtime_ns
    edit(root, "iris-classifier/v3", "iris-classifier/v4")
    code, report, stderr = compile_json(root)
    assert code == 0 and report["changed"], stderr
    assert (root / RENDER_CACHE).stat().st_mtime_ns == cache_written
    assert_same_as_a_fresh_clone(root, tmp_path)
    assert unchanged(root, None) is not None
    code, report, _ = compile_json(root, "--check")
    assert code == 0 and not report["stale"]


def test_two_edits_in_a_row_each_give_the_fresh_bytes(root: Path, tmp_path: Path) -> None:
    edit(root, "iris-classifier/v3", "iris-classifier/v4")
    assert compile_json(root)[0] == 0
    edit(root, "iris-classifier/v4", "iris-classifier/v5")
    edit(root, "version: 7", "version: 8", OTHER)
    assert sorted(delta(root).changed) == sorted([MODEL.as_posix(), OTHER.as_posix()])
    assert compile_json(root)[0] == 0
    assert_same_as_a_fresh_clone(root, tmp_path)


EDITS = [  # (file, old, new): what people do to model files, one commit at a time
    (MODEL, "iris-classifier/v3", "iris-classifier/v4"),  # a promotion: compiled alone
    (OTHER, "version: 7", "version: 9"),
    (MODEL, "replicas: 2", "replicas: 3"),  # the team caps read it: the whole run
    (MODEL, "description: Iris", "description: The iris"),  # compiled alone
    (OTHER, "team: risk", "team: logistics"),  # CODEOWNERS changes: the whole run
    (MODEL, "iris-classifier/v4", "iris-classifier/v5"),
]


def test_a_day_of_edits_always_gives_a_fresh_clones_bytes(root: Path, tmp_path: Path) -> None:
    """Edits one after another, each compiled alone or by the whole run, the model added and removed
    on the way: after every one, generated/ and CODEOWNERS are what a fresh clone compiles."""
    added = root / "models" / "iris-copy.yaml"
    for step, (path, old, new) in enumerate(EDITS):
        edit(root, old, new, path)
        if step == 2:
            added.write_text((root / MODEL).read_text().replace("name: iris-classifier", "name: iris-copy"))
        if step == 4:
            added.unlink()
        time.sleep(0.1)
        code, _, stderr = compile_json(root)
        assert code == 0, (step, stderr)
        assert_same_as_a_fresh_clone(root, tmp_path / f"step-{step}")
        assert compile_json(root, "--check")[0] == 0
