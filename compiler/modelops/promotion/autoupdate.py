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

import functools
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
    from modelops.compile.project import LoadedModel
    from modelops.compile.spec import AutoUpdate
    from modelops.promotion.propose import Origin
    from modelops.promotion.registry import ModelVersion, Registry
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
             push: bool = True, crd_dir: Path | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> list[Decision]:
    """One pass over the models on the base branch. `only` narrows to model names, `registered` to
    MLflow registered names (a webhook); `on_progress` gets (done, total) per model file. MLflow
    being unreachable is a UserError."""
    from modelops.promotion.propose import Origin
    from modelops.promotion.registry import Registry

    origin = Origin.of(root, fetch=push)
    decisions = []

    @functools.cache
    def registry() -> Registry:  # made when the first model with a policy asks
        return Registry.from_config(origin.root, origin.config.mlflow)

    files = list(origin.project.models(origin.base))
    for done, file in enumerate(files, 1):
        if on_progress is not None:
            on_progress(done - 1, len(files))
        if file.model is None:
            decisions.append(Decision(file.stem, action="error",
                                      reason="invalid model file on the base branch: run modelops validate"))
            continue
        if only and file.model.spec.name not in only:
            continue
        decision = _model(origin, file.path, file.model, registry, registered, push, crd_dir)
        if decision is not None:
            decisions.append(decision)
    if on_progress is not None:
        on_progress(len(files), len(files))
    return decisions


def _model(origin: Origin, path: str, model: LoadedModel, registry: Callable[[], Registry],
           registered: set[str] | None, push: bool, crd_dir: Path | None) -> Decision | None:
    """The decision for one model file (None: a webhook pass for another registered model)."""
    from modelops.promotion.registry import RegistryError

    spec, policy = model.spec, model.spec.autoupdate
    if policy is None or not policy.enabled:
        if registered is not None:
            return None
        return Decision(spec.name, reason="no autoupdate policy" if policy is None
                        else "autoupdate.enabled is false")
    try:
        return _decide(origin, model, policy, registry(), registered, push, crd_dir)
    except RegistryError as exc:
        if exc.code == "MO501":
            raise UserError([Diagnostic(path, 1, 1, exc.code, exc.message)]) from exc
        return Decision(spec.name, policy.env, action="error", reason=exc.message)
    except UserError as exc:
        return Decision(spec.name, policy.env, action="error",
                        reason="; ".join(str(d) for d in exc.diagnostics))


def _decide(origin: Origin, model: LoadedModel, policy: AutoUpdate, registry: Registry,
            registered: set[str] | None, push: bool, crd_dir: Path | None) -> Decision | None:
    from modelops.promotion.registry import mlflow_ref, registered_name

    spec = model.spec
    deployed = next((m for m in origin.project.resolve(model) if m.env == policy.env), None)
    name = registered_name(spec, deployed)
    if registered is not None and name not in registered:
        return None
    decision = Decision(spec.name, policy.env, metric=policy.metric, action="skip")
    _, version = mlflow_ref(deployed.main if deployed else None)
    if deployed is None or version is None:
        decision.reason = f"main in {policy.env} has no pinned MLflow version to compare with"
        return decision
    decision.deployed = f"v{version}"
    candidate = registry.candidate(name, policy.candidate)
    decision.candidate = f"v{candidate.version}"
    trials = {mlflow_ref(v)[1]: v.name for v in deployed.variants if v is not deployed.main}
    if _settled(decision, candidate.version, version, trials) or not _wins(
            decision, policy, registry, name, (version, candidate), trials):
        return decision
    _promote(origin, decision, spec.name, policy, candidate.version, registry, push, crd_dir)
    return decision


def _settled(decision: Decision, candidate: int, version: int, trials: dict[int | None, str]) -> bool:
    """Whether the versions alone decide (the candidate runs already, or is older): `decision` says so."""
    newer = sorted(v for v in trials if v is not None and v > candidate)
    if candidate == version:
        decision.action, decision.reason = "keep", "the candidate is what runs"
    elif candidate < version:
        decision.reason = f"the candidate is older than the deployed v{version}"
    elif candidate in trials:
        decision.action, decision.reason = "keep", f"v{candidate} already runs as {trials[candidate]}"
    elif newer:
        decision.reason = f"the candidate is older than v{newer[-1]}, which runs as {trials[newer[-1]]}"
    else:
        return False
    return True


def _wins(decision: Decision, policy: AutoUpdate, registry: Registry, name: str,
          versions: tuple[int, ModelVersion], trials: dict[int | None, str]) -> bool:
    """Whether the candidate beats main by the margin and every running trial; else `decision` says
    why not."""
    version, candidate = versions
    current = registry.version(name, version)
    old, new = current.metrics.get(policy.metric), candidate.metrics.get(policy.metric)
    if old is None or new is None:
        missing = f"v{version}" if old is None else f"v{candidate.version}"
        decision.reason = f"metric {policy.metric} is not logged on {missing}'s run"
        return False
    decision.metric = f"{policy.metric} {old:.6g} -> {new:.6g}"
    wins, gain = better(policy, old, new)
    if not wins:
        want = "lower" if policy.direction == "minimize" else "higher"
        decision.action = "keep"
        decision.reason = (f"not better by {policy.min_improvement:g}: {policy.metric} must be {want} "
                           f"(improvement {gain:.6g})")
        return False
    beaten = _beaten_by_trial(registry, name, policy, trials, new)
    if beaten:
        decision.action, decision.reason = "keep", beaten
        return False
    return True


def _promote(origin: Origin, decision: Decision, model: str, policy: AutoUpdate, version: int,
             registry: Registry, push: bool, crd_dir: Path | None) -> None:
    """Propose the candidate as the policy's rollout says; `decision` names the pull request."""
    from modelops.promotion.promote import Request, promote

    role = {"canary": "canary", "shadow": "shadow", "replace": "main"}[policy.rollout]
    request = Request(model, policy.env, version=version, role=role,  # type: ignore[arg-type]
                      traffic=policy.traffic if role == "canary" else None)
    outcome = promote(origin, request, push=push, crd_dir=crd_dir, registry=registry)
    decision.action = "promote"
    if outcome.pull_request:
        pr = outcome.pull_request
        decision.reason = f"pull request #{pr['number']} {pr['action']} ({outcome.branch})"
        closed = _close_superseded(origin, model, policy.env, outcome.branch or "", pr)
        if closed:
            decision.reason += f"; closed superseded {', '.join(f'#{n}' for n in closed)}"
    elif outcome.state == "nothing-to-do":
        decision.reason = "the model file already deploys it"
    else:
        decision.reason = f"branch {outcome.branch} {outcome.state}"


def _beaten_by_trial(registry: Registry, name: str, policy: AutoUpdate, trials: dict[int | None, str],
                     new: float) -> str | None:
    """Why the candidate is not proposed when a running canary or shadow does better (None: it is not)."""
    for number, role in sorted((v, r) for v, r in trials.items() if v is not None):
        theirs = registry.version(name, number).metrics.get(policy.metric)
        if theirs is not None and not better(policy, theirs, new)[0] and theirs != new:
            return (f"not better than v{number}, which runs as {role} ({policy.metric} {theirs:.6g} vs "
                    f"{new:.6g})")
    return None


def _close_superseded(origin: Origin, model: str, env: str, branch: str, pr: dict[str, Any]) -> list[int]:
    """One open pull request per model and environment: close the older promotions' PRs."""
    from modelops.promotion.pullrequest import close_superseded, repository

    config = origin.config
    found = repository(origin.root, config)
    if not found:
        return []
    return close_superseded(config.github, found, model=model, env=env, base=config.git.base,
                            keep=branch, replacement=(int(pr["number"]), str(pr["url"])))


# --- output ---------------------------------------------------------------------------------------

COLUMNS = ("model", "env", "deployed", "candidate", "metric", "action", "reason")


def rows(decisions: list[Decision]) -> list[tuple[str, ...]]:
    """One table row per decision, in COLUMNS' order (the CLI renders them)."""
    return [tuple(str(getattr(d, c)) for c in COLUMNS) for d in decisions]


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
