"""The writer thread: seals the open segment when it holds --flush-rows events or is --flush-seconds
old, writes each sealed segment to the store, then drops it from the spool. A store that fails is
retried with backoff while the spool keeps acknowledging (until it is full)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from modelops.collector import log
from modelops.collector.decode import rows
from modelops.collector.events import Event
from modelops.collector.metrics import Metrics
from modelops.collector.spool import Sealed, Spool, read
from modelops.collector.store import by_partition, write

TICK = 0.05
MAX_BACKOFF = 30.0


class Writer(threading.Thread):
    def __init__(self, spool: Spool, store: tuple[Any, str], metrics: Metrics, environment: str | None,
                 flush_rows: int, flush_seconds: float) -> None:
        super().__init__(name="modelops-collector-writer", daemon=True)
        self.spool, self.store, self.metrics, self.environment = spool, store, metrics, environment
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.stopping = threading.Event()
        self.backoff = 0.0

    def run(self) -> None:
        while not self.stopping.is_set():
            events, age = self.spool.current()
            if events and (events >= self.flush_rows or age >= self.flush_seconds):
                self.spool.seal()
            sealed = self.spool.oldest()
            if sealed is None or not self._store(sealed):
                self.stopping.wait(max(TICK, self.backoff))

    def flush(self, deadline: float) -> bool:
        """Stop the loop, seal and store everything before `deadline` (monotonic); True when the
        spool is empty (what is left stays spooled for the next start)."""
        self.stopping.set()
        self.join()
        self.spool.close()
        while (sealed := self.spool.oldest()) is not None and time.monotonic() < deadline:
            if not self._store(sealed):
                time.sleep(min(self.backoff, max(0.0, deadline - time.monotonic())))
        return self.spool.oldest() is None

    def _store(self, sealed: Sealed) -> bool:
        try:
            events = [Event.from_record(r) for r in read(sealed.path)]
            decoded = [(e.model, e.variant, rows(e, self.environment)) for e in events]
            if decoded:
                write(*self.store, sealed.name, by_partition(decoded))
        except Exception as exc:  # the store is down or refuses: keep the segment, try again later
            self.backoff = min(MAX_BACKOFF, max(0.5, self.backoff * 2))
            log(f"store write failed ({type(exc).__name__}: {exc}); {self.spool.events} events "
                f"stay spooled, retrying in {self.backoff:g}s")
            return False
        self.backoff = 0.0
        self.spool.drop(sealed)
        for (model, variant), amount in Counter((e.model, e.variant) for e in events).items():
            self.metrics.count("written_total", amount, model=model, variant=variant)
        for model, variant, stored in decoded:
            self.metrics.observe(model, variant, stored)
        return True
