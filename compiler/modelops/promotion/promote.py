"""`modelops promote`: pin an MLflow version into a model file, proposed as a pull request.

What is pinned is decided here, from the model file on the base branch and the registry; the rest
(worktree, compile, commit, push, pull request) is `promotion.propose`. The branch is named after the
model, environment, version and role, so promoting the same version again updates the same branch and
pull request instead of opening new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.diagnostics import UserError
from modelops.promotion.edit import Pin, Role
from modelops.promotion.propose import Origin, Outcome, Proposal, Target, propose
from modelops.promotion.registry import (
    ModelVersion,
    Registry,
    RegistryError,
    mlflow_ref,
    registered_name,
    worse_warning,
)

if TYPE_CHECKING:
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant


@dataclass(frozen=True)
class Request:
    model: str
    env: str
    version: int | None = None
    alias: str | None = None
    from_canary: bool = False
    role: Role = "main"
    traffic: int | None = None


@dataclass(frozen=True)
class _Candidate:
    """The version to pin, what runs now, and where the registry keeps them."""

    registry: Registry
    name: str  # the registered model
    version: ModelVersion
    current: ModelVersion | None
    pin: Pin
    note: str | None  # what could not be checked


def promote(where: Path | Origin, request: Request, *, push: bool = True, crd_dir: Path | None = None,
            registry: Registry | None = None) -> Outcome:
    """Pin an MLflow version into the model file on a branch, and open its pull request."""
    origin = Origin.of(where, fetch=push)
    return propose(origin, request.model, request.env, lambda target: _decide(target, request, registry),
                   push=push, crd_dir=crd_dir)


def _decide(target: Target, request: Request, registry: Registry | None) -> Proposal:
    from modelops.promotion.edit import pin_text

    deployed = target.deployed()
    request = _choose(request, deployed, target)
    found = _candidate(target, request, deployed, registry)
    candidate = found.version
    outcome = Outcome(target.spec.name, request.env, request.role, candidate.version, "nothing-to-do")
    outcome.notes += [found.note] if found.note else []
    warning = worse_warning(target.spec, found.current, candidate)
    if warning:
        outcome.warnings.append(warning)
    if request.role != "main" and found.current is not None and found.current.version == candidate.version:
        raise target.error(("name",), "MO511", f"version {candidate.version} already runs as main in "
                           f"{request.env}: nothing to try as {request.role}")
    text = pin_text(target.text, request.env, target.envs, found.pin, request.role, request.traffic)
    if text == target.text:
        outcome.notes.append(f"{target.doc.path} already deploys version {candidate.version} "
                             f"{_rollout_text(request)} in {request.env}")
        return Proposal(outcome, text)
    suffix = "" if request.role == "main" else f"-{request.role}"
    outcome.branch = f"promote/{target.spec.name}-{request.env}-v{candidate.version}{suffix}"
    title = f"Promote {target.spec.name} v{candidate.version} to {request.env} " + (
        f"({request.role}, {request.traffic}%)" if request.role == "canary" else f"({request.role})")
    return Proposal(outcome, text, title, _summary(target, request, found, warning),
                    _next_steps(target, request), command="promote")


def _choose(request: Request, deployed: ResolvedModel | None, target: Target) -> Request:
    """Resolve --from-canary into the canary's version, promoted to main."""
    if not request.from_canary:
        return request
    canary = _canary(deployed)
    _, version = mlflow_ref(canary)
    if canary is None or version is None:
        raise target.error(("environments", request.env), "MO511",
                           f"no canary with a pinned MLflow version runs in {request.env}")
    return Request(request.model, request.env, version=version, role="main")


def _canary(deployed: ResolvedModel | None) -> ResolvedVariant | None:
    if deployed is None:
        return None
    trials = [v for v in deployed.variants if v is not deployed.main and not v.shadow]
    named = [v for v in trials if v.name == "canary"]
    return named[0] if named else (trials[0] if len(trials) == 1 else None)


def _candidate(target: Target, request: Request, deployed: ResolvedModel | None,
               registry: Registry | None) -> _Candidate:
    """The version asked for, read from the registry and checked (flavor, skops), and what runs."""
    from modelops.promotion.registry import storage_uri

    name = registered_name(target.spec, deployed)
    mlflow = target.config.mlflow
    try:
        registry = registry or Registry.from_config(target.origin.root, mlflow)
        if request.version is not None:
            candidate = registry.version(name, request.version)
        else:
            candidate = registry.by_alias(name, request.alias or "")
        pin = Pin(storage_uri(candidate.download_uri, mlflow), name, candidate.version)
        mlmodel = registry.mlmodel(candidate.download_uri)
        note = _check_flavor(mlmodel, candidate, target)
        return _Candidate(registry, name, candidate, _current(registry, deployed, name), pin, note)
    except RegistryError as exc:
        raise _registry_error(exc, target) from exc


def _current(registry: Registry, deployed: ResolvedModel | None, name: str) -> ModelVersion | None:
    """The version main runs now (None: none pinned, or the registry no longer has it)."""
    model, version = mlflow_ref(deployed.main if deployed else None)
    if version is None:
        return None
    try:
        return registry.version(model or name, version)
    except RegistryError as exc:
        if exc.code == "MO502":
            return None
        raise


def _check_flavor(mlmodel: str | None, candidate: ModelVersion, target: Target) -> str | None:
    """Refuse a flavor that does not fit the framework, and skops; a note when MLmodel is unreadable."""
    from modelops.promotion.registry import flavor_problem, skops_problem

    if mlmodel is None:
        return "the MLmodel file is not readable from here: its flavor was not checked"
    mismatch = flavor_problem(mlmodel, str(target.spec.framework))
    if mismatch:
        raise target.error(("framework",), "MO509",
                           f"{candidate.name} version {candidate.version} {mismatch}")
    problem = skops_problem(mlmodel)
    if problem:
        raise target.error(("name",), "MO503", f"{candidate.name} version {candidate.version} {problem}")
    return None


def _registry_error(exc: RegistryError, target: Target) -> UserError:
    config_doc = target.project.config_doc
    if exc.code == "MO505" and config_doc is not None:
        return UserError([config_doc.diagnostic(("mlflow",), exc.code, exc.message, key=True)])
    return target.error(("name",), exc.code, exc.message)


# --- the pull request -------------------------------------------------------------------------------

def _link(registry: Registry, name: str, version: int | None) -> str:
    if version is None:
        return "—"
    from modelops.markdown import inline, link

    url = registry.ui_link(name, version)
    return link(f"{name} v{version}", url) if url else inline(f"{name} v{version}")


def _rollout_text(request: Request) -> str:
    if request.role == "canary":
        return f"as a canary with {request.traffic}% of the traffic"
    if request.role == "shadow":
        return "as a shadow (a copy of the traffic, answers dropped)"
    return "as main"


def _summary(target: Target, request: Request, found: _Candidate, warning: str | None) -> str:
    from modelops.markdown import code, inline, table
    from modelops.promotion.registry import metric_rows

    candidate, current, registry = found.version, found.current, found.registry
    lines = [
        f"Promote **{target.spec.name}** to **{request.env}** {_rollout_text(request)}: MLflow "
        f"{_link(registry, found.name, candidate.version)} (deployed: "
        f"{_link(registry, found.name, current.version if current else None)}).",
        "",
        *([f"> [!WARNING]\n> {inline(warning[0].upper() + warning[1:])}.", ""] if warning else []),
        f"Pinned storage URI: {code(found.pin.uri)}",
        "",
        "#### Metrics (from the MLflow runs behind the versions)",
        "",
        *table(metric_rows(current, candidate)),
    ]
    return "\n".join(lines)


def _next_steps(target: Target, request: Request) -> str:
    name, env = target.spec.name, request.env
    lines = [
        "#### How to roll back",
        "",
        "- Before merging: close this pull request and delete its branch; nothing was deployed.",
        f"- After merging: `modelops rollback {name} --env {env}` opens a pull request "
        "back to the previously deployed version (or revert the merge commit).",
    ]
    if request.role == "canary":
        lines.append(f"- To finish the rollout: `modelops promote {name} --env {env} "
                     "--from-canary` moves the canary's version to main and drops the canary.")
    return "\n".join(lines)

