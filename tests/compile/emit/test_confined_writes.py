"""Issue 27: every write stays inside the repository, special files are errors that never block,
and file-system errors are one diagnostic with the old generated/ intact and no temporary left."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import modelops.compile.emit.tree as tree
import pytest
from support.fixtures import copy_example_repo, edit, run

MODEL = "models/iris-classifier.yaml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example_repo(tmp_path / "repo", commit=False, codeowners=True)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(root: Path) -> list[str]:
    found = [p.name for p in root.iterdir() if ".tmp-" in p.name]
    return found + [p.as_posix() for p in root.rglob(".*.tmp-*")]


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return lines[0]


def change_a_model(root: Path) -> None:
    edit(root / MODEL, "interval: 30s", "interval: 31s")


# --- symlinks out of the repository -------------------------------------------------------------

def test_a_symlinked_github_folder_is_never_written_through(example: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (example / ".github" / "CODEOWNERS").unlink()
    (example / ".github").rmdir()
    (example / ".github").symlink_to(outside)
    result = run(example, "compile")
    assert result.returncode == 1
    assert one_line(result).startswith(".github:1:1: MO009 .github is a symlink or not a folder")
    assert files_under(outside) == []


@pytest.mark.parametrize("args", [("compile",), ("compile", "--check")])
def test_a_symlinked_cache_folder_is_never_written_through(example: Path, tmp_path: Path,
                                                           args: tuple[str, ...]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (example / ".modelops-cache").symlink_to(outside)
    result = run(example, *args)
    assert result.returncode == 1
    assert one_line(result).startswith(".modelops-cache:1:1: MO009 .modelops-cache is a symlink")
    assert files_under(outside) == []  # no lock, no render.json, no previous-generated


def test_a_symlink_inside_the_spare_tree_is_never_written_through(example: Path, tmp_path: Path) -> None:
    assert run(example, "compile").returncode == 0
    change_a_model(example)
    assert run(example, "compile").returncode == 0  # now there is a spare tree
    spare = example / ".modelops-cache" / "previous-generated" / "staging"
    outside = tmp_path / "outside"
    outside.mkdir()
    os.rename(spare, tmp_path / "moved")
    spare.symlink_to(outside)
    edit(example / MODEL, "interval: 31s", "interval: 32s")
    assert run(example, "compile").returncode == 0
    assert files_under(outside) == []
    assert "interval: 32s" in (example / "generated" / "staging" / "models-staging"
                               / "iris-classifier.yaml").read_text()


# --- special files ------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("validate",), ("compile", "--check"), ("compile",)])
def test_a_fifo_in_models_is_an_error_and_never_blocks(example: Path, args: tuple[str, ...]) -> None:
    os.mkfifo(example / "models" / "pipe.yaml")
    before = snapshot(example / "generated")
    result = run(example, *args, timeout=60)
    assert result.returncode == 1
    line = [ln for ln in result.stderr.splitlines() if "MO007" in ln]
    assert line == ["models/pipe.yaml:1:1: MO007 not a regular file: modelops reads plain files only"]
    assert snapshot(example / "generated") == before


# --- file-system errors -------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "name"), [(errno.EACCES, "EACCES"), (errno.EPERM, "EPERM"),
                                            (errno.EROFS, "EROFS"), (errno.ENOSPC, "ENOSPC"),
                                            (errno.EDQUOT, "EDQUOT")])
def test_a_refused_repository_file_write_is_one_diagnostic_and_leaves_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, name: str) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("old\n")

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tree.os, "replace", refused)
    with pytest.raises(tree.WriteFailed) as error:
        tree.write_file(tmp_path / ".github" / "CODEOWNERS", "new\n", tmp_path)
    [diagnostic] = error.value.diagnostics
    assert str(diagnostic) == (".github/CODEOWNERS:1:1: MO014 cannot write .github/CODEOWNERS: "
                               f"{os.strerror(code)} ({name})")
    assert (tmp_path / ".github" / "CODEOWNERS").read_text() == "old\n"
    assert sorted(p.name for p in (tmp_path / ".github").iterdir()) == ["CODEOWNERS"]


def _root() -> bool:
    return os.geteuid() == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 600 KiB tmpfs (root only)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if not _root() or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
                                     capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_keeps_the_old_tree(tmpfs: Path, tmp_path: Path) -> None:
    root = copy_example_repo(tmpfs / "repo", commit=False, codeowners=True)
    change_a_model(root)
    before = snapshot(root / "generated")
    filler = os.open(tmpfs / "filler", os.O_WRONLY | os.O_CREAT)  # fill the disk
    try:
        while os.write(filler, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(filler)
    result = run(root, "compile", env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert result.returncode == 1
    assert one_line(result) == ("generated:1:1: MO014 cannot write generated/: No space left on device "
                                "(ENOSPC); generated/ is unchanged")
    assert snapshot(root / "generated") == before
    assert leftovers(root) == []


def test_a_read_only_checkout_is_one_line_and_succeeds_when_nothing_changed(tmpfs: Path,
                                                                             tmp_path: Path) -> None:
    root = copy_example_repo(tmpfs / "repo", commit=False, codeowners=True)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert run(root, "compile", env=env).returncode == 0  # nothing to write
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    change_a_model(root)
    before = snapshot(root / "generated")
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    result = run(root, "compile", env=env)
    assert result.returncode == 1
    assert one_line(result) == ("generated:1:1: MO014 cannot write generated/: Read-only file system "
                                "(EROFS); generated/ is unchanged")
    assert snapshot(root / "generated") == before


def test_an_immutable_generated_folder_is_one_line(example: Path) -> None:
    if not _root():
        pytest.skip("chattr +i needs root")
    assert run(example, "compile").returncode == 0
    change_a_model(example)
    before = snapshot(example / "generated")
    if subprocess.run(["chattr", "+i", str(example / "generated")], capture_output=True).returncode:
        pytest.skip("no chattr on this file system")
    try:
        result = run(example, "compile")
    finally:
        subprocess.run(["chattr", "-i", str(example / "generated")], check=True)
    assert result.returncode == 1
    assert one_line(result) == ("generated:1:1: MO014 cannot write generated/: Operation not permitted "
                                "(EPERM); generated/ is unchanged")
    assert snapshot(example / "generated") == before
    assert leftovers(example) == []
