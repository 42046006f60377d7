"""A decision as a pull request, through the one proposal engine (`promotion.propose`):

- advance a canary: its weight goes to the next step; after the last step it becomes main (the
  edit `promote --from-canary` makes: main takes the canary's artifact, the canary goes);
- advance a shadow: it becomes a canary at the first step;
- abort: the trial variant goes, main keeps its artifact and all the traffic (`rollback`'s abort).

Every body carries the evidence table, the gates, the PromQL used and the dashboard link; the PR is
labelled `rollout:advance` or `rollout:abort`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.rollout.evidence import HEADER, Evidence, row

if TYPE_CHECKING:
    from modelops.compare.run import Comparison
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.compile.spec import Rollout
    from modelops.promotion.propose import Origin, Outcome, Proposal, Target
    from modelops.rollout.gates import Gate


def dashboard_link(model: ResolvedModel) -> str:
    from modelops.compile.generators.dashboard import link, uid
    from modelops.markdown import code
    from modelops.markdown import link as markdown_link

    base, board, name = model.env_config.grafana_url, uid(model.env), model.spec.name
    if not base:
        return f"Grafana dashboard {code(board)}"
    return markdown_link(f"{board}: {name}", base.rstrip("/") + link(model.env, name, model.namespace))


def body(model: ResolvedModel, headline: str, evidence: Evidence, gates: list[Gate],
         comparison: Comparison | None = None) -> str:
    """The PR summary: what is decided and why, in numbers a reviewer can check on the dashboard."""
    from modelops.markdown import fence, table

    lines = [headline, "", "#### Evidence (Prometheus, the recorded series the dashboard shows)", "",
             *table([HEADER, *(row(v) for v in evidence.variants.values())]), "",
             *table([("gate", "result", "detail"), *((g.name, g.mark, g.detail) for g in gates)])]
    if comparison is not None:
        from modelops.compare.run import markdown

        lines += ["", "#### Predictions (the collector's store)", "", markdown(comparison).rstrip()]
    asked = [g.name.removeprefix("query: ") for g in gates if g.name.startswith("query: ")]
    queries = [*evidence.queries, *asked]
    lines += ["", "<details><summary>PromQL</summary>", "", *fence("\n".join(queries), "promql"), "",
              "</details>", "", f"Dashboard: {dashboard_link(model)}"]
    return "\n".join(lines) + "\n"


Edit = Callable[[str, list[str]], str]  # (model file text, every environment) -> the new text


def deliver(origin: Origin, model: ResolvedModel, trial: ResolvedVariant, policy: Rollout, action: str,
            target: tuple[str, int | None], evidence: Evidence, gates: list[Gate], reason: str, *,
            push: bool, crd_dir: Path | None, comparison: Comparison | None = None) -> Outcome:
    """Open (or update) the model and environment's one rollout pull request for `action`."""
    from modelops.promotion.propose import propose

    name, env = model.spec.name, model.env
    edit, title, headline = _change(model, trial, policy, action, target, reason)
    summary = body(model, headline, evidence, gates, comparison)

    def decide(there: Target) -> Proposal:
        from modelops.promotion.propose import Outcome, Proposal

        outcome = Outcome(there.spec.name, env, action, None, "nothing-to-do", branch=f"rollout/{name}-{env}")
        return Proposal(outcome, edit(there.text, there.envs), title, summary, labels=[f"rollout:{action}"],
                        command="rollout")

    return propose(origin, name, env, decide, push=push, crd_dir=crd_dir, auto_merge=policy.auto_merge)


def _change(model: ResolvedModel, trial: ResolvedVariant, policy: Rollout, action: str,
            target: tuple[str, int | None], reason: str) -> tuple[Edit, str, str]:
    """The edit, the title and the headline of `action` (abort, or advance to `target`)."""
    from modelops.markdown import inline
    from modelops.promotion.edit import abort_text, pin_text
    from modelops.promotion.registry import pinned
    from modelops.rollout.decide import describe

    name, env, pin, now = model.spec.name, model.env, pinned(trial), describe(trial)
    label = inline(pin.label())  # the version, or (unpinned) the artifact URI
    role, weight = target
    if action == "abort":
        return (lambda text, envs: abort_text(text, env, envs), f"Abort the {now} of {name} in {env}",
                f"Abort the **{now}** ({label}) of **{name}** in **{env}**: a gate is red "
                f"({inline(reason)}). Main keeps its artifact and takes all the traffic.")
    if trial.shadow:
        return (lambda text, envs: pin_text(abort_text(text, env, envs), env, envs, pin, "canary", weight),
                f"Rollout: {name} shadow ({pin.label()}) becomes a {weight}% canary in {env}",
                f"The shadow **{label}** of **{name}** in **{env}** becomes a canary at "
                f"{weight}%: {inline(reason)}.")
    if role == "main":
        return (lambda text, envs: pin_text(text, env, envs, pin, "main"),
                f"Rollout: {name} canary ({pin.label()}) becomes main in {env}",
                f"The canary **{label}** of **{name}** in **{env}** passed every step "
                f"({', '.join(f'{s}%' for s in policy.steps)}) and becomes main: {inline(reason)}.")
    return (lambda text, envs: pin_text(text, env, envs, pin, "canary", weight),
            f"Rollout: {name} canary ({pin.label()}) {trial.weight}% -> {weight}% in {env}",
            f"Raise the canary **{label}** of **{name}** in **{env}** from {trial.weight}% "
            f"to {weight}%: {inline(reason)}.")
