"""A whole compile run: every model built with the output writer as its sink, compared with
generated/, then written (atomically) or, with --check, diffed; a clean run is recorded.

The run holds hashes, not texts: generated/ is known by the SHA-256 of each file (`read_hashes`),
each model's files go to the staging tree (or, with --check, are kept only when they differ from
disk) as they arrive, and cached models' files are never read. A run over 10,000 models holds a few
megabytes of its tree, not all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path

from modelops.compile.emit.tree import (
    GENERATED,
    Staging,
    differing,
    read_files,
    read_hashes,
    replace_tree,
    spare_tree,
    stale_diff,
    text_hash,
    write_repo_files,
)
from modelops.compile.incremental import Answer
from modelops.compile.memory import give_back
from modelops.compile.pipeline import Build, build
from modelops.compile.unchanged import record
from modelops.diagnostics import Diagnostic


def compile_all(root: Path, crd_dir: Path | None, check: bool, started_ns: int,
                on_progress: Callable[[int, int], None] | None = None) -> Answer | list[Diagnostic]:
    """Compile every model: with `check`, compare with disk and diff what is stale; else make
    generated/ (and the repository files beside it) hold the result. The run's problems instead,
    when there are any (nothing is written then)."""
    give_back()  # what looking for a shortcut held (the record of the last run)
    ran = _run(root, crd_dir, check, on_progress)  # what the run held is let go before recording
    if isinstance(ran, list):
        return ran
    answer, result, wanted = ran
    give_back()
    if not check or not answer.changed:
        record(root, crd_dir, started_ns, result.models, wanted, result.digests)
    return answer


def _run(root: Path, crd_dir: Path | None, check: bool, on_progress: Callable[[int, int], None] | None,
         ) -> tuple[Answer, Build, dict[str, str]] | list[Diagnostic]:
    """(what compile reports, the run, every file it wants: repository path -> SHA-256)."""
    current = read_hashes(root / GENERATED)
    spare = None if check else spare_tree(root)
    with nullcontext() if check else Staging(root / GENERATED, current, spare) as staged:
        sink = partial(differing, current) if staged is None else staged.add
        result = build(root, None, crd_dir, sink=sink, on_progress=on_progress, current=current)
        if result.diagnostics:
            return result.diagnostics
        changed = _changed(root, result, current)
        if staged is not None and any(name.startswith(f"{GENERATED}/") for name in changed):
            replace_tree(root / GENERATED, result.files, current, spare, staged, result.hashes)
    wanted = {f"{GENERATED}/{name}": hashed for name, hashed in result.hashes.items()}
    wanted.update({name: text_hash(text) for name, text in result.repo_files.items()})
    if not check:
        write_repo_files(root, result.repo_files)
    diff = _diff(root, result, changed) if check else ""
    return Answer(result.models, len(wanted), changed, diff), result, wanted


def _changed(root: Path, result: Build, current: dict[str, str]) -> list[str]:
    """The repository paths whose text the run changes (or, with --check, finds stale)."""
    changed = [f"{GENERATED}/{name}" for name, hashed in result.hashes.items() if current.get(name) != hashed]
    changed += [f"{GENERATED}/{name}" for name in current.keys() - result.hashes.keys()]
    on_disk = read_files(root, list(result.repo_files))
    changed += [name for name, text in result.repo_files.items() if on_disk.get(name) != text]
    return sorted(changed)


def _diff(root: Path, result: Build, changed: list[str]) -> str:
    """The diff of the stale files: what disk holds (read now) against the texts the check kept."""
    texts = {f"{GENERATED}/{name}": text for name, text in result.files.items()}
    texts.update(result.repo_files)
    after = {name: texts[name] for name in changed if name in texts}
    return stale_diff(read_files(root, changed), after, prefix="")
