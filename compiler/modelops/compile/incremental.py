"""A few edited model files compiled alone, standing for the whole run when nothing shared changed.

When `unchanged.since_last` finds only a few model files edited since the last clean run, each of
them is read, checked and rendered on its own. When every one is clean and keeps the shared digest
the last run recorded for it (`ModelSummary.shared_digest`: all that the checks across models, the
environments' shared files, the kustomizations and CODEOWNERS read of a model), the whole run would
differ from the last one in these models' own files only, so those files are its answer: the other
models are not read. Anything else (a problem, a new name or namespace, other replicas or info
series) leaves the answer to the whole run, which reports and writes as always.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.tree import GENERATED, patch_tree, read_files, spare_tree, stale_diff
from modelops.compile.emit.validate import ManifestValidator
from modelops.compile.pipeline import check_text, render_model
from modelops.compile.project import Project
from modelops.compile.source import read_source
from modelops.compile.unchanged import Delta, refresh


@dataclass(frozen=True)
class Answer:
    """What the whole run would have reported: its models, the files it wants, the repository paths
    that changed (or are stale, with --check) and, with --check, their diff."""

    models: list[str]
    files: int
    changed: list[str]
    diff: str


def compile_changed(root: Path, delta: Delta, crd_dir: Path | None, check: bool, started_ns: int
                    ) -> Answer | None:
    """Compile `delta`'s edited model files alone: with `check`, compare their files with disk; else
    patch those that differ into generated/ (atomically) and record the run. None when the whole
    run must answer (a model that is not clean, or changes something shared; no spare tree)."""
    files = render_changed(root, delta, crd_dir)
    if files is None:
        return None
    wanted = {f"{GENERATED}/{name}": text for name, text in files.items()}
    current = read_files(root, list(wanted))
    changed = sorted(name for name in wanted if current.get(name) != wanted[name])
    answer = Answer(delta.verdict.models, delta.verdict.files, changed, "")
    if check:
        if not changed:
            refresh(root, delta, started_ns, [])
        return replace(answer, diff=stale_diff(current, wanted, prefix=""))
    touched: list[str] = []
    if changed:
        start = len(GENERATED) + 1
        live = {name[start:]: found[0] for name, found in delta.record["outputs"].items()
                if name.startswith(f"{GENERATED}/")}  # as since_last saw them
        patched = patch_tree(root / GENERATED, spare_tree(root),
                             {name[start:]: wanted[name] for name in changed}, live)
        if patched is None:
            return None
        touched = [f"{GENERATED}/{name}" for name in patched]
    refresh(root, delta, started_ns, touched)
    return answer


def render_changed(root: Path, delta: Delta, crd_dir: Path | None) -> dict[str, str] | None:
    """The files (under generated/) of `delta`'s edited models, or None when the whole run must
    answer."""
    project = Project.load(root)
    if project.config is None:
        return None
    validator = ManifestValidator(SchemaSet.find(crd_dir, root))
    digests = delta.record["digests"]
    files: dict[str, str] = {}
    for shown in delta.changed:
        path = root / shown
        text, errors = read_source(path, shown, root)
        if text is None or errors:
            return None
        checked = check_text(text, shown, path, project.config, project.config_doc)
        summary = checked.summary
        if checked.errors or summary is None or summary.shared_digest() != digests[shown]:
            return None
        rendered = render_model(checked.deployed, validator, project.config_doc)
        if rendered.diagnostics:
            return None
        files.update(rendered.files)
    return files
