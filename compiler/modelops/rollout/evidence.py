"""What each variant did over the window, read from the recorded series modelops generates (the same
numbers the dashboards show): requests, error ratio, p50/p95/p99 latency."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modelops.compile.generators.observability import ERROR_RATIO, LATENCY, RATE_WINDOW, REQUESTS
from modelops.rollout.prometheus import Prometheus

WINDOW_SECONDS = {"5m": 300}[RATE_WINDOW]
SERIES = {"rate": REQUESTS, "error_ratio": ERROR_RATIO, **LATENCY}


@dataclass
class VariantEvidence:
    variant: str
    role: str  # main | canary | shadow
    requests: float | None = None  # in the window: the recorded rate times the window
    error_ratio: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


@dataclass
class Evidence:
    variants: dict[str, VariantEvidence]
    queries: list[str] = field(default_factory=list)


def selector(namespace: str, model: str) -> str:
    return f'{{namespace="{namespace}",model="{model}"}}'


def collect(prometheus: Prometheus, namespace: str, model: str, roles: dict[str, str]) -> Evidence:
    """One instant query per recorded series; `roles` maps each running variant to main/canary/shadow."""
    found = Evidence({name: VariantEvidence(name, role) for name, role in roles.items()})
    for key, series in SERIES.items():
        promql = series + selector(namespace, model)
        found.queries.append(promql)
        for sample in prometheus.query(promql):
            target = found.variants.get(sample.labels.get("variant", ""))
            if target is None or math.isnan(sample.value):
                continue
            if key == "rate":
                target.requests = sample.value * WINDOW_SECONDS
            else:
                setattr(target, key, sample.value)
    return found


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.1f} ms"
    if unit == "%":
        return f"{value * 100:.2f}%"
    return f"{value:.0f}"


def row(item: VariantEvidence) -> list[str]:
    return [item.variant, item.role, _num(item.requests), _num(item.error_ratio, "%"), _num(item.p50, "s"),
            _num(item.p95, "s"), _num(item.p99, "s")]


HEADER = ["variant", "role", "requests (5m)", "error ratio", "p50", "p95", "p99"]
