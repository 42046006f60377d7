"""MLflow follows git: after a sync, the versions that run carry the environment's aliases and tag.

For environment ENV, the version main runs gets alias `ENV`, a canary `ENV-canary`, a shadow
`ENV-shadow`, and each gets tag `modelops.deployed.ENV=<commit>`. A version that no longer runs in ENV
loses them. The running versions are read from the model files synced (their `artifact.mlflow` pins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelops.cluster.sync import Synced
    from modelops.compile.project import Project
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.diagnostics import Diagnostic
    from modelops.promotion.registry import Registry

TAG_PREFIX = "modelops.deployed."


@dataclass
class Followed:
    set: list[str] = field(default_factory=list)  # "eta-courier v3 @production"
    removed: list[str] = field(default_factory=list)


def role(model: ResolvedModel, variant: ResolvedVariant) -> str:
    """main | canary | shadow: what the variant is to the environment."""
    if variant is model.main:
        return "main"
    return "shadow" if variant.shadow else "canary"


def alias(env: str, the_role: str) -> str:
    return env if the_role == "main" else f"{env}-{the_role}"


def running(models: list[ResolvedModel], env: str) -> dict[str, dict[str, int]]:
    """registered model -> {alias: version} of what runs in `env` (pinned MLflow versions only)."""
    from modelops.promotion.registry import mlflow_ref

    found: dict[str, dict[str, int]] = {}
    for model in models:
        if model.env != env:
            continue
        for variant in model.variants:
            name, version = mlflow_ref(variant)
            if name and version is not None:
                found.setdefault(name, {})[alias(env, role(model, variant))] = int(version)
    return found


def known_names(models: list[ResolvedModel]) -> set[str]:
    """Registered models pinned anywhere: their stale aliases in an environment are cleaned too."""
    from modelops.promotion.registry import mlflow_ref

    return {name for model in models for variant in model.variants
            if (name := mlflow_ref(variant)[0])}


def follow(registry: Registry, env: str, now: dict[str, dict[str, int]], names: set[str],
           commit: str) -> Followed:
    """Move the environment's aliases and deployment tags of `names` to what runs `now`."""
    result = Followed()
    tag = f"{TAG_PREFIX}{env}"
    ours = {env, f"{env}-canary", f"{env}-shadow"}
    for name in sorted(names | set(now)):
        wanted = now.get(name, {})
        current = registry.aliases(name)
        for key in sorted(ours):
            if key in wanted and current.get(key) != wanted[key]:
                registry.set_alias(name, key, wanted[key])
                result.set.append(f"{name} v{wanted[key]} @{key}")
            elif key not in wanted and key in current:
                registry.delete_alias(name, key)
                result.removed.append(f"{name} v{current[key]} @{key}")
        tagged = registry.tagged(name, tag)
        for version in sorted(set(wanted.values())):
            if tagged.get(version) != commit:
                registry.set_tag(name, version, tag, commit)
        for version in sorted(set(tagged) - set(wanted.values())):
            registry.delete_tag(name, version, tag)
            result.removed.append(f"{name} v{version} {tag}")
    return result


# --- after `modelops sync` -------------------------------------------------------------------------

def after_sync(project: Project, env: str, synced: Synced,
               follow_mlflow: bool | None) -> tuple[list[str], list[Diagnostic]]:
    """MLflow follows git (when the sync was clean; `follow_mlflow` None: mlflow.follow_sync), then
    the word back (after --wait): the lines to print and the errors."""
    from modelops.diagnostics import Diagnostic, UserError
    from modelops.git.repo import rev

    config = project.config
    healthy = not synced.diagnostics
    following = healthy and config is not None and (
        config.mlflow.follow_sync if follow_mlflow is None else follow_mlflow)
    if config is None or not (following or synced.waited is not None):
        return [], []
    try:
        commit = rev(project.root, "HEAD")
    except UserError as exc:
        if following or config.notify.github_deployments:
            return [], [Diagnostic(".", 1, 1, "MO020", f"MLflow aliases and reports name the synced commit: "
                                                       f"{exc.diagnostics[0].message}")]
        commit = ""  # a webhook alone does not need the commit
    lines, errors = follow_sync(project, env, commit) if following else ([], [])
    if synced.waited is not None:
        from modelops.promotion.notify import reports, send

        try:
            lines += send(project.root, config, reports(project.root, env, synced, commit))
        except UserError as exc:
            errors += exc.diagnostics
    return lines, errors


def follow_sync(project: Project, env: str, commit: str) -> tuple[list[str], list[Diagnostic]]:
    """Point the MLflow aliases and tags of `env` at what the working tree's model files run."""
    from modelops.diagnostics import Diagnostic
    from modelops.promotion.registry import Registry, RegistryError

    config = project.require()
    models = project.resolved()
    try:
        done = follow(Registry.from_config(project.root, config.mlflow), env, running(models, env),
                      known_names(models), commit)
    except RegistryError as exc:
        return [], [Diagnostic("modelops.yaml", 1, 1, exc.code, exc.message)]
    return [f"mlflow: {item}" for item in done.set] + [f"mlflow: removed {item}" for item in done.removed], []
