"""A repository as an editor sees it: modelops.yaml and every model file, open buffers over the disk.

`validate` reads every file and checks it; an editor changes one buffer at a time. The workspace
checks every model file once (`compile.pipeline.check_text`, what a run does per file) and keeps its
diagnostics and summary; a change to a model buffer checks that text again and reruns the checks
across models over the summaries kept (`compile.pipeline.across_models`), a change to modelops.yaml
checks every model again. What a file is told is what `modelops validate` reports for it: its own
problems, those across models that point into it, and the render stage's (credentials in output,
schema problems of what would be generated) once nothing anywhere fails before rendering.

Two differences, both for speed. The render stage runs for the open files (and modelops.yaml's own
objects): a problem it blames on modelops.yaml through a model's objects shows once such a model is
open. The rollout gate (MO405) judges the open buffers by their history; files not open are checked
without it (reading every file's history takes seconds per thousand models), so their MO405 does not
hold back the render stage of the open ones as it holds back validate's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelops.compile.emit.schemas import MissingSchemaFolder, SchemaSet
from modelops.compile.emit.validate import ManifestValidator
from modelops.compile.pipeline import Checked, across_models, check_text, config_objects, render_model
from modelops.compile.project import CONFIG_FILE, MODELS_DIR, config_from_text, load_config, model_files
from modelops.compile.rules.policy import HistoryReader
from modelops.compile.source import Document, buffer_source, read_source
from modelops.compile.spec import RepoConfig
from modelops.diagnostics import Diagnostic

# Given the config a check runs with (None when it is not valid), the history reader of open buffers.
HistoryFor = Callable[[RepoConfig | None], HistoryReader | None]


@dataclass
class _File:
    """One model file: its text (None when it cannot be read), what checking it alone found and, once
    asked for, the problems of its render stage."""

    text: str | None
    checked: Checked
    rendered: list[Diagnostic] | None = None


class Workspace:
    """The diagnostics of one repository (`root` holds modelops.yaml) as its buffers change."""

    def __init__(self, root: Path, history_for: HistoryFor | None = None) -> None:
        self.root = root
        self._history_for = history_for
        self._history: HistoryReader | None = None
        self._validator = ManifestValidator(_schemas(root))
        self._open: dict[str, str] = {}  # shown path -> the buffer's text
        self._files: dict[str, _File] = {}
        self._listing: list[Diagnostic] = []
        self.config: RepoConfig | None = None
        self.config_doc: Document | None = None
        self._config_errors: list[Diagnostic] = []
        self._across: list[Diagnostic] | None = None
        self._repository: list[Diagnostic] | None = None
        self._load_config()
        self._read_models()

    # --- which files -------------------------------------------------------------------------

    def shown(self, path: Path) -> str | None:
        """`path` as diagnostics name it (modelops.yaml, models/<file>), or None for any other file."""
        parent = path.parent.resolve()
        if path.name == CONFIG_FILE and parent == self.root:
            return CONFIG_FILE
        if parent == self.root / MODELS_DIR and path.name.endswith((".yaml", ".yml")):
            return f"{MODELS_DIR}/{path.name}"
        return None

    def models(self) -> list[str]:
        """The model files, by shown path, in file order."""
        return list(self._files)

    # --- changes -----------------------------------------------------------------------------

    def set_text(self, shown: str, text: str) -> None:
        """A buffer opened or changed: `text` stands for the file from now on (the same text again, as
        on save, checks nothing again)."""
        if self._open.get(shown) == text:
            return
        self._open[shown] = text
        self._changed(shown)

    def close(self, shown: str) -> None:
        """A buffer closed: the file on disk stands for it again."""
        if self._open.pop(shown, None) is not None:
            self._changed(shown)

    def on_disk_changed(self, shown: str) -> None:
        """The file changed on disk (created, edited by another program, deleted)."""
        if shown not in self._open:
            self._changed(shown)

    def _changed(self, shown: str) -> None:
        self._across = self._repository = None
        if shown == CONFIG_FILE:
            self._load_config()
            self._check_all()
            return
        file = self._read(shown)
        if file is None:
            self._files.pop(shown, None)
        else:
            self._files[shown] = file
            self._files = dict(sorted(self._files.items()))

    # --- diagnostics -------------------------------------------------------------------------

    def diagnostics(self, shown: str) -> list[Diagnostic]:
        """What `modelops validate` reports for the file `shown`, sorted."""
        if shown == CONFIG_FILE:
            own = [d for file in self._files.values() for d in file.checked.errors if d.path == shown]
        else:
            file = self._files.get(shown)
            own = file.checked.errors if file is not None else []
        found = [*own, *(d for d in (*self._config_errors, *self._listing, *self._checked_across())
                         if d.path == shown)]
        if self._clean():
            found += (d for d in self._render_stage(shown) if d.path == shown)
        return sorted(set(found))

    def _checked_across(self) -> list[Diagnostic]:
        if self._across is None:
            summaries = [f.checked.summary for f in self._files.values() if f.checked.summary is not None]
            self._across = across_models(summaries, self.config) if self.config is not None else []
        return self._across

    def _clean(self) -> bool:
        """Nothing anywhere fails before rendering (a run renders only then)."""
        return (self.config is not None and not self._config_errors and not self._listing
                and not any(f.checked.errors for f in self._files.values()) and not self._checked_across())

    def _render_stage(self, shown: str) -> list[Diagnostic]:
        """The render stage's problems that may point into `shown`: the open models' own (a credential
        from modelops.yaml points there), and for modelops.yaml the repository-wide objects'."""
        found = []
        for name in (self._open if shown == CONFIG_FILE else [shown]):
            file = self._files.get(name)
            if file is not None:
                if file.rendered is None:
                    file.rendered = render_model(file.checked.deployed, self._validator,
                                                 self.config_doc).diagnostics
                found += file.rendered
        if shown == CONFIG_FILE and self.config is not None:
            if self._repository is None:
                summaries = [f.checked.summary for f in self._files.values() if f.checked.summary]
                self._repository = config_objects(self.config, summaries, self._validator,
                                                  self.config_doc).diagnostics
            found += self._repository
        return found

    # --- reading and checking ----------------------------------------------------------------

    def _load_config(self) -> None:
        text = self._open.get(CONFIG_FILE)
        if text is None:
            config, doc, errors = load_config(self.root)
        else:
            checked_text, errors = buffer_source(text, CONFIG_FILE)
            config, doc = None, None
            if checked_text is not None:
                config, doc, errors = config_from_text(checked_text)
        self.config, self.config_doc, self._config_errors = config, doc, errors
        self._history = self._history_for(config) if self._history_for is not None else None

    def _read_models(self) -> None:
        listed, self._listing = model_files(self.root)
        self._files = {}
        for shown, path in listed:
            self._files[shown] = self._from_disk(shown, path)

    def _check_all(self) -> None:
        """Every model file checked again (modelops.yaml changed): the buffers' texts, else the ones
        read from disk (no read again)."""
        for name in [*self._files, *(n for n in self._open if n not in self._files and n != CONFIG_FILE)]:
            file = self._files.get(name)
            if name in self._open:
                self._files[name] = self._check(name, self._open[name], self._history)
            elif file is not None and file.text is not None:
                self._files[name] = self._check(name, file.text, None)
        self._files = dict(sorted(self._files.items()))

    def _read(self, shown: str) -> _File | None:
        """The file `shown` as it stands: its buffer, else what is on disk (None: not there)."""
        if shown in self._open:
            return self._check(shown, self._open[shown], self._history)
        path = self.root / shown
        if not (path.exists() or path.is_symlink()):
            return None
        return self._from_disk(shown, path)

    def _from_disk(self, shown: str, path: Path) -> _File:
        text, errors = read_source(path, shown, self.root)
        if text is None:
            return _File(None, Checked(errors))
        return self._check(shown, text, None)

    def _check(self, shown: str, text: str, history: HistoryReader | None) -> _File:
        """`text` checked; a file not open keeps only its problems and summary (the render stage is
        for open files: a thousand resolved models would keep millions of objects for the garbage
        collector to walk)."""
        checked_text, errors = buffer_source(text, shown)
        if checked_text is None:
            return _File(None, Checked(errors))
        checked = check_text(text, shown, self.root / shown, self.config, self.config_doc, history)
        if shown not in self._open:
            checked.deployed = []
        return _File(text, checked)


def _schemas(root: Path) -> SchemaSet:
    """The CRD schemas output is checked against, as validate finds them ($MODELOPS_CRD_DIR naming no
    folder: the repository's and the bundled ones)."""
    try:
        return SchemaSet.find(None, root)
    except MissingSchemaFolder:
        return SchemaSet.find(None, root, environ={})
