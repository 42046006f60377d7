"""load -> validate -> resolve -> check -> render -> validate output: the compile pipeline.

Every stage collects all of its diagnostics; nothing is written unless the whole run is clean.
Loading the config and model files is `modelops.compile.project`'s (its names stay importable from
here, `X as X` below, for code written before the move: import them from there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from modelops.compile.cache import Entry, RenderCache, entry_json
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.tree import header, kustomization, text_hash, to_documents, to_yaml
from modelops.compile.emit.validate import ManifestValidator, NoSchema
from modelops.compile.generators import observability_env
from modelops.compile.generators.codeowners import PATH as CODEOWNERS_PATH
from modelops.compile.generators.codeowners import codeowners
from modelops.compile.generators.collector import collector_files
from modelops.compile.generators.gitops import gitops_objects
from modelops.compile.generators.kafka_routes import Route
from modelops.compile.memory import give_back
from modelops.compile.parallel import map_forked
from modelops.compile.project import CONFIG_FILE as CONFIG_FILE
from modelops.compile.project import MODELS_DIR as MODELS_DIR
from modelops.compile.project import LoadedModel as LoadedModel
from modelops.compile.project import Project
from modelops.compile.project import display_path as display_path
from modelops.compile.project import find_root as find_root
from modelops.compile.project import load_model as load_model
from modelops.compile.project import model_files as model_files
from modelops.compile.project import parse_model as parse_model
from modelops.compile.resolve import ResolvedModel, resolve
from modelops.compile.rules.checks import check_model, check_spec
from modelops.compile.rules.policy import HistoryReader, check_policy, check_team_caps
from modelops.compile.rules.secrets import check_rendered
from modelops.compile.source import Document, read_source
from modelops.compile.spec import RepoConfig
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


@dataclass
class Build:
    """The outcome of a run: files for `generated/` (relative paths) or the diagnostics."""

    files: dict[str, str] = field(default_factory=dict)  # path -> text, of every file a `sink` kept
    hashes: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 of the text, of every file
    repo_files: dict[str, str] = field(default_factory=dict)  # outside generated/, e.g. CODEOWNERS
    diagnostics: list[Diagnostic] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # model file -> ModelSummary.shared_digest()


def build(
    root: Path,
    paths: list[Path] | None = None,
    crd_dir: Path | None = None,
    *,
    history: HistoryReader | None = None,
    sink: Sink | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    project: Project | None = None,
    current: Mapping[str, str] | None = None,
) -> Build:
    """Run the whole pipeline over the models (all of them unless `paths` narrows it).

    A `history` reader (past texts of a model file) also runs the gates that judge by history
    (validate passes one read from git; compile stays independent of history so its output and speed
    depend on the working tree alone). A `sink` receives each model's rendered files (and their
    hashes) as soon as they exist, before the run is known to be clean, and returns those the run
    keeps the texts of (the output writer keeps none: a large run never holds its whole tree);
    without one every text is kept. `on_progress` gets (done, total) as the model files the render
    cache does not answer are worked on. A caller that loaded the repository's `project` already
    passes it (its config is not read again), and one that read generated/'s hashes
    (`tree.read_hashes`) passes them as `current`: a cached model is then checked against them and
    its texts are never read (they stay as generated/ holds them); else they are read from disk.
    """
    result = _build(root, paths, crd_dir, history, sink, on_progress, project or Project.load(root), current)
    # Base settings are checked once per environment: report each problem once, in file order.
    result.diagnostics = sorted(set(result.diagnostics))
    return result


Sink = Callable[[dict[str, str], dict[str, str]], dict[str, str]]  # (texts, hashes) -> texts kept

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
    cached: dict[str, str] = field(default_factory=dict)  # the entry's texts (none when streamed)


@dataclass
class _Outcome:
    """What one model file came to; `files` are rendered only for a clean model without `entry`
    (`hashes`: theirs, made by the worker; a sink may have taken the texts)."""

    errors: list[Diagnostic]
    summary: ModelSummary | None = None
    files: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    render_errors: list[Diagnostic] = field(default_factory=list)
    digest: str = ""  # a clean model's shared digest, and its render cache entry
    entry: bytes = b""


@dataclass(frozen=True)
class _Context:
    config: RepoConfig | None
    config_doc: Document | None
    history: HistoryReader | None
    validator: ManifestValidator
    caching: bool  # whether the render cache (and the record of a clean run) is on


def _build(
    root: Path, paths: list[Path] | None, crd_dir: Path | None, history: HistoryReader | None,
    sink: Sink | None, on_progress: Callable[[int, int], None] | None,
    project: Project, current: Mapping[str, str] | None = None,
) -> Build:
    result = Build()
    config, config_doc = project.config, project.config_doc
    result.diagnostics += project.errors
    schemas = SchemaSet.find(crd_dir, root)
    cache = RenderCache(root, config_doc.text if config_doc else "", schemas,
                        enabled=paths is None and config is not None)
    slots = _slots(root, paths, cache, history, result, current)
    validator = ManifestValidator(schemas)
    jobs = [slot for slot in slots if isinstance(slot, _Job)]
    work = partial(_compile_model, _Context(config, config_doc, history, validator, cache.enabled))
    # What each job came to is taken in as it arrives; only its problems and summary stay.
    checked: list[tuple[list[Diagnostic], ModelSummary | None]] = []
    render_errors: list[Diagnostic] = []
    for job, outcome in zip(jobs, map_forked(work, jobs, PARALLEL_FROM), strict=True):
        if sink is not None and outcome.files:
            outcome.files = sink(outcome.files, outcome.hashes)
        _cache_clean_model(job, outcome, cache, result)
        _collect_rendered(job, outcome, result)
        render_errors += outcome.render_errors
        checked.append((outcome.errors, outcome.summary))
        job.text = ""  # worked on: 10,000 model files need not stay in memory
        if on_progress is not None:
            on_progress(len(checked), len(jobs))
    cache.save()
    if len(jobs) >= PARALLEL_FROM:  # the outcomes are taken in
        give_back()
    summaries: list[ModelSummary] = []
    in_order = iter(checked)
    for slot in slots:
        if isinstance(slot, _Job):
            errors, summary = next(in_order)
            result.diagnostics += errors
        else:
            summary = slot
        if summary is not None:
            summaries.append(summary)
            result.models.append(summary.name)
    if config is None:
        return result
    result.diagnostics += across_models(summaries, config)
    if len(summaries) >= PARALLEL_FROM:  # what the checks across models held
        give_back()
    if result.diagnostics:  # a run that fails has no files
        result.files, result.hashes = {}, {}
        return result
    result.diagnostics += render_errors
    shared = config_objects(config, summaries, validator, config_doc)  # made from every model's summary
    result.diagnostics += shared.diagnostics
    names = [*result.hashes, *shared.files]
    for env in sorted({env.env for model in summaries for env in model.envs}):
        prefix = f"{env}/"
        shared.files[f"{env}/kustomization.yaml"] = kustomization(
            [name[len(prefix):] for name in names if name.startswith(prefix)])
    shared.hashes = {name: text_hash(text) for name, text in shared.files.items()}
    result.hashes.update(shared.hashes)
    result.files.update(sink(shared.files, shared.hashes) if sink is not None else shared.files)
    result.files = dict(sorted(result.files.items()))
    result.hashes = dict(sorted(result.hashes.items()))
    # CODEOWNERS lists every model: a run over a few files (validate PATH) has no file to make
    owners = codeowners(summaries, config, _read_text(root / CODEOWNERS_PATH)) if paths is None else None
    if owners is not None:
        result.repo_files[CODEOWNERS_PATH] = owners
    return result


def _read_text(path: Path) -> str | None:
    """A repository file modelops keeps a part of (CODEOWNERS), or None when there is none."""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() and not path.is_symlink() else None
    except (OSError, UnicodeDecodeError):
        return None


def _slots(root: Path, paths: list[Path] | None, cache: RenderCache, history: HistoryReader | None,
           result: Build, current: Mapping[str, str] | None) -> list[ModelSummary | _Job]:
    """Per model file, in order: its cached summary (its files go into `result`: their hashes, and
    their texts from generated/ unless `current` has the hashes), or work to do."""
    slots: list[ModelSummary | _Job] = []
    listed, errors = model_files(root, paths)
    result.diagnostics += errors
    for shown, path in listed:
        text, errors = read_source(path, shown, root)
        result.diagnostics += errors
        if text is None:
            continue
        key = cache.key(shown, text)
        entry = cache.get(key)
        if entry is not None and not cache.on_disk(entry, current):  # generated/ holds other texts
            entry = None
        texts = cache.texts(entry) if entry is not None and current is None else {}
        if entry is not None and history is None:  # the rollout gate resolves all
            slots.append(ModelSummary.from_json(entry["summary"]))
            result.files.update(texts)
            result.hashes.update(entry["files"])
            result.digests[shown] = entry["digest"]
        else:
            slots.append(_Job(path, shown, text, key, entry, texts))
    return slots


def _compile_model(context: _Context, job: _Job) -> _Outcome:
    """Parse, check and (when clean) render one model file: the part of a run done per model."""
    checked = check_text(job.text, job.shown, job.path, context.config, context.config_doc, context.history)
    outcome = _Outcome(checked.errors, checked.summary)
    if checked.summary is not None and not checked.errors and job.entry is None:
        rendered = render_model(checked.deployed, context.validator, context.config_doc)
        outcome.files, outcome.render_errors = rendered.files, rendered.diagnostics
        outcome.hashes = {name: text_hash(text) for name, text in rendered.files.items()}
        if context.caching and not outcome.render_errors:  # the part of caching it a worker can do
            outcome.digest = checked.summary.shared_digest()
            outcome.entry = entry_json(outcome.hashes, checked.summary.to_json(), outcome.digest)
    return outcome


@dataclass
class Checked:
    """One model file checked on its own: its problems, its summary for the checks across models
    (None when it does not parse or validate, or without a config) and the environments that passed."""

    errors: list[Diagnostic]
    summary: ModelSummary | None = None
    deployed: list[ResolvedModel] = field(default_factory=list)


def check_text(text: str, shown: str, path: Path, config: RepoConfig | None, config_doc: Document | None,
               history: HistoryReader | None = None) -> Checked:
    """Every check of one model file's `text` (shown as `shown`) that needs no other model file, as a
    run makes them: without a valid `config` only parsing and the spec's own validation."""
    model, errors = parse_model(text, shown, path)
    if model is None or config is None:
        return Checked(errors)
    errors, deployed = _check(model, config, config_doc, history)
    return Checked(errors, summarize(model.spec, model.doc, deployed, config_doc), deployed)


def across_models(summaries: list[ModelSummary], config: RepoConfig) -> list[Diagnostic]:
    """The checks over every model's summary, in file order: names, steps, pipelines, team caps."""
    return [*duplicate_names(summaries), *name_collisions(summaries), *unknown_steps(summaries),
            *unknown_pipelines(summaries), *check_team_caps(summaries, config)]


def render_model(deployed: list[ResolvedModel], validator: ManifestValidator,
                 config_doc: Document | None = None) -> Build:
    """The files of one model in each environment it passed in, and the problems of what they hold
    (credentials, MO900 schema problems): the render stage of a run that is otherwise clean."""
    rendered = Build()
    for env_model in deployed:
        _render(env_model, validator, rendered, config_doc)
    return rendered


def config_objects(config: RepoConfig, summaries: list[ModelSummary], validator: ManifestValidator,
                   config_doc: Document | None = None) -> Build:
    """The files made from modelops.yaml and every model's summary (observability, collectors, GitOps
    objects) with their problems: the repository-wide render stage of a clean run."""
    result = Build()
    _config_objects(config, summaries, validator, result, config_doc)
    return result


def _config_objects(config: RepoConfig, summaries: list[ModelSummary], validator: ManifestValidator,
                    result: Build, config_doc: Document | None) -> None:
    _observability(config, summaries, validator, result, config_doc)
    _collectors(config, summaries, validator, result, config_doc)
    _gitops(config, summaries, validator, result, config_doc)


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


def _cache_clean_model(job: _Job, outcome: _Outcome, cache: RenderCache, result: Build) -> None:
    """Cache a model that passed its own checks, also when the run fails elsewhere: fixing one
    broken model should not re-render the thousand others. Its digest goes into `result`."""
    if job.entry is not None:
        result.digests[job.shown] = job.entry["digest"]
    elif outcome.entry:
        result.digests[job.shown] = outcome.digest
        cache.put(job.key, outcome.entry)


def _collect_rendered(job: _Job, outcome: _Outcome, result: Build) -> None:
    """A model's files (its cached files stand in when nothing changed), for when the run is clean."""
    if job.entry is not None:
        result.files.update(job.cached)
        result.hashes.update(job.entry["files"])
        return
    result.files.update(outcome.files)
    result.hashes.update(outcome.hashes)


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


def _observability(
    config: RepoConfig, models: list[ModelSummary], validator: ManifestValidator, result: Build,
    config_doc: Document | None = None,
) -> None:
    """Each environment's shared rules and dashboard, `<env>/observability.yaml`, from the info series
    in the model summaries (so cached models count without being rendered again); one environment
    at a time, so a large repository holds one environment's series."""
    for env in sorted({deployed.env for model in models for deployed in model.envs}):
        here = [deployed for model in models for deployed in model.envs if deployed.env == env]
        found = [info for deployed in here for info in deployed.info()]
        objects = observability_env.render(config, env, found, any(deployed.store for deployed in here))
        if not objects:
            continue
        _check_config_objects(objects, f"for environment {env}", validator, result, config_doc)
        result.files[f"{env}/{observability_env.FILE}"] = header(CONFIG_FILE) + to_documents(objects)


def _gitops(
    config: RepoConfig, models: list[ModelSummary], validator: ManifestValidator, result: Build,
    config_doc: Document | None = None,
) -> None:
    """Argo CD / Flux objects for environments a controller syncs, in generated/_gitops/<env>/."""
    for name, obj in gitops_objects(config, models).items():
        _check_config_objects([obj], name, validator, result, config_doc)
        result.files[name] = header(CONFIG_FILE) + to_yaml(obj)


def _collectors(
    config: RepoConfig, models: list[ModelSummary], validator: ManifestValidator, result: Build,
    config_doc: Document | None,
) -> None:
    """The prediction collector of every environment and store the models save predictions to."""
    used: dict[str, dict[str, list[Route]]] = {}
    for model in models:
        for env in model.envs:
            if env.store:
                used.setdefault(env.env, {}).setdefault(env.store, []).extend(env.topics)
    for path, objects in collector_files(config, used).items():
        _check_config_objects(objects, path, validator, result, config_doc)
        result.files[path] = header(CONFIG_FILE) + to_documents(objects)


def _check_config_objects(objects: list[dict[str, Any]], what: str, validator: ManifestValidator,
                          result: Build, config_doc: Document | None) -> None:
    """Objects made from modelops.yaml alone: no credential in them (MO260), valid (MO900)."""
    if config_doc is not None:
        result.diagnostics += check_rendered(objects, [config_doc], config_doc)
    for obj in objects:
        for problem in _problems(validator, obj, result):
            result.diagnostics.append(Diagnostic(
                CONFIG_FILE, 1, 1, "MO900",
                f"generated {obj['kind']} {what} is invalid at {problem} (a modelops bug: please report it)"))


def _problems(validator: ManifestValidator, obj: dict[str, Any], result: Build) -> list[str]:
    """The schema problems of `obj`; a kind without a schema is one MO901 per run (the same line
    from every model, deduplicated by `build`)."""
    try:
        return validator.problems(obj)
    except NoSchema as missing:
        result.diagnostics.append(Diagnostic(CONFIG_FILE, 1, 1, "MO901", str(missing)))
        return []
