"""`rollout.gates` and `rollout.evidence`: the trial judged against main, main against its own alert
thresholds, and the evidence table's cells (no Prometheus: written by hand)."""

from __future__ import annotations

from typing import Any

from modelops.compile.spec import RolloutGates
from modelops.rollout.evidence import VariantEvidence, row, selector
from modelops.rollout.gates import decline, judge

MAIN = VariantEvidence("main", "main", requests=900, error_ratio=0.01, p50=0.01, p95=0.05, p99=0.1)


def _judge(trial: VariantEvidence) -> list[tuple[str, bool | None, str]]:
    gates = RolloutGates(error_ratio_margin=0.01, latency_p99_ratio=1.5)
    prometheus: Any = None  # no query gates: nothing is asked
    return [(g.name, g.passed, g.detail) for g in judge(trial, MAIN, gates, prometheus, "models", "iris")]


def test_a_trial_within_the_margins_passes_both_gates() -> None:
    trial = VariantEvidence("canary", "canary", requests=100, error_ratio=0.015, p99=0.14)
    assert _judge(trial) == [("error ratio <= main + 0.01", True, "0.0150 vs limit 0.0200"),
                             ("p99 <= 1.5 x main", True, "140.0 ms vs limit 150.0 ms")]


def test_a_worse_trial_fails_and_one_without_data_is_unknown() -> None:
    worse = VariantEvidence("canary", "canary", error_ratio=0.05, p99=0.3)
    assert [passed for _, passed, _ in _judge(worse)] == [False, False]
    empty = VariantEvidence("canary", "canary")
    assert [(passed, detail) for _, passed, detail in _judge(empty)] == [
        (None, "no error ratio recorded yet"), (None, "no latency recorded yet")]


def test_main_declines_past_its_own_alert_thresholds() -> None:
    alerts: dict[str, Any] = {"errors": {"ratio": 0.005}, "latency": {"p99_ms": 250}}
    assert decline(MAIN, alerts) == ["error ratio 0.0100 above 0.005"]
    assert decline(MAIN, {"errors": None, "latency": None}) == []


def test_the_evidence_row_and_selector() -> None:
    assert row(MAIN) == ["main", "main", "900", "1.00%", "10.0 ms", "50.0 ms", "100.0 ms"]
    assert row(VariantEvidence("shadow", "shadow"))[2:] == ["—"] * 5
    assert selector("models", "iris") == '{namespace="models",model="iris"}'
