"""The collector's counters in the Prometheus text format (written by hand: no client library)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

PREFIX = "modelops_collector_events"
HELP = {
    "received_total": "Events acknowledged (durable in the spool), by model and variant.",
    "written_total": "Events written to the store, by model and variant.",
    "refused_total": "Events refused, by reason (malformed, too_large, spool_full, stopping).",
}


class Metrics:
    def __init__(self, spooled: Callable[[], int]) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[tuple[tuple[str, str], ...]]] = {k: Counter() for k in HELP}
        self._spooled = spooled

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        with self._lock:
            self._counters[name][tuple(sorted(labels.items()))] += amount

    def value(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._counters[name][tuple(sorted(labels.items()))]

    def text(self) -> str:
        lines = []
        with self._lock:
            for name, help_text in HELP.items():
                lines += [f"# HELP {PREFIX}_{name} {help_text}", f"# TYPE {PREFIX}_{name} counter"]
                for labels, value in sorted(self._counters[name].items()):
                    lines.append(f"{PREFIX}_{name}{_labels(labels)} {value}")
        lines += [f"# HELP {PREFIX}_spooled Events in the spool, not yet in the store.",
                  f"# TYPE {PREFIX}_spooled gauge", f"{PREFIX}_spooled {self._spooled()}"]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for _, v in labels)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(labels, escaped, strict=True)) + "}"
