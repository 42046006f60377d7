"""`modelops compile [--check]`: writing generated/, staleness, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from modelops.compile.unchanged import FILE as UNCHANGED_RECORD
from support.cli import (
    ROOT,
    assert_no_traceback,
    copy_repo,
    run,
    snapshot,
)


def test_compile_produces_files(tmp_path: Path, crd_dir: Path) -> None:
    work = copy_repo(tmp_path / "repo")
    shutil.rmtree(work / "generated")
    result = run("compile", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    files = snapshot(work / "generated")
    assert "production/kustomization.yaml" in files
    assert "staging/models-staging/iris-classifier.yaml" in files
    assert files == snapshot(ROOT / "generated")
    assert not list(tmp_path.glob("repo/generated.tmp-*"))


def test_compile_check_up_to_date(work: Path, crd_dir: Path) -> None:
    result = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_compile_check_detects_hand_edit(work: Path, crd_dir: Path) -> None:
    target = work / "generated/production/models/eta-courier.yaml"
    target.write_text(target.read_text().replace("traffic: 90", "traffic: 80"))
    before = snapshot(work / "generated")
    result = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    name = "generated/production/models/eta-courier.yaml"
    assert f"--- a/{name}" in result.stdout
    assert f"+++ b/{name}" in result.stdout
    assert "\n-    traffic: 80\n" in result.stdout
    assert "\n+    traffic: 90\n" in result.stdout
    assert "@@" in result.stdout
    assert "stale or hand-edited" in result.stderr
    assert snapshot(work / "generated") == before  # --check writes nothing
    fixed = run("compile", cwd=work, crd_dir=crd_dir)
    assert fixed.returncode == 0, fixed.stderr
    assert snapshot(work / "generated") == snapshot(ROOT / "generated")


def test_compile_check_json(work: Path, crd_dir: Path) -> None:
    target = work / "generated/staging/kustomization.yaml"
    target.write_text(target.read_text() + "# hand edit\n")
    result = run("compile", "--check", "-o", "json", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["command"] == "compile"
    assert payload["stale"] is True
    assert payload["changed"] == ["generated/staging/kustomization.yaml"]
    assert "-# hand edit" in payload["diff"]
    assert "+++ b/generated/staging/kustomization.yaml" in payload["diff"]  # the text it should hold


def test_deleted_model_leaves_stale_files_until_compiled(work: Path, crd_dir: Path) -> None:
    (work / "models" / "iris-classifier.yaml").unlink()
    check = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert check.returncode == 1
    assert_no_traceback(check)
    orphan = "generated/production/models/iris-classifier.yaml"
    assert f"--- a/{orphan}" in check.stdout
    assert "+++ /dev/null" in check.stdout
    assert (work / orphan).is_file()

    result = run("compile", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert not (work / "generated/production/models/iris-classifier.yaml").exists()
    assert not (work / "generated/staging/models-staging/iris-classifier.yaml").exists()
    assert "iris-classifier" not in (work / "generated/production/kustomization.yaml").read_text()
    again = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert again.returncode == 0, again.stdout + again.stderr


def _stats(root: Path) -> dict[str, tuple[int, int]]:
    """mtime and inode of every file but the unchanged-tree record (which a run may settle)."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != UNCHANGED_RECORD
    }


def test_compile_twice_is_identical_and_does_not_rewrite(work: Path, crd_dir: Path) -> None:
    first = run("compile", cwd=work, crd_dir=crd_dir)
    assert first.returncode == 0, first.stderr
    files, stats = snapshot(work / "generated"), _stats(work)
    second = run("compile", cwd=work, crd_dir=crd_dir)
    assert second.returncode == 0, second.stderr
    assert "0 changed" in second.stdout
    assert snapshot(work / "generated") == files
    assert _stats(work) == stats
    assert not list(work.glob("generated.tmp-*"))


def test_compile_is_deterministic_across_hash_seeds(tmp_path: Path, crd_dir: Path) -> None:
    trees = []
    for seed in ("0", "1", "4242"):
        work = copy_repo(tmp_path / f"seed-{seed}")
        shutil.rmtree(work / "generated")
        (work / ".github" / "CODEOWNERS").unlink(missing_ok=True)
        result = run("compile", cwd=work, crd_dir=crd_dir, env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        trees.append({**snapshot(work / "generated"), **snapshot(work / ".github")})
    assert trees[0]
    assert trees[0] == trees[1] == trees[2]
