"""Advance, hold or abort: one decision per model and environment that runs a canary or shadow.

Bake time runs from the commit on the base branch that set the current step (the trial variants as
they are now: same artifacts, same weights), read from the model file's git history: the moment the
step was merged, which is what a reviewer can check, and it survives restarts of the cluster objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelops.compile.duration import Duration

if TYPE_CHECKING:
    from modelops.compile.project import Project
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.compile.spec import Rollout
    from modelops.rollout.evidence import Evidence
    from modelops.rollout.gates import Gate


@dataclass
class Decision:
    model: str
    env: str
    trial: str = "—"  # e.g. `canary 10%`, `shadow`
    action: str = "off"  # off | hold | advance | abort | error
    reason: str = "no canary or shadow runs"
    target: str = "—"  # e.g. `canary 25%`, `main`
    evidence: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    declining: list[str] = field(default_factory=list)  # main breaching its own alert thresholds
    pull_request: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None  # main against the trial on stored predictions


def trial_of(model: ResolvedModel) -> ResolvedVariant | None:
    """The one canary or shadow beside main (None: none, or a split rollout cannot manage)."""
    others = [v for v in model.variants if v is not model.main]
    return others[0] if len(others) == 1 else None


def describe(variant: ResolvedVariant) -> str:
    return "shadow" if variant.shadow else f"canary {variant.weight or 0}%"


def next_step(variant: ResolvedVariant, policy: Rollout) -> tuple[str, int | None]:
    """Where an advance goes: (`canary`, weight), (`main`, None), or a shadow's first step."""
    if variant.shadow:
        return "canary", policy.steps[0]
    higher = [step for step in policy.steps if step > (variant.weight or 0)]
    return ("canary", higher[0]) if higher else ("main", None)


def decide(trial: ResolvedVariant, evidence: Evidence, gates: list[Gate], policy: Rollout,
           baked: float | None) -> tuple[str, str]:
    """(action, reason) from the evidence, the gates' results and the seconds at this step."""
    main = next(v for v in evidence.variants.values() if v.role == "main")
    for item in (main, evidence.variants[trial.name]):
        if item.requests is None or item.requests < policy.min_requests:
            seen = 0 if item.requests is None else math.floor(item.requests)
            return "hold", (f"too little traffic: {item.variant} served {seen} requests in 5m, "
                            f"{policy.min_requests} needed")
    red = [g for g in gates if g.passed is False]
    if red:
        return "abort", "; ".join(f"{g.name}: {g.detail}" for g in red)
    unknown = [g for g in gates if g.passed is None]
    if unknown:
        return "hold", "no data for " + ", ".join(g.name for g in unknown)
    bake = Duration.parse(policy.bake).seconds  # validated as the spec's Duration
    if baked is None:
        return "hold", "the commit that set this step is not in the base branch's history"
    if baked < bake:
        return "hold", f"baking: {_human(baked)} of {policy.bake} at this step, gates green"
    return "advance", f"gates green after {_human(baked)} at this step"


def _human(value: float) -> str:
    minutes, secs = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def policy_of(model: ResolvedModel) -> Rollout | None:
    """The model file's `rollout:`, else its environment's default in modelops.yaml."""
    return model.spec.rollout or model.env_config.rollout


def state(model: ResolvedModel) -> tuple[tuple[str, bool, int | None, Any], ...]:
    """What a step is: the trial variants with their shadow flag, weight and artifact."""
    return tuple(sorted((v.name, v.shadow, v.weight, v.settings.get("artifact", "uri"))
                        for v in model.variants if v is not model.main))


def step_started(project: Project, path: str, base: str, model: ResolvedModel) -> float | None:
    """Unix time of the oldest commit of the newest unbroken run in which `model`'s environment ran
    the trial as it is now (None: not found)."""
    from modelops.git.refs import git

    now, since = state(model), None
    for commit, past in project.past(path, model.env, base):
        if past is None or state(past) != now:
            break
        since = commit
    if since is None:
        return None
    return float(git(project.root, "show", "-s", "--format=%ct", since).decode().strip())


def gate_rows(gates: list[Gate]) -> list[dict[str, Any]]:
    return [{"gate": g.name, "result": g.mark, "detail": g.detail} for g in gates]


