"""`rollout.decide`: advance, hold or abort from evidence, gates and the time at this step (no
Prometheus: the evidence is written by hand), and where an advance goes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from modelops.compile.spec import Rollout
from modelops.rollout.decide import decide, next_step
from modelops.rollout.evidence import Evidence, VariantEvidence
from modelops.rollout.gates import Gate

GREEN = [Gate("error ratio <= main + 0.01", True, "0.0010 vs limit 0.0110")]


def trial(*, shadow: bool = False, weight: int | None = 10) -> Any:
    return SimpleNamespace(name="canary", shadow=shadow, weight=None if shadow else weight)


def evidence(main: float | None = 500, canary: float | None = 200) -> Evidence:
    return Evidence({"main": VariantEvidence("main", "main", requests=main),
                     "canary": VariantEvidence("canary", "canary", requests=canary)})


POLICY = Rollout(steps=[10, 50], bake="1h30m", min_requests=100)


@pytest.mark.parametrize(("baked", "verdict"), [
    (None, ("hold", "the commit that set this step is not in the base branch's history")),
    (3600, ("hold", "baking: 1h00m of 1h30m at this step, gates green")),
    (5400, ("advance", "gates green after 1h30m at this step")),
])
def test_green_gates_advance_once_the_bake_time_read_as_a_duration_passed(baked: float | None,
                                                                          verdict: tuple[str, str]) -> None:
    assert decide(trial(), evidence(), GREEN, POLICY, baked) == verdict


def test_too_little_traffic_holds_before_the_gates_are_read() -> None:
    red = [Gate("p99 <= 1.5 x main", False, "900 ms vs limit 300 ms")]
    assert decide(trial(), evidence(canary=42.7), red, POLICY, 9999) == (
        "hold", "too little traffic: canary served 42 requests in 5m, 100 needed")


def test_a_red_gate_aborts_and_a_gate_without_data_holds() -> None:
    red = [*GREEN, Gate("p99 <= 1.5 x main", False, "900.0 ms vs limit 300.0 ms")]
    assert decide(trial(), evidence(), red, POLICY, 9999) == (
        "abort", "p99 <= 1.5 x main: 900.0 ms vs limit 300.0 ms")
    unknown = [*GREEN, Gate("query: up", None, "no result")]
    assert decide(trial(), evidence(), unknown, POLICY, 9999) == ("hold", "no data for query: up")


def test_an_advance_goes_to_the_next_step_then_main_and_a_shadow_starts_at_the_first() -> None:
    assert next_step(trial(weight=10), POLICY) == ("canary", 50)
    assert next_step(trial(weight=50), POLICY) == ("main", None)
    assert next_step(trial(shadow=True), POLICY) == ("canary", 10)
