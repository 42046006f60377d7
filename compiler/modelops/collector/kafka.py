"""The collector's Kafka side: Seldon Core v1's Kafka logger topics and Seldon Core 2's model topics.

A consumer group (`enable.auto.commit` off) reads batches of messages; each becomes the `Event` an
HTTP POST would (`events.from_kafka`) and goes through the same spool. Offsets are committed only
once the batch is fsynced there: at least once, as for HTTP. A malformed message is one log line,
counted as refused, and its offset is committed with the batch (a poison message is not read again).
A full spool holds the batch (nothing is committed) and retries; a stop before it is spooled commits
nothing, so the group hands the messages out again. A batch is at most half the spool (the rest is
read again next), and a message larger than the whole spool is refused like a malformed one.
confluent-kafka is imported when consuming starts.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelops.collector import log
from modelops.collector.events import Event, Malformed, Route, from_kafka
from modelops.collector.metrics import Metrics
from modelops.collector.spool import Spool, SpoolClosed, SpoolFull
from modelops.diagnostics import Diagnostic, UserError

ENV_PREFIX = "MODELOPS_KAFKA_"  # MODELOPS_KAFKA_SASL_PASSWORD -> sasl.password (not KAFKA_: Kubernetes
# sets KAFKA_PORT and the like for a Service named kafka)
BATCH = 500
POLL_SECONDS = 0.5
FULL_SPOOL_WAIT = 1.0
MESSAGE_OVERHEAD = 1024  # a spool record's fields besides the message's value, at most (about)
# A replica killed mid-batch hands its partitions over within SESSION_MS; a batch held longer than
# POLL_INTERVAL_MS (a full spool) leaves the group, and its messages go to another member uncommitted.
SESSION_MS, POLL_INTERVAL_MS = 10_000, 30_000


def fitting(messages: list[Any], limit: int) -> tuple[list[Any], list[Any]]:
    """The first messages whose values add up to at most `limit` bytes (at least one), and the rest."""
    total = 0
    for index, message in enumerate(messages):
        total += len(message.value() or b"") + MESSAGE_OVERHEAD
        if total > limit and index:
            return messages[:index], messages[index:]
    return messages, []


@dataclass(frozen=True)
class KafkaConfig:
    broker: str
    topics: tuple[str, ...] = ()  # besides the routes' topics; `^...` is a regular expression
    group: str = "modelops-collector"
    models: Path | None = None  # the routes file (`--kafka-models`)


def load_routes(path: Path) -> dict[str, Route]:
    """`{"topics": {topic: {"model", "variant"?, "versions"?: {variant: version}}}}` -> topic -> Route."""
    try:
        data = json.loads(path.read_text())
        topics = data["topics"]
        return {str(topic): Route(model=str(entry["model"]), variant=entry.get("variant") or None,
                                  versions=tuple(sorted((str(k), str(v)) for k, v in
                                                        (entry.get("versions") or {}).items())))
                for topic, entry in topics.items()}
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = f"not a topics file ({type(exc).__name__}: {exc})"
    raise UserError([Diagnostic(str(path), 1, 1, "MO823", f"cannot read the Kafka models file: {problem}")])


def client_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """librdkafka settings from `MODELOPS_KAFKA_*` variables (security.protocol, sasl.*, ssl.*: a
    Secret's keys in the collector pod), e.g. MODELOPS_KAFKA_SASL_MECHANISM -> sasl.mechanism."""
    return {name[len(ENV_PREFIX):].lower().replace("_", "."): value
            for name, value in environ.items() if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX)}


class KafkaSource(threading.Thread):
    """Consumes the configured topics into the spool until `stop`."""

    def __init__(self, config: KafkaConfig, spool: Spool, metrics: Metrics) -> None:
        super().__init__(name="modelops-collector-kafka", daemon=True)
        self.config, self.spool, self.metrics = config, spool, metrics
        self.routes = load_routes(config.models) if config.models is not None else {}
        self.topics = sorted(set(self.routes) | set(config.topics))
        if not self.topics:
            raise UserError([Diagnostic(".", 1, 1, "MO823", "--kafka-broker needs topics to consume: "
                                        "--kafka-topic or --kafka-models")])
        self.stopping = threading.Event()
        self.problems: set[str] = set()
        self.consumer = self._consumer()

    def _consumer(self) -> Any:
        from confluent_kafka import Consumer, KafkaException

        settings = {**client_settings(os.environ), "bootstrap.servers": self.config.broker,
                    "group.id": self.config.group,
                    "enable.auto.commit": False, "auto.offset.reset": "earliest",
                    "session.timeout.ms": SESSION_MS, "max.poll.interval.ms": POLL_INTERVAL_MS,
                    "error_cb": lambda error: log(f"kafka: {error}")}
        try:
            return Consumer(settings)
        except KafkaException as exc:
            raise UserError([Diagnostic(".", 1, 1, "MO823", f"cannot consume Kafka at "
                                        f"{self.config.broker!r}: {exc}")]) from None

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        self.join(timeout)

    def run(self) -> None:
        self.consumer.subscribe(self.topics)
        log(f"consuming Kafka {self.config.broker} as group {self.config.group}: {', '.join(self.topics)}")
        try:
            while not self.stopping.is_set():
                messages = self.consumer.consume(BATCH, timeout=POLL_SECONDS)
                messages, later = fitting(messages, self.spool.max_bytes // 2)
                if later:  # a batch the spool could never hold at once: the rest come next
                    self._rewind(later)
                try:
                    if messages and not self._take(messages):
                        break
                except Exception as exc:  # the spool's disk, say: read the batch again, commit nothing
                    log(f"kafka: {len(messages)} messages not taken ({type(exc).__name__}: {exc}); "
                        "reading them again")
                    self._rewind(messages)
                    self.stopping.wait(FULL_SPOOL_WAIT)
        finally:
            self.consumer.close()  # commits nothing: auto-commit is off

    def _take(self, messages: list[Any]) -> bool:
        """Spool a batch, then commit its offsets; False when stopping before it was spooled."""
        from confluent_kafka import TopicPartition

        events: list[Event] = []
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            if message.error() is not None:
                self._problem(str(message.error()))
                continue
            offsets[(message.topic(), message.partition())] = message.offset() + 1
            event = self._event(message)
            if event is not None:
                events.append(event)
        if not self._spool(events):
            return False
        if offsets:
            try:
                self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                     asynchronous=False)
            except Exception as exc:  # a rebalance took the partitions: their new owner reads them again
                log(f"kafka: commit failed ({exc}); the messages will be read again")
        for (model, variant), amount in Counter((e.model, e.variant) for e in events).items():
            self.metrics.count("received_total", amount, model=model, variant=variant)
        return True

    def _rewind(self, messages: list[Any]) -> None:
        """Seek each partition back to the batch's first message, so the next poll returns it again."""
        from confluent_kafka import TopicPartition

        first: dict[tuple[str, int], int] = {}
        for message in messages:
            if message.error() is None:
                key = (message.topic(), message.partition())
                first[key] = min(first.get(key, message.offset()), message.offset())
        for (topic, partition), offset in first.items():
            try:
                self.consumer.seek(TopicPartition(topic, partition, offset))
            except Exception as exc:  # no longer assigned: its new owner reads it from the committed offset
                log(f"kafka: cannot seek {topic}[{partition}] back ({exc})")

    def _within_spool(self, records: list[bytes]) -> list[bytes]:
        """The records the spool can ever hold; a larger one is refused (one line, counted, and
        committed with the batch: it could only wait forever)."""
        kept = [record for record in records if self.spool.can_hold(record)]
        if len(kept) < len(records):
            self.metrics.count("refused_total", len(records) - len(kept), reason="too_large")
            log(f"refused {len(records) - len(kept)} Kafka message(s) larger than the spool "
                f"(--max-spool-bytes {self.spool.max_bytes})")
        return kept

    def _problem(self, text: str) -> None:
        """Log a consumer error once (a topic Core 2 has not created yet is reported on every poll)."""
        if text not in self.problems:
            self.problems.add(text)
            log(f"kafka: {text}")

    def _event(self, message: Any) -> Event | None:
        topic = message.topic()
        headers = {str(k).lower(): (v or b"").decode("utf-8", "replace")
                   for k, v in message.headers() or []}
        kind, stamp = message.timestamp()
        now = datetime.fromtimestamp(stamp / 1000, UTC) if kind and stamp > 0 else datetime.now(UTC)
        try:
            return from_kafka(topic, headers, message.value() or b"", now, self.routes.get(topic))
        except Malformed as exc:
            self.metrics.count("refused_total", reason="malformed")
            log(f"refused Kafka message {topic}[{message.partition()}]@{message.offset()}: {exc}")
            return None

    def _spool(self, events: list[Event]) -> bool:
        records, held = self._within_spool([e.to_record() for e in events]), False
        while True:
            try:
                self.spool.append_many(records)
                return True
            except SpoolFull:
                if not held:  # once per batch, however long it waits
                    self.metrics.count("refused_total", len(records), reason="spool_full")
                    log(f"the spool is full: {len(records)} Kafka messages wait, uncommitted")
                    held = True
                if self.stopping.wait(FULL_SPOOL_WAIT):
                    return False
            except SpoolClosed:
                return False
