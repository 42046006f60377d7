"""A decision as a pull request, through the promotion machinery (`promotion.promote.propose`):

- advance a canary: its weight goes to the next step; after the last step it becomes main (the
  edit `promote --from-canary` makes: main takes the canary's artifact, the canary goes);
- advance a shadow: it becomes a canary at the first step;
- abort: the trial variant goes, main keeps its artifact and all the traffic (`rollback`'s abort).

Every body carries the evidence table, the gates, the PromQL used and the dashboard link; the PR is
labelled `rollout:advance` or `rollout:abort`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelops.rollout.evidence import HEADER, Evidence, row

if TYPE_CHECKING:
    from modelops.compare.run import Comparison
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.compile.spec import Rollout
    from modelops.promotion.edit import Pin
    from modelops.promotion.promote import Outcome
    from modelops.rollout.gates import Gate


def pin_of(variant: ResolvedVariant) -> Pin:
    from modelops.promotion.edit import Pin

    mlflow = variant.settings.get("artifact", "mlflow") or {}
    return Pin(str(variant.settings.get("artifact", "uri")), mlflow.get("model"), mlflow.get("version"))


def dashboard_link(model: ResolvedModel) -> str:
    from modelops.compile.generators.observability import dashboard_uid

    uid = dashboard_uid(model)
    base = model.env_config.grafana_url
    return f"[{uid}]({base.rstrip('/')}/d/{uid})" if base else f"Grafana dashboard uid `{uid}`"


def body(model: ResolvedModel, headline: str, evidence: Evidence, gates: list[Gate],
         comparison: Comparison | None = None) -> str:
    """The PR summary: what is decided and why, in numbers a reviewer can check on the dashboard."""
    lines = [headline, "", "#### Evidence (Prometheus, the recorded series the dashboard shows)", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row(v)) + " |" for v in evidence.variants.values()]
    lines += ["", "| gate | result | detail |", "|---|---|---|"]
    lines += [f"| {_cell(g.name)} | {g.mark} | {_cell(g.detail)} |" for g in gates]
    if comparison is not None:
        from modelops.compare.run import markdown

        lines += ["", "#### Predictions (the collector's store)", "", markdown(comparison).rstrip()]
    lines += ["", "<details><summary>PromQL</summary>", "", "```promql", *evidence.queries,
              *[g.name.removeprefix("query: ") for g in gates if g.name.startswith("query: ")], "```", "",
              "</details>", "", f"Dashboard: {dashboard_link(model)}"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def deliver(root: Path, model: ResolvedModel, trial: ResolvedVariant, policy: Rollout, action: str,
            target: tuple[str, int | None], evidence: Evidence, gates: list[Gate], reason: str, *,
            push: bool, crd_dir: Path | None, comparison: Comparison | None = None) -> Outcome:
    """Open (or update) the model and environment's one rollout pull request for `action`."""
    from modelops.promotion.edit import abort_text, pin_text
    from modelops.promotion.promote import propose
    from modelops.rollout.decide import describe

    name, env, pin, now = model.spec.name, model.env, pin_of(trial), describe(trial)
    role, weight = target
    if action == "abort":
        def change(text: str, envs: list[str]) -> str:
            return abort_text(text, env, envs)
        title = f"Abort the {now} of {name} in {env}"
        headline = (f"Abort the **{now}** ({pin.label()}) of **{name}** in **{env}**: a gate is red "
                    f"({reason}). Main keeps its artifact and takes all the traffic.")
    elif trial.shadow:
        def change(text: str, envs: list[str]) -> str:
            return pin_text(abort_text(text, env, envs), env, envs, pin, "canary", weight)
        title = f"Rollout: {name} shadow ({pin.label()}) becomes a {weight}% canary in {env}"
        headline = (f"The shadow **{pin.label()}** of **{name}** in **{env}** becomes a canary at "
                    f"{weight}%: {reason}.")
    elif role == "main":
        def change(text: str, envs: list[str]) -> str:
            return pin_text(text, env, envs, pin, "main")
        title = f"Rollout: {name} canary ({pin.label()}) becomes main in {env}"
        headline = (f"The canary **{pin.label()}** of **{name}** in **{env}** passed every step "
                    f"({', '.join(f'{s}%' for s in policy.steps)}) and becomes main: {reason}.")
    else:
        def change(text: str, envs: list[str]) -> str:
            return pin_text(text, env, envs, pin, "canary", weight)
        title = f"Rollout: {name} canary ({pin.label()}) {trial.weight}% -> {weight}% in {env}"
        headline = (f"Raise the canary **{pin.label()}** of **{name}** in **{env}** from {trial.weight}% "
                    f"to {weight}%: {reason}.")
    return propose(root, name, env, change, branch=f"rollout/{name}-{env}", title=title,
                   summary=body(model, headline, evidence, gates, comparison), labels=[f"rollout:{action}"],
                   role=action, push=push, crd_dir=crd_dir, auto_merge=policy.auto_merge)
