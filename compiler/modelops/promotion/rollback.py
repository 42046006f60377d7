"""`modelops rollback`: abort the canary or shadow an environment runs (main stays), or move main back
to the artifact it ran before (from the model file's git history), proposed as a pull request through
`promotion.propose`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelops.markdown import code, inline
from modelops.promotion.edit import Pin
from modelops.promotion.propose import Origin, Outcome, Proposal, Target, propose
from modelops.promotion.registry import mlflow_ref, pinned

if TYPE_CHECKING:
    from modelops.compile.resolve import ResolvedVariant


def rollback(where: Path | Origin, model: str, env: str, *, main: bool = False, push: bool = True,
             crd_dir: Path | None = None) -> Outcome:
    """A pull request that aborts the canary or shadow `env` runs (main stays), or, with `main` or
    when no trial runs, moves `env`'s main variant back to the artifact it ran before (and drops
    any trial)."""
    origin = Origin.of(where, fetch=push)
    return propose(origin, model, env, lambda target: _decide(target, main), push=push, crd_dir=crd_dir)


def _decide(target: Target, main: bool) -> Proposal:
    from modelops.promotion.edit import abort_text

    deployed = target.deployed()
    if deployed is None or not deployed.main.settings.get("artifact", "uri"):
        raise target.error(("name",), "MO514", f"{target.spec.name} does not run in {target.env}")
    now = pinned(deployed.main)
    running = [v for v in deployed.variants if v is not deployed.main]
    aborted = abort_text(target.text, target.env, target.envs) if running else target.text
    if running and not main:
        return _abort(target, now, running, aborted)
    return _back(target, now, running, aborted)


def _abort(target: Target, now: Pin, running: list[ResolvedVariant], aborted: str) -> Proposal:
    """Drop the trial variants; main keeps its artifact and all the traffic."""
    spec, env, trials = target.spec, target.env, _trials(running)
    outcome = Outcome(spec.name, env, "abort", now.version, "nothing-to-do")
    outcome.notes.append(f"aborting the {trials} in {env}; main stays at {now.label()} "
                         "(rollback --main moves main back as well)")
    _, trial_version = mlflow_ref(running[0])
    tag = f"v{trial_version}" if trial_version is not None else "trial"
    outcome.branch = f"rollback/{spec.name}-{env}-abort-{tag}"
    summary = (f"Abort the {trials} of **{spec.name}** in **{env}**: main keeps "
               f"{inline(now.label())} ({code(now.uri)}) and takes all the traffic.")
    return Proposal(outcome, aborted, f"Abort the {trials} of {spec.name} in {env}", summary,
                    labels=["rollback"], command="rollback")


def _back(target: Target, now: Pin, running: list[ResolvedVariant], aborted: str) -> Proposal:
    """Main goes back to the artifact it ran before; any trial is dropped."""
    from modelops.promotion.edit import pin_text

    spec, env = target.spec, target.env
    found = previous_deployment(target, now)
    if found is None:
        raise target.error(("name",), "MO514", f"the git history of {target.doc.path} shows "
                           f"no earlier artifact for {env}'s main variant")
    previous, seen = found
    outcome = Outcome(spec.name, env, "main", previous.version, "nothing-to-do")
    dropped = f" The {_trials(running)} is dropped." if running else ""
    if running:
        outcome.notes.append(f"the {_trials(running)} in {env} is dropped as well")
    tag = f"v{previous.version}" if previous.version is not None else seen[:8]
    outcome.branch = f"rollback/{spec.name}-{env}-{tag}"
    summary = (f"Roll back **{spec.name}** in **{env}**: main goes from {inline(now.label())} "
               f"({code(now.uri)}) back to {inline(previous.label())} ({code(previous.uri)}), as deployed "
               f"in commit {seen[:12]}.{dropped}")
    return Proposal(outcome, pin_text(aborted, env, target.envs, previous, "main"),
                    f"Roll back {spec.name} in {env} to {previous.label()}", summary, labels=["rollback"],
                    command="rollback")


def previous_deployment(target: Target, current: Pin) -> tuple[Pin, str] | None:
    """The main artifact the target environment ran before `current`, and the commit that set it,
    from the git history of the model file on the base branch."""
    from modelops.compile.project import MODELS_DIR

    path = f"{MODELS_DIR}/{target.spec.name}.yaml"
    for commit, past in target.project.past(path, target.env, target.origin.base):
        if past is None:
            continue
        uri = past.main.settings.get("artifact", "uri")
        model, version = mlflow_ref(past.main)
        if uri and uri != current.uri:
            return Pin(uri, model if version is not None else None, version), commit
    return None


def _trials(running: list[ResolvedVariant]) -> str:
    return ", ".join(_trial_label(v) for v in running)


def _trial_label(variant: ResolvedVariant) -> str:
    _, version = mlflow_ref(variant)
    kind = "shadow" if variant.shadow else "canary"
    return f"{kind} {variant.name!r} ({f'version {version}' if version is not None else _uri(variant)})"


def _uri(variant: ResolvedVariant) -> str:
    return str(variant.settings.get("artifact", "uri"))
