"""`modelops autoupdate`: promote MLflow candidates that beat what is deployed, as pull requests.

A model opts in with `autoupdate:` in its file. One pass reads every model on the base branch, finds
each opted-in model's candidate (an alias or the newest version), compares the policy's metric with
the deployed version's, and runs `modelops promote` when the candidate is better by the margin.
Promotions are idempotent, so repeated passes never open a second pull request; a newer candidate's
pull request closes the older ones of the same model and environment (a comment points at the new one).
Candidates are compared with main and with any canary or shadow that runs: one a running trial beats is
not proposed. `--watch` repeats
passes; `serve` also runs a pass when an MLflow registry webhook says a model changed (MLflow
neither retries nor stores deliveries, so it keeps polling too).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from modelops.compile.spec import AutoUpdate
    from modelops.promotion.webhook import Receiver


@dataclass
class Decision:
    model: str
    env: str = "—"
    deployed: str = "—"
    candidate: str = "—"
    metric: str = "—"
    action: str = "off"  # off | keep | skip | promote | error
    reason: str = "no autoupdate policy"


def better(policy: AutoUpdate, deployed: float, candidate: float) -> tuple[bool, float]:
    """Whether `candidate` beats `deployed` by at least the margin, and by how much."""
    gain = deployed - candidate if policy.direction == "minimize" else candidate - deployed
    enough = gain >= policy.min_improvement or math.isclose(gain, policy.min_improvement, rel_tol=1e-9)
    return gain > 0 and enough, gain


def run_pass(root: Path, *, only: set[str] | None = None, registered: set[str] | None = None,
             push: bool = True, crd_dir: Path | None = None) -> list[Decision]:
    """One pass over the models on the base branch. `only` narrows to model names, `registered` to
    MLflow registered names (a webhook). MLflow being unreachable is a UserError."""
    from modelops.git import repo as gitrepo
    from modelops.git.history import open_project
    from modelops.promotion.registry import Registry, RegistryError

    project = open_project(root)
    config, config_doc = project.require(), project.config_doc
    base = gitrepo.base_ref(root, config.git, remote=push)
    decisions = []
    registry: Registry | None = None
    for file in project.models(base):
        if file.model is None:
            decisions.append(Decision(file.stem, action="error",
                                      reason="invalid model file on the base branch: run modelops validate"))
            continue
        spec, doc = file.model.spec, file.model.doc
        if only and spec.name not in only:
            continue
        policy = spec.autoupdate
        if policy is None or not policy.enabled:
            if registered is None:
                decisions.append(Decision(spec.name, reason="no autoupdate policy" if policy is None
                                          else "autoupdate.enabled is false"))
            continue
        try:
            registry = registry or Registry.from_config(root, config.mlflow)
            decision = _decide(root, spec, doc, config, config_doc, registry, registered, push, crd_dir)
        except RegistryError as exc:
            if exc.code == "MO501":
                raise UserError([Diagnostic(file.path, 1, 1, exc.code, exc.message)]) from exc
            decision = Decision(spec.name, policy.env, action="error", reason=exc.message)
        except UserError as exc:
            decision = Decision(spec.name, policy.env, action="error",
                                reason="; ".join(str(d) for d in exc.diagnostics))
        if decision is not None:
            decisions.append(decision)
    return decisions


def _decide(root: Path, spec: Any, doc: Any, config: Any, config_doc: Any, registry: Any,
            registered: set[str] | None, push: bool, crd_dir: Path | None) -> Decision | None:
    from modelops.compile.resolve import resolve
    from modelops.promotion.promote import Request, mlflow_ref, promote, registered_name

    policy: AutoUpdate = spec.autoupdate
    decision = Decision(spec.name, policy.env, metric=policy.metric, action="skip")
    deployed = next((m for m in resolve(spec, doc, config, config_doc) if m.env == policy.env), None)
    name = registered_name(spec, deployed)
    if registered is not None and name not in registered:
        return None
    _, version = mlflow_ref(deployed.main if deployed else None)
    if deployed is None or version is None:
        decision.reason = f"main in {policy.env} has no pinned MLflow version to compare with"
        return decision
    decision.deployed = f"v{version}"
    candidate = registry.candidate(name, policy.candidate)
    decision.candidate = f"v{candidate.version}"
    trials = {mlflow_ref(v)[1]: v.name for v in deployed.variants if v is not deployed.main}
    if candidate.version == version:
        decision.action, decision.reason = "keep", "the candidate is what runs"
        return decision
    if candidate.version < version:
        decision.reason = f"the candidate is older than the deployed v{version}"
        return decision
    if candidate.version in trials:
        decision.action = "keep"
        decision.reason = f"v{candidate.version} already runs as {trials[candidate.version]}"
        return decision
    newer = sorted(v for v in trials if v is not None and v > candidate.version)
    if newer:
        decision.reason = f"the candidate is older than v{newer[-1]}, which runs as {trials[newer[-1]]}"
        return decision
    current = registry.version(name, version)
    old, new = current.metrics.get(policy.metric), candidate.metrics.get(policy.metric)
    if old is None or new is None:
        missing = f"v{version}" if old is None else f"v{candidate.version}"
        decision.reason = f"metric {policy.metric} is not logged on {missing}'s run"
        return decision
    decision.metric = f"{policy.metric} {old:.6g} -> {new:.6g}"
    wins, gain = better(policy, old, new)
    if not wins:
        want = "lower" if policy.direction == "minimize" else "higher"
        decision.action = "keep"
        decision.reason = (f"not better by {policy.min_improvement:g}: {policy.metric} must be {want} "
                           f"(improvement {gain:.6g})")
        return decision
    beaten = _beaten_by_trial(registry, name, policy, trials, new)
    if beaten:
        decision.action, decision.reason = "keep", beaten
        return decision
    role = {"canary": "canary", "shadow": "shadow", "replace": "main"}[policy.rollout]
    request = Request(spec.name, policy.env, version=candidate.version, role=role,  # type: ignore[arg-type]
                      traffic=policy.traffic if role == "canary" else None)
    outcome = promote(root, request, push=push, crd_dir=crd_dir, registry=registry)
    decision.action = "promote"
    if outcome.pull_request:
        pr = outcome.pull_request
        decision.reason = f"pull request #{pr['number']} {pr['action']} ({outcome.branch})"
        closed = _close_superseded(root, config, spec.name, policy.env, outcome.branch or "", pr)
        if closed:
            decision.reason += f"; closed superseded {', '.join(f'#{n}' for n in closed)}"
    elif outcome.state == "nothing-to-do":
        decision.reason = "the model file already deploys it"
    else:
        decision.reason = f"branch {outcome.branch} {outcome.state}"
    return decision


def _beaten_by_trial(registry: Any, name: str, policy: AutoUpdate, trials: dict[int | None, str],
                     new: float) -> str | None:
    """Why the candidate is not proposed when a running canary or shadow does better (None: it is not)."""
    for number, role in sorted((v, r) for v, r in trials.items() if v is not None):
        theirs = registry.version(name, number).metrics.get(policy.metric)
        if theirs is not None and not better(policy, theirs, new)[0] and theirs != new:
            return (f"not better than v{number}, which runs as {role} ({policy.metric} {theirs:.6g} vs "
                    f"{new:.6g})")
    return None


def _close_superseded(root: Path, config: Any, model: str, env: str, branch: str,
                      pr: dict[str, Any]) -> list[int]:
    """One open pull request per model and environment: close the older promotions' PRs."""
    from modelops.promotion.pullrequest import close_superseded, repository

    found = repository(root, config)
    if not found:
        return []
    return close_superseded(config.github, found, model=model, env=env, base=config.git.base,
                            keep=branch, replacement=(int(pr["number"]), str(pr["url"])))


# --- output ---------------------------------------------------------------------------------------

COLUMNS = ("model", "env", "deployed", "candidate", "metric", "action", "reason")


def table(decisions: list[Decision]) -> str:
    rows = [COLUMNS] + [tuple(str(getattr(d, c)) for c in COLUMNS) for d in decisions]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(r, widths, strict=False)), r[-1]]) for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


class Service:
    """The webhook receiver: a threaded HTTP server feeding one worker that runs passes in order.

    `run` runs one pass (None: every model, else the registered models named); `log` gets one line per
    event (a rejected delivery, a pass starting, the address listened on).
    """

    def __init__(self, secret: str, *, tolerance: int, run: Callable[[set[str] | None], object],
                 log: Callable[[str], None]) -> None:
        self.secret, self.tolerance, self.run, self.log = secret, tolerance, run, log
        self.jobs: queue.Queue[str | None] = queue.Queue()
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()

    def accept(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        from modelops.promotion.webhook import Rejected, registered_model, verify

        try:
            delivery = verify(self.secret, headers, body, tolerance=self.tolerance)
            with self.lock:
                now = time.time()
                self.seen = {k: t for k, t in self.seen.items() if now - t <= 2 * self.tolerance}
                if delivery in self.seen:
                    raise Rejected(409, "delivery already received (replay)")
                self.seen[delivery] = now
            name = registered_model(body)
        except Rejected as exc:
            self.log(f"webhook rejected: {exc.reason}")
            return exc.status, {"error": exc.reason}
        if name is None:
            return 200, {"ignored": "not a model_version or model_version_alias creation"}
        self.jobs.put(name)
        return 202, {"queued": name}

    def _work(self) -> None:
        while True:
            name = self.jobs.get()
            label = "full pass" if name is None else f"pass for registered model {name}"
            self.log(f"autoupdate: {label}")
            self.run(None if name is None else {name})

    def _poll(self, interval: float) -> None:
        while True:
            self.jobs.put(None)
            time.sleep(interval)

    def server(self, host: str, port: int) -> Receiver:
        """The HTTP server (not yet serving) that hands deliveries to `accept`."""
        from modelops.promotion.webhook import receiver

        return receiver(host, port, self.accept, self.log)

    def serve(self, host: str, port: int, poll: float) -> None:
        server = self.server(host, port)
        threading.Thread(target=self._work, daemon=True).start()
        if poll > 0:
            threading.Thread(target=self._poll, args=(poll,), daemon=True).start()
        self.log(f"autoupdate: listening on http://{host}:{server.server_address[1]}/")
        try:
            server.serve_forever()
        finally:
            server.server_close()
