"""A few edited model files compiled alone, standing for the whole run when nothing shared changed.

When `unchanged.since_last` finds only a few model files edited since the last clean run, each of
them is read, checked and rendered on its own. When every one is clean and keeps the shared digest
the last run recorded for it (`summary.shared_digest`: all that the checks across models, the
environments' shared files, the kustomizations and CODEOWNERS read of a model), the whole run would
differ from the last one in these models' own files only, so those files are its answer: the other
models are not read. Anything else (a problem, a new name or namespace, other replicas or info
series) leaves the answer to the whole run, which reports and writes as always.
"""

from __future__ import annotations

from pathlib import Path

from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.validate import ManifestValidator
from modelops.compile.pipeline import check_text, render_model
from modelops.compile.project import Project
from modelops.compile.source import read_source
from modelops.compile.summary import shared_digest
from modelops.compile.unchanged import Delta


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
        if checked.errors or summary is None or shared_digest(summary.to_json()) != digests[shown]:
            return None
        rendered = render_model(checked.deployed, validator, project.config_doc)
        if rendered.diagnostics:
            return None
        files.update(rendered.files)
    return files
