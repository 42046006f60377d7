"""A repository as modelops sees it: `modelops.yaml` and the model files, each loaded once.

`Project.load(root)` reads the config of the working tree; `models()` / `resolved()` read the model
files of the working tree, or of a git ref, and `past()` a model file's earlier versions in one
environment. Reading git is the git layer's job (compile imports no git): `modelops.git.history.
open_project(root)` hands in the reader, and without one only the working tree can be read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from modelops.compile.keys import unknown_key_hint
from modelops.compile.layout import CONFIG_FILE as CONFIG_FILE  # re-exported, as pipeline does
from modelops.compile.layout import MODELS_DIR as MODELS_DIR
from modelops.compile.layout import find_root as find_root
from modelops.compile.resolve import ResolvedModel, resolve
from modelops.compile.rules.checks import check_config
from modelops.compile.source import Document, load, parse, read_source
from modelops.compile.spec import NAME_RE, ModelSpec, RepoConfig
from modelops.diagnostics import Diagnostic, UserError


class GitReader(Protocol):
    """What a project needs from git (given by `modelops.git.history.open_project`)."""

    def files_at(self, ref: str, folder: str) -> dict[str, str]:
        """Text of every file under `folder` at `ref`, keyed by path relative to `folder`."""

    def versions(self, path: str, ref: str) -> Iterator[tuple[str, str]]:
        """(commit, text) of `path` at each commit reachable from `ref` that changed it, newest first."""


@dataclass
class LoadedModel:
    spec: ModelSpec
    doc: Document
    path: Path


@dataclass(frozen=True)
class ModelFile:
    """One model file as read: `model` is None when it does not parse or validate (see `errors`)."""

    path: str  # as shown in diagnostics, e.g. models/eta.yaml
    model: LoadedModel | None
    errors: list[Diagnostic] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


class Project:
    """The config of a repository, loaded once; its model files loaded once per ref on demand."""

    def __init__(self, root: Path, config: RepoConfig | None, config_doc: Document | None,
                 errors: list[Diagnostic], git: GitReader | None = None) -> None:
        self.root = root
        self.config = config
        self.config_doc = config_doc
        self.errors = errors  # the config's own diagnostics (config is None when there are any)
        self._git = git
        self._models: dict[str | None, list[ModelFile]] = {}

    @classmethod
    def load(cls, root: Path, git: GitReader | None = None) -> Project:
        """The working tree's modelops.yaml under `root` (not raising: see `errors`)."""
        config, config_doc, errors = load_config(root)
        return cls(root, config, config_doc, errors, git)

    def require(self) -> RepoConfig:
        """The config, or its diagnostics as a user error."""
        if self.config is None:
            raise UserError(self.errors)
        return self.config

    def models(self, ref: str | None = None) -> list[ModelFile]:
        """Every model file of the working tree (`ref` None) or of `ref`, sorted by path."""
        if ref not in self._models:
            self._models[ref] = self._read_tree() if ref is None else self._read_ref(ref)
        return self._models[ref]

    def resolve(self, model: LoadedModel) -> list[ResolvedModel]:
        """`model` in each environment it deploys to (none without a valid config)."""
        if self.config is None:
            return []
        return resolve(model.spec, model.doc, self.config, self.config_doc)

    def resolved(self, ref: str | None = None) -> list[ResolvedModel]:
        """Every valid model file of the working tree or `ref`, resolved per environment."""
        return [env_model for file in self.models(ref) if file.model is not None
                for env_model in self.resolve(file.model)]

    def past(self, model: str, env: str, ref: str) -> Iterator[tuple[str, ResolvedModel | None]]:
        """(commit, the model file `model` in `env` then) for each commit reachable from `ref` that
        changed it, newest first; None where that version does not parse, validate or deploy to
        `env`. A `ref` git does not know is a user error (MO020)."""
        for commit, text in self._reader().versions(model, ref):
            yield commit, self.in_env(text, model, env)

    def in_env(self, text: str, path: str, env: str) -> ResolvedModel | None:
        """A model file's text (e.g. a past version) resolved in `env` (None: invalid, or not there)."""
        if self.config is None:
            return None
        return in_env(text, path, env, self.config, self.config_doc)

    def _reader(self) -> GitReader:
        if self._git is None:
            raise TypeError("this Project reads no git: open it with modelops.git.history.open_project")
        return self._git

    def _read_tree(self) -> list[ModelFile]:
        listed, _ = model_files(self.root)
        found = []
        for shown, path in listed:
            loaded, errors = load_model(path, self.root)
            found.append(ModelFile(shown, loaded if not errors else None, errors))
        return found

    def _read_ref(self, ref: str) -> list[ModelFile]:
        found = []
        for filename, text in sorted(self._reader().files_at(ref, MODELS_DIR).items()):
            if "/" in filename or not filename.endswith((".yaml", ".yml")):
                continue
            shown = f"{MODELS_DIR}/{filename}"
            loaded, errors = parse_model(text, shown, Path(shown))
            found.append(ModelFile(shown, loaded, errors))
        return found


def in_env(text: str, path: str, env: str, config: RepoConfig,
           config_doc: Document | None) -> ResolvedModel | None:
    """A model file's `text` resolved in `env` against `config` (None: it does not parse or validate,
    or does not deploy to `env`)."""
    doc, _ = parse(text, path)
    if doc is None or not isinstance(doc.data, dict):
        return None
    try:
        spec = ModelSpec.model_validate(doc.data)
    except ValueError:
        return None
    return next((m for m in resolve(spec, doc, config, config_doc) if m.env == env), None)


# --- reading the working tree --------------------------------------------------------------------

def display_path(path: Path, root: Path) -> str:
    """`path` relative to the repo root `root` (which is resolved), else as given."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_config(root: Path) -> tuple[RepoConfig | None, Document | None, list[Diagnostic]]:
    """modelops.yaml under `root`, validated and checked (None and the diagnostics when it is not)."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return None, None, [
            Diagnostic(CONFIG_FILE, 1, 1, "MO010", f"no {CONFIG_FILE} in {root}: "
                       "create one with your environments (see README)")
        ]
    doc, errors = load(path, CONFIG_FILE, root)
    if doc is None:
        return None, None, errors
    return check_config_doc(doc)


def config_from_text(text: str) -> tuple[RepoConfig | None, Document | None, list[Diagnostic]]:
    """modelops.yaml's `text` (an editor's unsaved buffer), validated and checked as `load_config`
    checks the file."""
    doc, errors = parse(text, CONFIG_FILE)
    if doc is None:
        return None, None, errors
    return check_config_doc(doc)


def check_config_doc(doc: Document) -> tuple[RepoConfig | None, Document | None, list[Diagnostic]]:
    """A parsed modelops.yaml as a config (None with its diagnostics when it is not valid)."""
    config, errors = validate(RepoConfig, doc)
    if config is not None:
        errors = check_config(config, doc)
        config = None if errors else config
    return config, doc, errors


def model_files(
    root: Path, paths: list[Path] | None = None
) -> tuple[list[tuple[str, Path]], list[Diagnostic]]:
    """(name shown in diagnostics, path) of the model files to read, sorted by name: the given files
    and folders, else every models/*.yaml (named without resolving each one: there may be thousands).
    Symlinks are listed too (read_source decides whether to follow them); a folder symlink that
    leaves the repository and a file name that is not UTF-8 are diagnostics."""
    folders = [root / MODELS_DIR] if paths is None else [p for p in paths if p.is_dir()]
    errors: list[Diagnostic] = []
    found: set[Path] = {p for p in paths or [] if not p.is_dir()}
    for folder in folders:
        if folder.is_symlink() and not folder.resolve().is_relative_to(root.resolve()):
            errors.append(Diagnostic(display_path(folder, root), 1, 1, "MO007",
                                     "symlink leads outside the repository: modelops does not follow it"))
            continue
        found.update(p for p in _yaml_files(folder))
    shown = [(display_path(p, root) if paths is not None else f"{MODELS_DIR}/{p.name}", p) for p in found]
    files = []
    for name, path in sorted(shown):
        if not _is_utf8(name):
            readable = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            errors.append(Diagnostic(readable, 1, 1, "MO007", "file name is not UTF-8: rename it"))
        else:
            files.append((name, path))
    return files, errors


def _yaml_files(folder: Path) -> list[Path]:
    """The *.yaml / *.yml entries of `folder` that are no folders: files, symlinks (dangling ones
    included) and special files (a FIFO, a socket: read_source refuses them, MO007, without blocking)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.name.endswith((".yaml", ".yml"))
            and (e.is_symlink() or not e.is_dir(follow_symlinks=False))]


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_model(path: Path, root: Path) -> tuple[LoadedModel | None, list[Diagnostic]]:
    shown = display_path(path, root)
    text, errors = read_source(path, shown, root)
    if text is None:
        return None, errors
    return parse_model(text, shown, path)


def parse_model(text: str, shown: str, path: Path) -> tuple[LoadedModel | None, list[Diagnostic]]:
    doc, errors = parse(text, shown)
    if doc is None:
        return None, errors
    spec, errors = validate(ModelSpec, doc)
    if spec is None:
        return None, errors
    return LoadedModel(spec, doc, path), []


# --- pydantic errors as diagnostics ----------------------------------------------------------

_OTHER_FILE: dict[type[BaseModel], tuple[str, type[BaseModel]]] = {
    ModelSpec: (CONFIG_FILE, RepoConfig),
    RepoConfig: ("a model file", ModelSpec),
}


def validate(model: type[BaseModel], doc: Document) -> tuple[Any, list[Diagnostic]]:
    """`doc` as `model` (a spec class), or None and one diagnostic per problem."""
    data = doc.data
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        return None, [doc.diagnostic((), "MO100", f"expected a mapping of keys, found {found}")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_diagnostic(doc, error, model) for error in exc.errors()]


def _diagnostic(doc: Document, error: Any, root: type[BaseModel]) -> Diagnostic:
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] == "[key]":
        return doc.diagnostic(loc[:-1], "MO103", f"invalid name {loc[-2]!r}: {_name_rule()}", key=True)
    if kind == "extra_forbidden":
        key = loc[-1]
        hint = unknown_key_hint(root, loc, _OTHER_FILE.get(root))
        return doc.diagnostic(loc, "MO101", f"unknown key {key!r}{hint}", key=True)
    if kind == "missing":
        where = ".".join(str(p) for p in loc[:-1])
        return doc.diagnostic(loc[:-1], "MO102",
                              f"missing required key {loc[-1]!r}" + (f" in {where}" if where else ""))
    field_name = ".".join(str(p) for p in loc)
    if kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == NAME_RE:
        message = f"{error['input']!r} is not a valid name: {_name_rule()}"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return doc.diagnostic(loc, "MO100", f"{field_name}: {message}" if field_name else message)


def _name_rule() -> str:
    return "use lowercase letters, digits and '-', starting and ending with a letter or digit"
