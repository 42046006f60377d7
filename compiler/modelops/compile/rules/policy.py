"""Policy gates from `environments.<env>.rules` and `teams` in modelops.yaml.

They run with every validate and compile, and report like any other error. The rollout rule judges
each model file by its past versions, read by a history reader the caller passes in (validate builds
one from git: compile never imports git itself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from modelops.compile.project import in_env
from modelops.compile.resolve import ResolvedModel, ResolvedVariant
from modelops.compile.source import Document, Loc
from modelops.compile.spec import RepoConfig
from modelops.compile.summary import ModelSummary
from modelops.diagnostics import Diagnostic

# A model file's past texts (given its repository-relative path), newest first.
HistoryReader = Callable[[str], Iterable[str]]


def check_policy(
    models: list[ResolvedModel],
    config: RepoConfig,
    config_doc: Document | None,
    history: HistoryReader | None = None,
) -> list[Diagnostic]:
    """The environments' rules; the rollout gate only when a `history` reader is given."""
    errors: list[Diagnostic] = []
    for model in models:
        errors += _check_rules(model)
    rollout = [m for m in models if m.env_config.rules.require_rollout]
    if rollout and history is not None:
        errors += _check_rollouts(rollout, config, config_doc, history)
    return errors


def _rule(model: ResolvedModel, name: str) -> str:
    return f"(rules.{name} of environment {model.env} in modelops.yaml)"


def _at(
    model: ResolvedModel, variant: ResolvedVariant | None, path: Loc, code: str, text: str
) -> Diagnostic:
    settings = variant.settings if variant else model.settings
    doc, loc = settings.origin(path)
    if doc is not model.doc:  # set in modelops.yaml or not at all: point at the model's variant
        doc, loc = model.doc, (variant.loc if variant else ("name",))
    return doc.diagnostic(loc, code, text)


def _check_rules(model: ResolvedModel) -> list[Diagnostic]:
    rules = model.env_config.rules
    errors = []
    if rules.require_monitoring and model.settings.get("monitoring", "enabled") is False:
        errors.append(_at(model, None, ("monitoring", "enabled"), "MO401",
                          f"monitoring cannot be switched off in {model.env} "
                          f"{_rule(model, 'require_monitoring')}"))
    for variant in model.variants:
        if variant.shadow:
            continue
        if rules.min_replicas is not None:
            low, path = _fewest_replicas(variant)
            if low < rules.min_replicas:
                errors.append(_at(model, variant, path, "MO402",
                                  f"variant {variant.name!r} may run {low} replica(s); {model.env} needs at "
                                  f"least {rules.min_replicas} {_rule(model, 'min_replicas')}"))
        if rules.require_memory_limit and not variant.settings.get("resources", "limits", "memory"):
            errors.append(_at(model, variant, ("resources", "limits"), "MO403",
                              f"variant {variant.name!r} needs resources.limits.memory in {model.env} "
                              f"{_rule(model, 'require_memory_limit')}"))
    return errors


def _fewest_replicas(variant: ResolvedVariant) -> tuple[int, Loc]:
    autoscaling = variant.settings.get("autoscaling")
    if autoscaling is not None:
        return autoscaling.get("min", 1), ("autoscaling", "min")
    replicas = variant.settings.get("replicas")
    return (1 if replicas is None else replicas), ("replicas",)


def check_team_caps(models: list[ModelSummary], config: RepoConfig) -> list[Diagnostic]:
    """Each team's models together may run at most `teams.<team>.max_replicas` per environment."""
    by_team: dict[tuple[str, str], list[tuple[ModelSummary, int]]] = defaultdict(list)
    for model in models:
        for env in model.envs:
            by_team[(model.team, env.env)].append((model, env.most_replicas))
    errors = []
    for (team, env_name), members in sorted(by_team.items(), key=lambda item: item[0]):
        cap = config.teams[team].max_replicas if team in config.teams else None
        if cap is None:
            continue
        total = sum(replicas for _, replicas in members)
        if total > cap:
            biggest, _ = max(members, key=lambda m: (m[1], m[0].name))
            members.sort(key=lambda m: m[0].name)
            share = ", ".join(f"{m.name} {replicas}" for m, replicas in members)
            errors.append(biggest.at_team("MO404",
                          f"team {team} may run {total} replicas in {env_name} ({share}), "
                          f"over its cap of {cap} (teams.{team}.max_replicas in modelops.yaml)"))
    return errors


# --- rollout: new artifacts reach main only through a canary or shadow ---------------------------

def _artifact(variant: ResolvedVariant) -> str | None:
    uri: str | None = variant.settings.get("artifact", "uri")
    return uri


def _artifacts(past: ResolvedModel) -> tuple[str | None, set[str]]:
    """(main artifact, canary/shadow artifacts) of a past version of a model in one environment."""
    trials = {uri for v in past.variants if v is not past.main and (uri := _artifact(v)) is not None}
    return _artifact(past.main), trials


def _check_rollouts(
    models: list[ResolvedModel], config: RepoConfig, config_doc: Document | None, read: HistoryReader
) -> list[Diagnostic]:
    errors = []
    for model in models:
        path = model.doc.path
        pasts = (in_env(text, path, model.env, config, config_doc) for text in read(path))
        history = [_artifacts(past) for past in pasts if past is not None]
        mains = {uri for m, _ in history for uri in [m] if uri}
        trials = {uri for _, t in history for uri in t}
        current = _artifact(model.main)
        if current and history and current not in mains and current not in trials:
            errors.append(_at(
                model, model.main, ("artifact", "uri"), "MO405",
                f"{current} has not run as a canary or shadow in {model.env} yet: add it as a "
                f"canary first {_rule(model, 'require_rollout')}",
            ))
    return errors
