"""generated/ is replaced atomically, and a compile imports no heavy libraries."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import modelops.compile.emit.tree as output
import pytest
from modelops.compile.emit.tree import read_hashes, read_tree, replace_tree
from support.fixtures import copy_example_repo

ROOT = Path(__file__).resolve().parents[3]
OLD = {
    "staging/kustomization.yaml": "old: staging\n",
    "staging/ns/a/seldondeployment.yaml": "old: a\n",
    "production/ns/orphan/service.yaml": "old: orphan\n",
}
NEW = {
    "staging/kustomization.yaml": "new: staging\n",
    "staging/ns/a/seldondeployment.yaml": "new: a\n",
    "staging/ns/b/seldondeployment.yaml": "new: b\n",
    "production/kustomization.yaml": "new: production\n",
    "production/ns/b/service.yaml": "new: b service\n",
}


def snapshot(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def encoded(files: dict[str, str]) -> dict[str, bytes]:
    return {name: text.encode() for name, text in sorted(files.items())}


def leftovers(parent: Path, name: str = "generated") -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f"{name}."))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "generated"
    replace_tree(path, OLD)
    return path


# --- replace_tree ----------------------------------------------------------------------------


def test_replace_tree_creates_missing_target(tmp_path: Path) -> None:
    path = tmp_path / "generated"
    replace_tree(path, NEW)
    assert snapshot(path) == encoded(NEW)
    assert leftovers(tmp_path) == []


def test_replace_tree_holds_exactly_the_files(target: Path) -> None:
    assert snapshot(target) == encoded(OLD)
    replace_tree(target, NEW)
    assert snapshot(target) == encoded(NEW)
    assert read_tree(target) == NEW
    assert not (target / "production/ns/orphan").exists()  # stale folders go away too
    assert leftovers(target.parent) == []


def test_replace_tree_with_nothing_empties_target(target: Path) -> None:
    replace_tree(target, {})
    assert target.is_dir()
    assert snapshot(target) == {}
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("fail_after", [0, 1, 3, len(NEW) - 1])
def test_failed_write_keeps_old_tree(
    target: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    original = output._create
    written: list[Path] = []

    def flaky(path: Path, text: str) -> None:
        if len(written) >= fail_after:
            raise OSError(28, "No space left on device")
        written.append(path)
        original(path, text)

    monkeypatch.setattr(output, "_create", flaky)
    with pytest.raises(output.WriteFailed, match=r"MO014 cannot write generated/: No space left on device "
                       r"\(ENOSPC\); generated/ is unchanged"):
        replace_tree(target, NEW)
    monkeypatch.undo()
    assert len(written) == fail_after
    assert snapshot(target) == encoded(OLD)
    assert leftovers(target.parent) == []


def test_interrupt_during_write_keeps_old_tree(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = output._create
    calls = []

    def interrupted(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        original(path, text)

    monkeypatch.setattr(output, "_create", interrupted)
    with pytest.raises(KeyboardInterrupt):
        replace_tree(target, NEW)
    monkeypatch.undo()
    assert snapshot(target) == encoded(OLD)
    assert leftovers(target.parent) == []


def test_failed_swap_keeps_old_tree(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelops.compile.emit.tree as output

    def broken(a: Path, b: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(output, "_exchange", broken)
    with pytest.raises(OSError):
        replace_tree(target, NEW)
    assert snapshot(target) == encoded(OLD)
    assert leftovers(target.parent) == []


def test_fallback_swap_without_renameat2(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where renameat2 is missing, the two-rename fallback still ends with exactly the new tree."""
    import ctypes

    class NoRenameat2:
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            pass

    monkeypatch.setattr(ctypes, "CDLL", NoRenameat2)
    replace_tree(target, NEW)
    assert snapshot(target) == encoded(NEW)
    assert leftovers(target.parent) == []


KILLED_BETWEEN_RENAMES = """
import ctypes, os, sys
from pathlib import Path
from modelops.compile.emit import tree as output

class NoRenameat2:
    def __init__(self, *args, **kwargs):
        pass

ctypes.CDLL = NoRenameat2
renames = []
real_rename = os.rename

def rename(a, b):
    renames.append((a, b))
    if len(renames) == 2:  # the old tree is aside, the new one not yet in place
        os._exit(9)
    real_rename(a, b)

os.rename = rename
output.replace_tree(Path(sys.argv[1]), {"production/ns/m.yaml": "new\\n"})
"""


def test_an_old_tree_left_by_a_killed_fallback_swap_is_removed(target: Path) -> None:
    """Off Linux the swap is three renames; a run killed between them leaves the old tree aside,
    under a name with its process id, which the next run removes like a staging tree."""
    child = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_RENAMES, str(target)], cwd=ROOT)
    assert child.returncode == 9
    assert not target.exists() and leftovers(target.parent)
    replace_tree(target, NEW)
    assert snapshot(target) == encoded(NEW)
    assert leftovers(target.parent) == []


THIRD = {**NEW, "staging/ns/b/seldondeployment.yaml": "third: b\n", "staging/ns/c/hpa.yaml": "third: c\n"}


# --- a tree staged while the compile runs ------------------------------------------------------


def test_a_staged_tree_ends_with_exactly_the_final_files(target: Path) -> None:
    """Files arrive as models compile; the final set may drop, change or add some. Files the live
    tree already holds are hard links into it."""
    current = read_hashes(target)
    staged = output.Staging(target, current)
    staged.add({"staging/ns/a/seldondeployment.yaml": "old: a\n", "staging/ns/x/dropped.yaml": "x\n"})
    staged.add({"production/ns/b/service.yaml": "draft\n"})
    replace_tree(target, NEW, current, None, staged)
    assert snapshot(target) == encoded(NEW)
    assert leftovers(target.parent) == []
    final = {**NEW, "staging/ns/a/seldondeployment.yaml": "old: a\n"}
    current = read_hashes(target)
    staged = output.Staging(target, current)
    staged.add(final)
    unchanged = "production/ns/b/service.yaml"
    assert (staged.path / unchanged).stat().st_ino == (target / unchanged).stat().st_ino
    replace_tree(target, final, current, None, staged)
    assert snapshot(target) == encoded(final)
    assert leftovers(target.parent) == []


def test_a_staging_tree_patches_the_spare_as_files_arrive(tmp_path: Path) -> None:
    """With a spare tree, staging is that tree patched while models compile: a file it shares with
    the live tree (one inode) and whose text is wanted is left as it is; the old tree becomes the spare."""
    target, spare = tmp_path / "generated", tmp_path / "spare"
    replace_tree(target, OLD, {}, spare)
    replace_tree(target, NEW, read_hashes(target), spare)  # the spare now holds OLD
    replace_tree(target, NEW, read_hashes(target), spare)  # and now links to NEW's files
    shared = "production/ns/b/service.yaml"
    inode = (target / shared).stat().st_ino
    staged = output.Staging(target, read_hashes(target), spare)
    assert staged.path == spare
    staged.add(THIRD)
    assert (spare / shared).stat().st_ino == inode
    replace_tree(target, THIRD, read_hashes(target), spare, staged)
    assert snapshot(target) == encoded(THIRD)
    assert (target / shared).stat().st_ino == inode
    assert snapshot(spare) == encoded(NEW)
    assert leftovers(tmp_path) == []


def test_a_staged_tree_takes_unchanged_files_by_name_without_their_texts(target: Path) -> None:
    """A run hands over the files it rendered; those it did not render (cached models) are named,
    and come from the live tree as it holds them."""
    staged = output.Staging(target, read_hashes(target))
    changed = {"staging/ns/a/seldondeployment.yaml": "new: a\n"}
    staged.add(changed)
    replace_tree(target, {}, None, None, staged, [*changed, *(set(OLD) - set(changed))])
    assert snapshot(target) == encoded({**OLD, **changed})


def test_a_failed_write_while_staging_removes_the_staged_tree(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = output.Staging(target, read_hashes(target))

    def full(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_create", full)
    staged.add(NEW)  # stops quietly: a run that changes nothing needs no staged tree
    assert leftovers(target.parent) == []
    with pytest.raises(output.WriteFailed, match="MO014 cannot write generated/: No space left"):
        staged.complete(NEW)
    assert snapshot(target) == encoded(OLD)
    assert leftovers(target.parent) == []


# --- the spare tree: later runs patch the tree the previous run replaced ----------------------



def test_spare_tree_runs_end_with_exactly_the_files(tmp_path: Path) -> None:
    target, spare = tmp_path / "generated", tmp_path / "cache" / "previous"
    for files in (OLD, NEW, THIRD, OLD, {}, NEW):
        replace_tree(target, files, read_hashes(target) if target.exists() else {}, spare)
        assert snapshot(target) == encoded(files)
        assert leftovers(tmp_path) == []
    assert spare.is_dir()  # kept for the next run


def test_spare_tree_never_writes_through_to_the_live_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged files are hard links shared by both trees: patching the spare must leave the live
    tree as it was until the swap, so a run that fails before it changes nothing."""
    import modelops.compile.emit.tree as output

    target, spare = tmp_path / "generated", tmp_path / "spare"
    replace_tree(target, OLD, {}, spare)
    replace_tree(target, NEW, read_hashes(target), spare)
    replace_tree(target, NEW, read_hashes(target), spare)
    shared = "staging/ns/b/seldondeployment.yaml"  # THIRD changes it
    assert (spare / shared).stat().st_ino == (target / shared).stat().st_ino

    def broken(a: Path, b: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(output, "_exchange", broken)
    with pytest.raises(OSError):
        replace_tree(target, THIRD, read_hashes(target), spare)
    assert snapshot(target) == encoded(NEW)
    monkeypatch.undo()
    replace_tree(target, THIRD, read_hashes(target), spare)
    assert snapshot(target) == encoded(THIRD)


def test_spare_tree_repairs_files_edited_in_place(tmp_path: Path) -> None:
    """An edit in place changes both hard links; the next run must still write the wanted text."""
    target, spare = tmp_path / "generated", tmp_path / "spare"
    replace_tree(target, OLD, {}, spare)
    replace_tree(target, NEW, read_hashes(target), spare)
    replace_tree(target, NEW, read_hashes(target), spare)  # the spare now shares NEW's inodes
    with open(target / "staging/ns/a/seldondeployment.yaml", "a") as stream:
        stream.write("hand: edit\n")
    (spare / "staging/ns/stray.yaml").write_text("stray\n")  # and junk in the spare itself
    replace_tree(target, NEW, read_hashes(target), spare)
    assert snapshot(target) == encoded(NEW)


# --- SIGKILL never leaves a partial tree -----------------------------------------------------

# The child replaces a tree of many files, announcing each write so the parent can kill it at
# a chosen point: while staging files, and (for the highest counts) around the swap itself.
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import modelops.compile.emit.tree as output
    from modelops.compile.emit.tree import read_hashes, replace_tree

    original = output._create
    count = 0

    def announced(path, text):
        global count
        original(path, text)
        count += 1
        print(count, flush=True)

    output._create = announced
    files = {f"env/ns/m{i:04d}/seldondeployment.yaml": f"new: {i}\\n" for i in range(N)}
    spare = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    replace_tree(Path(sys.argv[1]), files, read_hashes(Path(sys.argv[1])), spare)
    print("done", flush=True)
    """
)
CHILD_FILES = 400


def _old_tree() -> dict[str, str]:
    return {f"env/ns/m{i:04d}/seldondeployment.yaml": f"old: {i}\n" for i in range(CHILD_FILES)}


@pytest.mark.slow
@pytest.mark.parametrize("with_spare", [False, True], ids=["fresh", "spare"])
@pytest.mark.parametrize("kill_at", [1, 50, 200, CHILD_FILES - 1, CHILD_FILES])
def test_sigkill_during_replace_never_leaves_partial_tree(
    tmp_path: Path, kill_at: int, with_spare: bool
) -> None:
    target, spare = tmp_path / "generated", tmp_path / "cache" / "previous"
    old = _old_tree()
    replace_tree(target, old)
    if with_spare:  # a second run keeps the first tree as the spare the killed run patches
        replace_tree(target, old, read_hashes(target), spare)
        assert spare.is_dir()
    new = {name: text.replace("old", "new") for name, text in old.items()}
    extra = [str(spare)] if with_spare else []
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.replace("(N)", f"({CHILD_FILES})"), str(target), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "done" or int(line) >= kill_at:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert child.stderr is not None
    child.stderr.close()
    tree = snapshot(target)
    assert tree in (encoded(old), encoded(new)), f"partial tree after SIGKILL at {kill_at}"
    # A killed run may leave its staging folder behind, but never inside generated/.
    assert not any(".tmp-" in name for name in tree)
    replace_tree(target, new, read_hashes(target), spare if with_spare else None)  # the next run
    assert snapshot(target) == encoded(new)


def _copy_repo(destination: Path) -> Path:
    return copy_example_repo(destination, commit=False)


def _modelops() -> str:
    return str(Path(sys.executable).parent / "modelops")


@pytest.mark.slow
def test_sigkill_during_real_compile(tmp_path: Path, crd_dir: Path) -> None:
    """Kill `modelops compile` at spread-out moments: generated/ is always old or new, whole."""
    env = {**os.environ, "MODELOPS_CRD_DIR": str(crd_dir)}
    reference = _copy_repo(tmp_path / "reference")
    subprocess.run(
        [_modelops(), "compile"], cwd=reference, env=env, check=True, capture_output=True
    )
    new = snapshot(reference / "generated")

    def stale_copy(name: str) -> tuple[Path, dict[str, bytes]]:
        work = _copy_repo(tmp_path / name)
        edited = work / "generated/production/kustomization.yaml"
        edited.write_text(edited.read_text() + "# hand edit\n")
        (work / "generated/production/models/gone").mkdir()
        (work / "generated/production/models/gone/service.yaml").write_text("orphan: true\n")
        return work, snapshot(work / "generated")

    work, _ = stale_copy("timing")
    start = time.monotonic()
    subprocess.run([_modelops(), "compile"], cwd=work, env=env, check=True, capture_output=True)
    duration = time.monotonic() - start

    for attempt, fraction in enumerate([0.5, 0.7, 0.8, 0.9, 0.95, 1.0]):
        work, old = stale_copy(f"kill-{attempt}")
        child = subprocess.Popen(
            [_modelops(), "compile"],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(duration * fraction)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        tree = snapshot(work / "generated")
        assert tree in (old, new), f"partial generated/ after SIGKILL at {fraction:.0%}"


# --- heavy imports ---------------------------------------------------------------------------

HEAVY = ("mlflow", "kubernetes", "github")
IMPORTS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import modelops.cli.main
    from modelops.compile.pipeline import build

    result = build(Path(sys.argv[1]), None, Path(sys.argv[2]))
    assert not result.diagnostics, result.diagnostics
    assert result.files
    try:
        modelops.cli.main.cli.main(["compile", "-C", sys.argv[1]], standalone_mode=False)
    except SystemExit as exc:
        assert not exc.code, exc.code
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
    print(json.dumps(heavy))
    """
)


def test_compile_imports_no_heavy_libraries(tmp_path: Path, crd_dir: Path) -> None:
    work = _copy_repo(tmp_path / "repo")
    env = {**os.environ, "MODELOPS_CRD_DIR": str(crd_dir)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            IMPORTS.replace("in HEAVY", f"in {HEAVY!r}"),
            str(work),
            str(crd_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    heavy = json.loads(result.stdout.strip().splitlines()[-1])
    assert heavy == []


def test_a_new_staging_tree_removes_those_of_killed_runs(target: Path) -> None:
    killed = target.parent / "generated.tmp-killed"
    (killed / "staging").mkdir(parents=True)
    (killed / "staging" / "half.yaml").write_text("half\n")
    staged = output.Staging(target, read_hashes(target))
    assert leftovers(target.parent) == [staged.path.name]
    staged.discard()
    assert leftovers(target.parent) == []
    assert snapshot(target) == encoded(OLD)


def test_a_staging_tree_of_a_running_compile_is_left_alone(target: Path) -> None:
    """Two compiles at once: neither removes the tree the other is staging."""
    running = target.parent / f"generated.tmp-{os.getppid()}-abc"  # pytest's parent is alive
    dead = target.parent / "generated.tmp-999999999-abc"
    for folder in (running, dead):
        (folder / "ns").mkdir(parents=True)
    staged = output.Staging(target, read_hashes(target))
    assert running.is_dir() and not dead.exists()
    staged.discard()
    shutil.rmtree(running)


def test_a_staging_tree_removed_half_way_is_never_swapped_in(target: Path) -> None:
    staged = output.Staging(target, read_hashes(target))
    staged.add({"staging/ns/a/seldondeployment.yaml": "new: a\n"})
    shutil.rmtree(staged.path)
    with pytest.raises(FileNotFoundError):
        replace_tree(target, NEW, read_hashes(target), None, staged)
    assert snapshot(target) == encoded(OLD)


def test_a_failed_exchange_leaves_the_tree_in_place(target: Path) -> None:
    """Only a file system that cannot exchange falls back to renames; other errors change nothing."""
    with pytest.raises(FileNotFoundError):
        output._exchange(target.parent / "generated.tmp-missing", target)
    assert snapshot(target) == encoded(OLD)
    assert leftovers(target.parent) == []
