"""load -> validate -> resolve -> check -> render -> validate output: the compile pipeline.

Every stage collects all of its diagnostics; nothing is written unless the whole run is clean.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from modelops.compile.cache import Entry, RenderCache
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.tree import header, kustomization, to_documents, to_yaml
from modelops.compile.emit.validate import ManifestValidator, NoSchema
from modelops.compile.generators.codeowners import PATH as CODEOWNERS_PATH
from modelops.compile.generators.codeowners import codeowners
from modelops.compile.generators.gitops import gitops_objects
from modelops.compile.keys import unknown_key_hint
from modelops.compile.parallel import map_forked
from modelops.compile.resolve import ResolvedModel, resolve
from modelops.compile.rules.checks import check_config, check_model, check_spec
from modelops.compile.rules.policy import HistoryReader, check_policy, check_team_caps
from modelops.compile.rules.secrets import check_rendered
from modelops.compile.source import Document, load, parse, read_source
from modelops.compile.spec import NAME_RE, ModelSpec, RepoConfig
from modelops.compile.summary import (
    ModelSummary,
    duplicate_names,
    name_collisions,
    summarize,
    unknown_pipelines,
    unknown_steps,
)
from modelops.compile.targets import target_for
from modelops.diagnostics import Diagnostic

CONFIG_FILE = "modelops.yaml"
MODELS_DIR = "models"


@dataclass
class LoadedModel:
    spec: ModelSpec
    doc: Document
    path: Path


@dataclass
class Build:
    """The outcome of a run: files for `generated/` (relative paths) or the diagnostics."""

    files: dict[str, str] = field(default_factory=dict)
    repo_files: dict[str, str] = field(default_factory=dict)  # outside generated/, e.g. CODEOWNERS
    diagnostics: list[Diagnostic] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding modelops.yaml (else `start`)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return start


def display_path(path: Path, root: Path) -> str:
    """`path` relative to the repo root `root` (which is resolved), else as given."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_config(root: Path) -> tuple[RepoConfig | None, Document | None, list[Diagnostic]]:
    path = root / CONFIG_FILE
    if not path.is_file():
        return None, None, [
            Diagnostic(CONFIG_FILE, 1, 1, "MO010", f"no {CONFIG_FILE} in {root}: "
                       "create one with your environments (see README)")
        ]
    doc, errors = load(path, CONFIG_FILE, root)
    if doc is None:
        return None, None, errors
    config, errors = _validate(RepoConfig, doc)
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
    """The *.yaml / *.yml entries of `folder` that are files or symlinks (dangling ones included)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.name.endswith((".yaml", ".yml"))
            and (e.is_symlink() or e.is_file(follow_symlinks=False))]


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
    spec, errors = _validate(ModelSpec, doc)
    if spec is None:
        return None, errors
    return LoadedModel(spec, doc, path), []


def build(
    root: Path,
    paths: list[Path] | None = None,
    crd_dir: Path | None = None,
    *,
    history: HistoryReader | None = None,
    on_rendered: Callable[[dict[str, str]], None] | None = None,
) -> Build:
    """Run the whole pipeline over the models (all of them unless `paths` narrows it).

    A `history` reader (past texts of a model file) also runs the gates that judge by history
    (validate passes one read from git; compile stays independent of history so its output and speed
    depend on the working tree alone). `on_rendered` receives
    each model's rendered files as soon as they exist, before the run is known to be clean.
    """
    result = _build(root, paths, crd_dir, history, on_rendered)
    # Base settings are checked once per environment: report each problem once, in file order.
    result.diagnostics = sorted(set(result.diagnostics))
    return result


# From this many models on, a compile spreads them over every core (see modelops.compile.parallel).
PARALLEL_FROM = 100


@dataclass
class _Job:
    """A model file this run parses, checks and renders (`entry`: its cached files, when only the
    history gate is new)."""

    path: Path
    shown: str
    text: str
    key: str
    entry: Entry | None


@dataclass
class _Outcome:
    """What one model file came to; `files` are rendered only for a clean model without `entry`."""

    errors: list[Diagnostic]
    summary: ModelSummary | None = None
    files: dict[str, str] = field(default_factory=dict)
    render_errors: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class _Context:
    config: RepoConfig | None
    config_doc: Document | None
    history: HistoryReader | None
    validator: ManifestValidator


def _build(
    root: Path, paths: list[Path] | None, crd_dir: Path | None, history: HistoryReader | None,
    on_rendered: Callable[[dict[str, str]], None] | None,
) -> Build:
    result = Build()
    config, config_doc, errors = load_config(root)
    result.diagnostics += errors
    schemas = SchemaSet.find(crd_dir, root)
    cache = RenderCache(root, config_doc.text if config_doc else "", schemas,
                        enabled=paths is None and config is not None)
    slots: list[ModelSummary | _Job] = []  # per model file, in order: a cached summary, or work to do
    listed, errors = model_files(root, paths)
    result.diagnostics += errors
    for shown, path in listed:
        text, errors = read_source(path, shown, root)
        result.diagnostics += errors
        if text is None:
            continue
        key = cache.key(shown, text)
        entry = cache.get(key)
        if entry is not None and history is None:  # the rollout gate needs every model resolved
            slots.append(ModelSummary.from_json(entry["summary"]))
            result.files.update(entry["files"])
        else:
            slots.append(_Job(path, shown, text, key, entry))
    validator = ManifestValidator(schemas)
    jobs = [slot for slot in slots if isinstance(slot, _Job)]
    work = partial(_compile_model, _Context(config, config_doc, history, validator))
    outcomes: list[_Outcome] = []
    for outcome in map_forked(work, jobs, PARALLEL_FROM):
        outcomes.append(outcome)
        if on_rendered is not None and outcome.files:
            on_rendered(outcome.files)
    _cache_clean_models(jobs, outcomes, cache)
    summaries: list[ModelSummary] = []
    in_order = iter(outcomes)
    for slot in slots:
        if isinstance(slot, _Job):
            outcome = next(in_order)
            result.diagnostics += outcome.errors
            summary = outcome.summary
        else:
            summary = slot
        if summary is not None:
            summaries.append(summary)
            result.models.append(summary.name)
    if config is None:
        return result
    result.diagnostics += duplicate_names(summaries)
    result.diagnostics += name_collisions(summaries)
    result.diagnostics += unknown_steps(summaries)
    result.diagnostics += unknown_pipelines(summaries)
    result.diagnostics += check_team_caps(summaries, config)
    if result.diagnostics:
        return result
    _collect_rendered(jobs, outcomes, result)
    for env in sorted({env.env for model in summaries for env in model.envs}):
        prefix = f"{env}/"
        resources = [name[len(prefix):] for name in result.files if name.startswith(prefix)]
        result.files[f"{env}/kustomization.yaml"] = kustomization(resources)
    _gitops(config, summaries, validator, result, config_doc)
    result.files = dict(sorted(result.files.items()))
    owners = codeowners(summaries, config)
    if owners is not None:
        result.repo_files[CODEOWNERS_PATH] = owners
    return result


def _compile_model(context: _Context, job: _Job) -> _Outcome:
    """Parse, check and (when clean) render one model file: the part of a run done per model."""
    model, errors = parse_model(job.text, job.shown, job.path)
    if model is None or context.config is None:
        return _Outcome(errors)
    errors, deployed = _check(model, context.config, context.config_doc, context.history)
    outcome = _Outcome(errors, summarize(model.spec, model.doc, deployed, context.config_doc))
    if not errors and job.entry is None:
        rendered = Build()
        for env_model in deployed:
            _render(env_model, context.validator, rendered, context.config_doc)
        outcome.files, outcome.render_errors = rendered.files, rendered.diagnostics
    return outcome


def _check(
    model: LoadedModel, config: RepoConfig, config_doc: Document | None, history: HistoryReader | None
) -> tuple[list[Diagnostic], list[ResolvedModel]]:
    """Every rule on one model; returns the problems and the environments that passed."""
    errors = check_spec(model.spec, model.doc, config, model.path.stem)
    deployed = []
    for env_model in resolve(model.spec, model.doc, config, config_doc):
        env_errors = check_model(env_model, config)
        env_errors += target_for(env_model.target).check(env_model)
        errors += env_errors
        if not env_errors:
            deployed.append(env_model)
    errors += check_policy(deployed, config, config_doc, history)
    return errors, deployed


def _cache_clean_models(jobs: list[_Job], outcomes: list[_Outcome], cache: RenderCache) -> None:
    """Cache every model that passed its own checks, also when the run fails elsewhere: fixing one
    broken model should not re-render the thousand others."""
    for job, outcome in zip(jobs, outcomes, strict=True):
        summary = outcome.summary
        if job.entry is None and summary is not None and not outcome.errors and not outcome.render_errors:
            cache.put(job.key, outcome.files, summary.to_json())
    cache.save()


def _collect_rendered(jobs: list[_Job], outcomes: list[_Outcome], result: Build) -> None:
    """The files of a clean run's models (cached files stand in when nothing changed)."""
    for job, outcome in zip(jobs, outcomes, strict=True):
        if job.entry is not None:
            result.files.update(job.entry["files"])
            continue
        result.diagnostics += outcome.render_errors
        result.files.update(outcome.files)


def _render(model: ResolvedModel, validator: ManifestValidator, result: Build,
            config_doc: Document | None = None) -> None:
    """All objects of one model in one environment, in one file `<env>/<namespace>/<model>.yaml`."""
    objects = target_for(model.target).render(model)
    sources = [model.doc] if config_doc is None else [model.doc, config_doc]
    result.diagnostics += check_rendered(objects, sources, model.doc)
    for obj in objects:
        for problem in _problems(validator, obj, result):
            result.diagnostics.append(
                model.doc.diagnostic(
                    ("name",), "MO900",
                    f"generated {obj['kind']} for environment {model.env} is invalid at {problem} "
                    "(a modelops bug: please report it with this model file)",
                )
            )
    path = f"{model.env}/{model.namespace}/{model.spec.name}.yaml"
    result.files[path] = header(model.doc.path) + to_documents(objects)


def _gitops(
    config: RepoConfig, models: list[ModelSummary], validator: ManifestValidator, result: Build,
    config_doc: Document | None = None,
) -> None:
    """Argo CD / Flux objects for environments a controller syncs, in generated/_gitops/<env>/."""
    for name, obj in gitops_objects(config, models).items():
        if config_doc is not None:
            result.diagnostics += check_rendered([obj], [config_doc], config_doc)
        for problem in _problems(validator, obj, result):
            result.diagnostics.append(Diagnostic(
                CONFIG_FILE, 1, 1, "MO900",
                f"generated {obj['kind']} {name} is invalid at {problem} (a modelops bug: please report it)"))
        result.files[name] = header(CONFIG_FILE) + to_yaml(obj)


def _problems(validator: ManifestValidator, obj: dict[str, Any], result: Build) -> list[str]:
    """The schema problems of `obj`; a kind without a schema is one MO901 per run (the same line
    from every model, deduplicated by `build`)."""
    try:
        return validator.problems(obj)
    except NoSchema as missing:
        result.diagnostics.append(Diagnostic(CONFIG_FILE, 1, 1, "MO901", str(missing)))
        return []


# --- pydantic errors as diagnostics ----------------------------------------------------------

_OTHER_FILE: dict[type[BaseModel], tuple[str, type[BaseModel]]] = {
    ModelSpec: (CONFIG_FILE, RepoConfig),
    RepoConfig: ("a model file", ModelSpec),
}


def _validate(model: type[BaseModel], doc: Document) -> tuple[Any, list[Diagnostic]]:
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
    field = ".".join(str(p) for p in loc)
    if kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == NAME_RE:
        message = f"{error['input']!r} is not a valid name: {_name_rule()}"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return doc.diagnostic(loc, "MO100", f"{field}: {message}" if field else message)


def _name_rule() -> str:
    return "use lowercase letters, digits and '-', starting and ending with a letter or digit"
