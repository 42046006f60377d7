"""What the checks across models need to know of each model, small enough to cache.

A compile reads a summary from the render cache for every model whose inputs are unchanged, so
unchanged models are neither parsed nor resolved, yet name clashes, team replica caps and
CODEOWNERS still see every model. Diagnostics point at positions recorded in the summary.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from sys import intern
from typing import Any

from modelops.compile.generators.kafka_routes import Route, routes
from modelops.compile.generators.observability import info_series
from modelops.compile.resolve import ResolvedModel
from modelops.compile.source import Document
from modelops.compile.spec import ModelSpec
from modelops.compile.targets import target_for
from modelops.compile.targets.pipelines import pipeline_refs, step_refs
from modelops.diagnostics import Diagnostic


@dataclass(frozen=True, slots=True)  # 10,000 models: no __dict__ each
class EnvSummary:
    """The model in one environment it deploys to without errors."""

    env: str
    namespace: str
    target: str
    protected: bool
    most_replicas: int
    names: tuple[str, ...]  # the names of its objects (`derived_names`)
    named: tuple[str, ...]  # what each of them names
    namespace_at: tuple[str, int, int] = ("", 1, 1)  # (file, line, col) where the namespace is written
    # the labels of each variant's info series, for the environment's shared observability rules:
    # (names, values), the names one tuple shared by every summary that has them (`labels`)
    observed: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    @property
    def derived_names(self) -> tuple[tuple[str, str], ...]:
        """(object name, what it names) of each object it makes (kept as two tuples: 10,000
        models would hold 140,000 pairs)."""
        return tuple(zip(self.names, self.named, strict=True))

    def info(self) -> list[dict[str, str]]:
        return [dict(zip(names, values, strict=True)) for names, values in self.observed]
    store: str = ""  # the prediction store it saves to ("" none)
    topics: tuple[Route, ...] = ()  # the Kafka topics its stored predictions arrive on


@dataclass(frozen=True, slots=True)  # 10,000 models: no __dict__ each
class ModelSummary:
    path: str  # as shown in diagnostics, relative to the repo root
    name: str
    team: str
    name_at: tuple[int, int]
    team_at: tuple[int, int]
    envs: tuple[EnvSummary, ...]
    steps: tuple[tuple[str, int, int], ...] = ()  # (Model a pipeline step runs, line, col)
    pipelines: tuple[tuple[str, int, int], ...] = ()  # (Pipeline an experiment or input names, line, col)

    def at_name(self, code: str, message: str) -> Diagnostic:
        return Diagnostic(self.path, *self.name_at, code, message)

    def at_team(self, code: str, message: str) -> Diagnostic:
        return Diagnostic(self.path, *self.team_at, code, message)

    def __reduce__(self) -> tuple[Any, ...]:
        # A forked worker's summaries arrive as their JSON, so that from_json interns their strings.
        return (ModelSummary.from_json, (self.to_json(),))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "name": self.name, "team": self.team,
            "name_at": list(self.name_at), "team_at": list(self.team_at),
            "envs": [
                [e.env, e.namespace, e.target, e.protected, e.most_replicas,
                 [list(n) for n in e.derived_names], list(e.namespace_at), e.info(), e.store,
                 [list(t) for t in e.topics]]
                for e in self.envs
            ],
            "steps": [list(step) for step in self.steps],
            "pipelines": [list(ref) for ref in self.pipelines],
        }

    def shared_digest(self) -> str:
        """A digest of what the stages over every model read of this one: the checks across models,
        the environments' shared files, kustomizations and CODEOWNERS. Positions are left out, since
        they only place diagnostics: a clean run whose models keep their digests writes the same
        shared files, so a compile of a changed model alone may stand for the whole run
        (modelops.compile.incremental)."""
        nowhere = replace(self, name_at=(0, 0), team_at=(0, 0),
                          envs=tuple(replace(env, namespace_at=("", 0, 0)) for env in self.envs),
                          steps=tuple((m, 0, 0) for m, _, _ in self.steps),
                          pipelines=tuple((p, 0, 0) for p, _, _ in self.pipelines))
        text = json.dumps(nowhere.to_json(), separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelSummary:
        # A compile reads the summaries of every model: tuple(map(tuple, ...)) is the fast spelling,
        # and the strings that repeat across models (namespaces, targets, label names and values,
        # what each derived name names) are interned: 10,000 summaries in a third less memory.
        envs = tuple(
            EnvSummary(intern(env), intern(namespace), intern(target), protected, replicas,
                       tuple(intern(name) for name, _ in names), tuple(intern(what) for _, what in names),
                       (intern(str(at[0])), int(at[1]), int(at[2])),
                       tuple(labels(i) for i in info),
                       intern(str(store)), tuple(tuple(map(str, t)) for t in topics))  # type: ignore[misc]
            for env, namespace, target, protected, replicas, names, at, info, store, topics in data["envs"]
        )
        steps = tuple((str(m), int(line), int(col)) for m, line, col in data.get("steps", ()))
        pipelines = tuple((str(p), int(line), int(col)) for p, line, col in data.get("pipelines", ()))
        return cls(data["path"], data["name"], intern(data["team"]), tuple(data["name_at"]),
                   tuple(data["team_at"]), envs, steps, pipelines)


def summarize(spec: ModelSpec, doc: Document, deployed: list[ResolvedModel],
              config_doc: Document | None = None) -> ModelSummary:
    """The summary of a validated model; `deployed` are its environments that passed every check."""
    envs = tuple(_env_summary(model, config_doc) for model in deployed)
    name_at, team_at = doc.position(("name",)), doc.position(("team",))
    steps = tuple((m, *at) for m, at in step_refs(deployed[0])) if deployed else ()
    pipelines = tuple((p, *at) for p, at in pipeline_refs(deployed[0])) if deployed else ()
    return ModelSummary(doc.path, spec.name, spec.team, name_at, team_at, envs, steps, pipelines)


def _env_summary(model: ResolvedModel, config_doc: Document | None) -> EnvSummary:
    derived = target_for(model.target).derived_names(model)
    return EnvSummary(
        env=model.env,
        namespace=model.namespace,
        target=model.target,
        protected=model.env_config.protected,
        most_replicas=most_replicas(model),
        names=tuple(name for name, _ in derived),
        named=tuple(what for _, what in derived),
        namespace_at=namespace_position(model, config_doc),
        observed=observed(model),
        store=stored_in(model),
        topics=tuple(routes(model)),
    )


def observed(model: ResolvedModel) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The model's info series in its environment (`observability.info_series`)."""
    names = target_for(model.target).observed(model)
    return tuple(labels(series) for series in info_series(model, model.target, names))


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


def labels(series: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An info series' labels as (names, values); the names tuple is one object per set of names, so
    10,000 summaries do not hold 10,000 copies of it."""
    names = tuple(series)
    shared = _NAMES.get(names)
    if shared is None:
        shared = _NAMES[names] = tuple(map(intern, names))
    return shared, tuple(map(intern, series.values()))


def stored_in(model: ResolvedModel) -> str:
    """The store the model's predictions go to in its environment ("" when none)."""
    logging = model.settings.get("logging") or {}
    return str(logging.get("store") or "") if logging.get("mode", "none") != "none" else ""


def namespace_position(model: ResolvedModel, config_doc: Document | None) -> tuple[str, int, int]:
    """Where the model's namespace in its environment is written: its own override, else modelops.yaml."""
    loc = ("environments", model.env, "namespace")
    override = model.spec.environments.get(model.env) if model.spec.environments else None
    if (override is not None and override.namespace) or config_doc is None:
        return (model.doc.path, *model.doc.position(loc, key=True))
    return (config_doc.path, *config_doc.position(loc, key=True))


def most_replicas(model: ResolvedModel) -> int:
    """The most replicas a model can run in its environment, over all variants."""
    total = 0
    for variant in model.variants:
        autoscaling = variant.settings.get("autoscaling")
        if autoscaling is not None:
            total += autoscaling.get("max") or 0
        else:
            replicas = variant.settings.get("replicas")
            total += 1 if replicas is None else replicas
    return total


def duplicate_names(models: list[ModelSummary]) -> list[Diagnostic]:
    first: dict[str, ModelSummary] = {}
    errors = []
    for model in models:
        earlier = first.setdefault(model.name, model)
        if earlier is not model:
            errors.append(model.at_name(
                "MO206", f"model {model.name!r} is already defined in {earlier.path}: one file per model"))
    return errors


def name_collisions(models: list[ModelSummary]) -> list[Diagnostic]:
    """Two objects may not share a derived name in one namespace: within a model, across models, or
    across environments (an environment whose namespace is another's would overwrite its objects, and
    pruning one would delete the other's). The error points at where the later namespace is written."""
    seen: dict[tuple[str, str], tuple[ModelSummary, str, EnvSummary]] = {}
    errors = []
    for model in models:
        for env in model.envs:
            for name, what in env.derived_names:
                other, other_what, first = seen.setdefault((env.namespace, name), (model, what, env))
                other_env = first.env
                if other is model and other_what == what and other_env == env.env:
                    continue
                if other_env == env.env:
                    owner = "this model's" if other is model else f"model {other.name!r}'s"
                    errors.append(model.at_name(
                        "MO211",
                        f"{what} name {name!r} collides with {owner} {other_what} "
                        f"in {env.env}/{env.namespace}: rename the model or the variant",
                    ))
                    continue
                path, line, col = _blame(env, first) or (model.path, *model.name_at)
                errors.append(Diagnostic(
                    path, line, col, "MO212",
                    f"{what} name {name!r} in namespace {env.namespace!r} is generated both by model "
                    f"{other.name!r} in environment {other_env!r} and by model {model.name!r} in "
                    f"{env.env!r}: environments sharing a namespace overwrite (and prune) each other's "
                    "objects; give each its own namespace",
                ))
                break  # one line per clashing environment is enough
    return errors


def _blame(env: EnvSummary, first: EnvSummary) -> tuple[str, int, int] | None:
    """Where the clashing namespace is written: a model's override rather than modelops.yaml, and of
    two places the one written later."""
    candidates = [at for at in (env.namespace_at, first.namespace_at) if at[0]]
    overrides = [at for at in candidates if at[0] != "modelops.yaml"]
    return max(overrides or candidates) if candidates else None


def unknown_steps(models: list[ModelSummary]) -> list[Diagnostic]:
    """MO280 for a pipeline step naming no Core 2 Model in its environment and namespace."""
    served: set[tuple[str, str, str]] = {
        (env.env, env.namespace, name)
        for model in models for env in model.envs if env.target == "seldon-v2"
        for name, what in env.derived_names if what.startswith("Model of variant")
    }
    errors = []
    for model in models:
        for env in model.envs:
            if env.target != "seldon-v2":
                continue
            for step, line, col in model.steps:
                if (env.env, env.namespace, step) not in served:
                    errors.append(Diagnostic(
                        model.path, line, col, "MO280",
                        f"step model {step!r} is no Core 2 Model in {env.env}/{env.namespace}: "
                        "name a model (or variant Model) deployed there with target seldon-v2"))
    return errors


def unknown_pipelines(models: list[ModelSummary]) -> list[Diagnostic]:
    """MO280 for an experiment candidate or mirror, or an external input, naming no Pipeline that a
    model file renders in the same environment and namespace."""
    declared: set[tuple[str, str, str]] = {
        (env.env, env.namespace, name)
        for model in models for env in model.envs if env.target == "seldon-v2"
        for name, what in env.derived_names if what == "Pipeline"
    }
    errors = []
    for model in models:
        for env in model.envs:
            if env.target != "seldon-v2":
                continue
            for pipeline, line, col in model.pipelines:
                if (env.env, env.namespace, pipeline) not in declared:
                    errors.append(Diagnostic(
                        model.path, line, col, "MO280",
                        f"pipeline {pipeline!r} is no Pipeline in {env.env}/{env.namespace}: name one "
                        "that a model file deployed there with target seldon-v2 declares"))
    return errors
