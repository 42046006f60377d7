"""The gates a trial variant must pass against main, and the alert thresholds main itself must keep.

Each gate is green (True), red (False) or unknown (None: a series has no data yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from string import Template
from typing import Any

from modelops.compile.spec import RolloutGates
from modelops.rollout.evidence import VariantEvidence
from modelops.rollout.prometheus import Prometheus


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool | None
    detail: str

    @property
    def mark(self) -> str:
        return {True: "pass", False: "FAIL", None: "no data"}[self.passed]


def judge(trial: VariantEvidence, main: VariantEvidence, gates: RolloutGates, prometheus: Prometheus,
          namespace: str, model: str) -> list[Gate]:
    """The error-ratio and latency gates, then each extra PromQL gate (`$namespace`, `$model`,
    `$variant` and `$main` are filled in)."""
    results = [_error_gate(trial, main, gates.error_ratio_margin),
               _latency_gate(trial, main, gates.latency_p99_ratio)]
    names = {"namespace": namespace, "model": model, "variant": trial.variant, "main": main.variant}
    for query in gates.query:
        promql = Template(query).safe_substitute(names)
        values = [s.value for s in prometheus.query(promql)]
        if not values:
            results.append(Gate(f"query: {promql}", None, "no result"))
            continue
        passed = all(v == 1 for v in values)
        results.append(Gate(f"query: {promql}", passed, "returned " + ", ".join(f"{v:g}" for v in values)))
    return results


def _error_gate(trial: VariantEvidence, main: VariantEvidence, margin: float) -> Gate:
    name = f"error ratio <= main + {margin:g}"
    if trial.error_ratio is None or main.error_ratio is None:
        return Gate(name, None, "no error ratio recorded yet")
    limit = main.error_ratio + margin
    return Gate(name, trial.error_ratio <= limit + 1e-12,
                f"{trial.error_ratio:.4f} vs limit {limit:.4f}")


def _latency_gate(trial: VariantEvidence, main: VariantEvidence, ratio: float) -> Gate:
    name = f"p99 <= {ratio:g} x main"
    if trial.p99 is None or main.p99 is None or math.isnan(trial.p99) or math.isnan(main.p99):
        return Gate(name, None, "no latency recorded yet")
    limit = main.p99 * ratio
    return Gate(name, trial.p99 <= limit + 1e-12, f"{trial.p99 * 1000:.1f} ms vs limit {limit * 1000:.1f} ms")


def decline(main: VariantEvidence, alerts: dict[str, dict[str, Any] | None]) -> list[str]:
    """Where main breaches the thresholds of its own alerts (`observability.alert_settings`)."""
    found = []
    errors, latency = alerts.get("errors"), alerts.get("latency")
    if errors and main.error_ratio is not None and main.error_ratio > errors["ratio"]:
        found.append(f"error ratio {main.error_ratio:.4f} above {errors['ratio']:g}")
    if latency and main.p99 is not None and main.p99 * 1000 > latency["p99_ms"]:
        found.append(f"p99 {main.p99 * 1000:.1f} ms above {latency['p99_ms']:g} ms")
    return found
