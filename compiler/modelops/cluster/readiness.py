"""Whether a live serving object is ready, read from its own status (one function per kind).

SeldonDeployment: `status.state` Available / Failed, with `status.description`. Seldon Core 2 Model and
Experiment, KServe InferenceService: the `Ready` condition (KServe also fails fast on
`modelStatus.transitionStatus` BlockedByFailedLoad / InvalidSpec). Every kind: a status whose
`observedGeneration` is older than `metadata.generation` describes the previous spec, so it is pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

READY, PENDING, FAILED = "ready", "pending", "failed"


@dataclass(frozen=True)
class Readiness:
    state: str  # ready | pending | failed
    message: str  # the object's own words (status description, condition message)


def _stale(obj: dict[str, Any]) -> Readiness | None:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return Readiness(PENDING, f"the controller has not seen generation {generation} yet "
                                  f"(observed {observed})")
    return None


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return condition
    return None


def _words(condition: dict[str, Any]) -> str:
    parts = [str(condition.get(k)) for k in ("reason", "message") if condition.get(k)]
    return ": ".join(parts) or f"{condition.get('type')} is {condition.get('status')}"


def _by_ready_condition(obj: dict[str, Any]) -> Readiness:
    condition = _condition(obj, "Ready")
    if condition is None:
        return Readiness(PENDING, "no Ready condition yet")
    if condition.get("status") == "True":
        return Readiness(READY, _words(condition))
    return Readiness(PENDING, _words(condition))


def seldon_deployment(obj: dict[str, Any]) -> Readiness:
    status = obj.get("status") or {}
    state = status.get("state") or "no status yet"
    description = str(status.get("description") or "").replace("\n", " ").strip()
    said = f"{state}: {description}" if description else str(state)
    if state == "Failed":
        return Readiness(FAILED, said)
    if state == "Available":
        return Readiness(READY, said)
    return Readiness(PENDING, said)


def inference_service(obj: dict[str, Any]) -> Readiness:
    model = (obj.get("status") or {}).get("modelStatus") or {}
    if model.get("transitionStatus") in ("BlockedByFailedLoad", "InvalidSpec"):
        failure = model.get("lastFailureInfo") or {}
        detail = ": ".join(str(failure[k]) for k in ("reason", "message") if failure.get(k))
        return Readiness(FAILED, f"{model['transitionStatus']}" + (f": {detail}" if detail else ""))
    return _by_ready_condition(obj)


# (API group, kind) -> how to read its readiness; kinds not listed are not waited for.
KINDS: dict[tuple[str, str], Callable[[dict[str, Any]], Readiness]] = {
    ("machinelearning.seldon.io", "SeldonDeployment"): seldon_deployment,
    ("mlops.seldon.io", "Model"): _by_ready_condition,
    ("mlops.seldon.io", "Experiment"): _by_ready_condition,
    ("serving.kserve.io", "InferenceService"): inference_service,
}


def awaited(obj: dict[str, Any]) -> bool:
    """Whether `sync --wait` waits for this kind."""
    return (str(obj.get("apiVersion", "")).rpartition("/")[0], obj.get("kind", "")) in KINDS


def readiness(obj: dict[str, Any]) -> Readiness:
    """The live object's readiness (generation first, then its kind's own status)."""
    stale = _stale(obj)
    if stale is not None:
        return stale
    return KINDS[(str(obj.get("apiVersion", "")).rpartition("/")[0], obj.get("kind", ""))](obj)
