"""One `modelops rollout` pass: every model and environment with a canary or shadow and a rollout
policy, judged on Prometheus, acted on by pull request; main watched for a decline."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic, UserError
from modelops.rollout.decide import Decision

if TYPE_CHECKING:
    from modelops.promotion.propose import Origin
    from modelops.rollout.evidence import Evidence
    from modelops.rollout.prometheus import Prometheus


def prometheus_url(option: str | None, env_config: Any) -> str | None:
    """--prometheus, else $PROMETHEUS_URL, else the environment's `prometheus` in modelops.yaml."""
    return option or os.environ.get("PROMETHEUS_URL") or env_config.prometheus or None


def run_pass(root: Path, *, prometheus: str | None = None, only: set[str] | None = None, push: bool = True,
             crd_dir: Path | None = None, now: float | None = None) -> list[Decision]:
    """Decide for each model on the base branch; Prometheus being unreachable is a UserError (MO601)
    raised before any pull request is opened."""
    from modelops.promotion.propose import Origin

    origin = Origin.of(root, fetch=push)
    clock = time.time() if now is None else now
    plans: list[tuple[Decision, Any]] = []
    for file in origin.project.models(origin.base):
        if file.model is None:
            reason = "invalid model file on the base branch: run modelops validate"
            plans.append((Decision(file.stem, "—", action="error", reason=reason), None))
            continue
        if only and file.model.spec.name not in only:
            continue
        for model in origin.project.resolve(file.model):
            plans.append(_judge(origin, file.path, model, prometheus, clock))
    decisions = []
    for decision, act in plans:  # every query answered: now the pull requests
        if act is not None:
            try:
                outcome = act(push, crd_dir)
                decision.pull_request = outcome_json(outcome)
            except UserError as exc:
                decision.action, decision.reason = "error", "; ".join(str(d) for d in exc.diagnostics)
        decisions.append(decision)
    _on_decline(origin.config, decisions)
    return decisions


def outcome_json(outcome: Any) -> dict[str, Any]:
    data = asdict(outcome)
    return {k: data[k] for k in ("branch", "state", "pull_request", "compare_url", "notes")}


def _judge(origin: Origin, path: str, model: Any, option: str | None,
           clock: float) -> tuple[Decision, Any]:
    """The decision for one model in one environment, and what acting on it takes (None: nothing)."""
    from modelops.rollout import decide

    decision = Decision(model.spec.name, model.env)
    policy = decide.policy_of(model)
    trial = decide.trial_of(model)
    if trial is not None:
        decision.trial = decide.describe(trial)
    if policy is None:
        decision.reason = "no rollout policy (rollout: in the model file or its environment)"
        return decision, None
    if len(model.variants) > 2:
        decision.action, decision.reason = "hold", "more than one trial variant: split by hand"
        return decision, None
    client, evidence = _evidence(decision, model, option)
    if trial is None:
        decision.reason = "main only" + (f"; declining: {'; '.join(decision.declining)}"
                                         if decision.declining else "")
        return decision, None
    return _step(origin, path, model, decision, (trial, policy, client, evidence), clock)


def _evidence(decision: Decision, model: Any, option: str | None) -> tuple[Prometheus, Evidence]:
    """Read what each variant did from Prometheus (MO602 when there is none to ask); `decision`
    records the queries, the evidence and whether main declines."""
    from modelops.compile.generators.observability import alert_settings
    from modelops.promotion.follow import role
    from modelops.rollout import gates
    from modelops.rollout.evidence import collect
    from modelops.rollout.prometheus import Prometheus

    url = prometheus_url(option, model.env_config)
    if url is None:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO602", (
            f"no Prometheus to judge {model.spec.name} in {model.env} by: give --prometheus URL, set "
            f"$PROMETHEUS_URL, or environments.{model.env}.prometheus in modelops.yaml"))])
    client = Prometheus(url)
    roles = {v.name: role(model, v) for v in model.variants}
    evidence = collect(client, model.namespace, model.spec.name, roles)
    decision.queries = list(evidence.queries)
    decision.evidence = [asdict(v) for v in evidence.variants.values()]
    decision.declining = gates.decline(evidence.variants[model.main.name], alert_settings(model))
    return client, evidence


def _step(origin: Origin, path: str, model: Any, decision: Decision, judged: tuple[Any, Any, Any, Any],
          clock: float) -> tuple[Decision, Any]:
    """Judge the trial's gates and bake time: hold, or the advance or abort to deliver."""
    from modelops.rollout import act, decide, gates

    trial, policy, client, evidence = judged
    main = evidence.variants[model.main.name]
    results = gates.judge(evidence.variants[trial.name], main, policy.gates, client, model.namespace,
                          model.spec.name)
    decision.gates = decide.gate_rows(results)
    started = decide.step_started(origin.project, path, origin.base, model)
    baked = None if started is None else clock - started
    decision.action, decision.reason = decide.decide(trial, evidence, results, policy, baked)
    comparison = _predictions(model, trial, decision)
    if comparison is not None and decision.action == "advance" and comparison.verdict != "pass":
        decision.action, decision.reason = "hold", comparison.reason()
    if decision.action == "hold":
        return decision, None
    target = decide.next_step(trial, policy) if decision.action == "advance" else ("abort", None)
    decision.target = ("main" if target[0] == "main" else "no trial" if decision.action == "abort"
                       else f"canary {target[1]}%")

    def deliver(push: bool, crd_dir: Path | None) -> Any:
        return act.deliver(origin, model, trial, policy, decision.action, target, evidence, results,
                           decision.reason, push=push, crd_dir=crd_dir, comparison=comparison)

    return decision, deliver


def _predictions(model: Any, trial: Any, decision: Decision) -> Any:
    """The comparison on stored predictions, when the model asks for one (None: it does not, or the
    store cannot be read: then the decision says so and holds)."""
    if model.spec.compare is None:
        return None
    from modelops.compare.run import compare, gate_row
    from modelops.compile.duration import Duration

    try:
        comparison = compare(model, trial, Duration.parse(model.spec.compare.window).seconds)
    except (OSError, ValueError) as exc:
        decision.action, decision.reason = "hold", f"predictions store unreadable: {exc}"
        return None
    decision.comparison = comparison.to_json()
    decision.gates += [gate_row(gate) for gate in comparison.gates]
    return comparison


def _on_decline(config: Any, decisions: list[Decision]) -> None:
    """The `notify.on_decline_env` webhook, once per pass, naming each main variant that declines
    (Slack-compatible `text`, plus the facts); a failed call is noted on those decisions."""
    from modelops.promotion.notify import WebhookFailed, post_json

    declining = [d for d in decisions if d.declining]
    variable = config.notify.on_decline_env
    url = os.environ.get(variable) if variable else None
    if not declining or not url:
        return
    lines = [f"{d.model} in {d.env}: main {'; '.join(d.declining)}" for d in declining]
    payload = {"text": "modelops rollout: main is declining\n" + "\n".join(lines),
               "declining": [{"model": d.model, "environment": d.env, "problems": d.declining}
                             for d in declining]}
    try:
        post_json(url, payload)
    except WebhookFailed as exc:
        for decision in declining:
            decision.reason += f"; on_decline webhook failed ({exc})"


# --- output ---------------------------------------------------------------------------------------

COLUMNS = ("model", "env", "trial", "action", "target", "reason")


def rows(decisions: list[Decision]) -> list[tuple[str, ...]]:
    """One table row per decision, in COLUMNS' order (the CLI renders them); the reason names the
    pull request or branch a decision opened."""
    return [tuple(_cell(d, c) for c in COLUMNS) for d in decisions]


def _cell(decision: Decision, column: str) -> str:
    value = str(getattr(decision, column))
    if column == "reason" and decision.pull_request and decision.pull_request.get("pull_request"):
        pr = decision.pull_request["pull_request"]
        value += f" (pull request #{pr['number']} {pr['action']})"
    elif column == "reason" and decision.pull_request:
        value += f" (branch {decision.pull_request['branch']} {decision.pull_request['state']})"
    return value
