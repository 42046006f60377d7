"""The collector's counters in the Prometheus text format (written by hand: no client library).

Besides the events, what the stored answers say, for the dashboard's predictions row: answers by
predicted class (a label, or a whole-number output; at most MAX_CLASSES per model, the rest `other`,
so a regression cannot explode the series), the sum and count of numeric outputs (their mean by
variant), and pairs: answers of two variants to the same request and batch position, by whether
they predict the same class (the last PENDING_PAIRS unpaired answers are kept to pair with).
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

PREFIX = "modelops_collector_events"
HELP = {
    "received_total": "Events acknowledged (durable in the spool), by model and variant.",
    "written_total": "Events written to the store, by model and variant.",
    "refused_total": "Events refused, by reason (malformed, too_large, spool_full, stopping).",
}


PREDICTIONS_PREFIX = "modelops_collector"
PREDICTIONS_HELP = {
    "predictions_total": "Stored answers by model, variant and predicted class.",
    "output_sum": "Sum of the stored numeric first outputs, by model and variant.",
    "output_count": "Stored numeric first outputs, by model and variant.",
    "pairs_total": "Answers of two variants to the same request, by whether the class is the same.",
}
MAX_CLASSES = 20
PENDING_PAIRS = 100_000


class Metrics:
    def __init__(self, spooled: Callable[[], int], environment: str | None = None) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[tuple[tuple[str, str], ...]]] = {
            k: Counter() for k in (*HELP, *PREDICTIONS_HELP) if k != "output_sum"}
        self._sums: dict[tuple[tuple[str, str], ...], float] = {}
        self._spooled = spooled
        self._environment = {"environment": environment} if environment else {}
        self._classes: dict[str, set[str]] = {}
        self._pending: OrderedDict[tuple[str, str, int], tuple[str, str | None]] = OrderedDict()

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        if "model" in labels:  # a model's series name the environment, as the dashboard selects them
            labels.update(self._environment)
        with self._lock:
            self._counters[name][tuple(sorted(labels.items()))] += amount

    def value(self, name: str, **labels: str) -> int:
        if "model" in labels:
            labels.update(self._environment)
        with self._lock:
            return self._counters[name][tuple(sorted(labels.items()))]

    def observe(self, model: str, variant: str, rows: Iterable[dict[str, Any]]) -> None:
        """Count what the stored answers of one event predict, and pair them across variants."""
        for row in rows:
            if row.get("kind") != "response":
                continue
            output, label = row.get("output"), row.get("label")
            found = _class(output, label)
            with self._lock:
                known = self._classes.setdefault(model, set())
                if found is not None and found not in known and len(known) < MAX_CLASSES:
                    known.add(found)
                shown = found if found is None or found in known else "other"
                where = {"model": model, "variant": variant, **self._environment}
                if shown is not None:
                    self._counters["predictions_total"][_key({**where, "class": shown})] += 1
                if isinstance(output, float) and math.isfinite(output):
                    self._sums[_key(where)] = self._sums.get(_key(where), 0.0) + output
                    self._counters["output_count"][_key(where)] += 1
                if row.get("request_id"):
                    self._pair(model, variant, (str(row["request_id"]), int(row.get("index") or 0)), found)

    def _pair(self, model: str, variant: str, request: tuple[str, int], found: str | None) -> None:
        key = (model, *request)
        other = self._pending.pop(key, None)
        if other is None or other[0] == variant:
            self._pending[key] = (variant, found)
            while len(self._pending) > PENDING_PAIRS:
                self._pending.popitem(last=False)
            return
        if found is None or other[1] is None:
            return
        variants = ",".join(sorted((variant, other[0])))
        agree = "true" if found == other[1] else "false"
        labels = {"model": model, "variants": variants, "agree": agree, **self._environment}
        self._counters["pairs_total"][_key(labels)] += 1

    def text(self) -> str:
        lines = []
        with self._lock:
            for name, help_text in HELP.items():
                lines += [f"# HELP {PREFIX}_{name} {help_text}", f"# TYPE {PREFIX}_{name} counter"]
                for labels, value in sorted(self._counters[name].items()):
                    lines.append(f"{PREFIX}_{name}{_labels(labels)} {value}")
            for name, help_text in PREDICTIONS_HELP.items():
                full = f"{PREDICTIONS_PREFIX}_{name}"
                kind = "counter" if name.endswith("_total") else "untyped"
                lines += [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}"]
                values: dict[tuple[tuple[str, str], ...], Any] = (
                    self._sums if name == "output_sum" else dict(self._counters[name]))
                for labels, value in sorted(values.items()):
                    lines.append(f"{full}{_labels(labels)} {value!r}")
        lines += [f"# HELP {PREFIX}_spooled Events in the spool, not yet in the store.",
                  f"# TYPE {PREFIX}_spooled gauge", f"{PREFIX}_spooled {self._spooled()}"]
        return "\n".join(lines) + "\n"


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _class(output: Any, label: Any) -> str | None:
    """The predicted class of an answer: its label, else a whole-number output; None for a value."""
    if isinstance(label, str) and label:
        return label
    if isinstance(output, float) and math.isfinite(output) and output.is_integer() and abs(output) < 1e6:
        return str(int(output))
    return None


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for _, v in labels)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(labels, escaped, strict=True)) + "}"
