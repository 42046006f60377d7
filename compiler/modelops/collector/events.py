"""One logged event as the collector keeps it: read from a CloudEvents 1.0 binary-mode HTTP request
(Seldon Core v1 executor, KServe agent) or a Kafka message (Seldon Core v1's Kafka logger mode,
Seldon Core 2's topics), and written to / read from a spool record."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from modelops.columns import KINDS

# Ce-Type prefix -> the `source` column
SOURCE_PREFIXES = (("io.seldon.serving.", "seldon-v1"), ("org.kubeflow.serving.", "kserve"),
                   ("io.modelops.", "modelops"))  # io.modelops.feedback: true answers from anyone
LABELS_VARIANT = "labels"  # where io.modelops.feedback events are stored unless ?variant= says
JSON_PROTOCOLS = ("seldon", "v2")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")  # safe as a Hive partition value


class Malformed(ValueError):
    """An event the collector refuses with 400 (the message is the reason, one line)."""


@dataclass(frozen=True)
class Event:
    model: str
    variant: str
    version: str | None
    namespace: str | None
    source: str
    kind: str
    protocol: str
    request_id: str | None
    event_id: str | None
    time: str  # RFC 3339, UTC: Ce-Time, else when the collector received it
    body: bytes

    def to_record(self) -> bytes:
        """The spool record: one JSON line of the fields, then the raw body."""
        fields = {name: getattr(self, name) for name in RECORD_FIELDS}  # asdict deep-copies: slow
        return json.dumps(fields, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def from_record(cls, record: bytes) -> Event:
        head, _, body = record.partition(b"\n")
        return cls(**json.loads(head), body=body)


RECORD_FIELDS = tuple(f.name for f in fields(Event) if f.name != "body")


def from_http(query: dict[str, str], headers: dict[str, str], body: bytes, now: datetime) -> Event:
    """The event of one POST /v1/events; `headers` keys lower-case. Raises Malformed."""
    ce_type = headers.get("ce-type")
    if not ce_type:
        raise Malformed("no Ce-Type header (not a CloudEvents binary-mode event)")
    source = next((s for prefix, s in SOURCE_PREFIXES if ce_type.startswith(prefix)), None)
    kind = ce_type.rsplit(".", 1)[-1]
    if source is None or kind not in KINDS or (source == "modelops" and kind != "feedback"):
        raise Malformed(f"unknown Ce-Type {ce_type!r}")
    model = query.get("model") or headers.get("ce-inferenceservicename")
    endpoint = headers.get("ce-endpoint") if source == "seldon-v1" else None
    variant = query.get("variant") or endpoint or (LABELS_VARIANT if source == "modelops" else "main")
    model, variant = _names(model, variant, "give ?model= or Ce-Inferenceservicename")
    protocol = _protocol(headers.get("ce-protocol"), source, body)
    request_id = _request_id(headers, source)
    if source == "modelops" and not request_id:
        raise Malformed("a label needs the request id it answers: Ce-Requestid "
                        "(or X-Request-Id in Ce-Metadata)")
    return Event(model=model, variant=variant, version=query.get("version") or None,
                 namespace=headers.get("ce-namespace") or None, source=source, kind=kind,
                 protocol=protocol, request_id=request_id,
                 event_id=headers.get("ce-id") or None, time=_time(headers.get("ce-time"), now), body=body)


def _names(model: str | None, variant: str | None, hint: str) -> tuple[str, str]:
    for what, value in (("model", model), ("variant", variant)):
        if not value or not NAME.match(value):
            raise Malformed(f"no usable {what} name ({value!r}): {hint}")
    assert model is not None and variant is not None
    return model, variant


def _protocol(declared: str | None, source: str, body: bytes) -> str:
    parsed = parse_json(body)
    if declared in ("seldon", "v2", "tensorflow"):
        protocol = declared
    elif isinstance(parsed, dict) and ("outputs" in parsed or "inputs" in parsed):
        protocol = "v2"
    elif isinstance(parsed, dict) and ("data" in parsed or "strData" in parsed) and source == "seldon-v1":
        protocol = "seldon"
    else:
        protocol = "tensorflow" if source == "seldon-v1" else "v1"
    if protocol in JSON_PROTOCOLS and parsed is None:
        raise Malformed(f"the body of a {protocol}-protocol event is not JSON")
    return protocol


def parse_json(body: bytes) -> Any:
    """The body as JSON, None when it is not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _request_id(headers: dict[str, str], source: str) -> str | None:
    metadata = parse_json(headers["ce-metadata"].encode()) if "ce-metadata" in headers else None
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if key.lower() == "x-request-id" and value:
                found = value[0] if isinstance(value, list) else value
                if isinstance(found, str) and found:
                    return found
    if source in ("seldon-v1", "modelops"):
        return headers.get("ce-requestid") or None
    return headers.get("ce-id") or None


def _time(ce_time: str | None, now: datetime) -> str:
    if ce_time:
        try:
            parsed = datetime.fromisoformat(ce_time.replace("z", "Z"))
        except ValueError:
            raise Malformed(f"Ce-Time {ce_time!r} is not an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise Malformed(f"Ce-Time {ce_time!r} has no time zone")
        return parsed.astimezone(UTC).isoformat()
    return now.astimezone(UTC).isoformat()


# --- Kafka ---------------------------------------------------------------------------------------

CORE2_TOPIC = re.compile(r"^seldon\.(?P<namespace>[^.]+)\.model\.(?P<model>.+)\.(?P<side>inputs|outputs)$")
CORE2_KINDS = {"inputs": "request", "outputs": "response"}


@dataclass(frozen=True)
class Route:
    """What a topic's messages are (from `--kafka-models`): the model, and the variant unless the
    messages say it themselves (Seldon v1's `endpoint` header), with each variant's version."""

    model: str
    variant: str | None = None
    versions: tuple[tuple[str, str], ...] = ()

    def version(self, variant: str) -> str | None:
        return dict(self.versions).get(variant)


def from_kafka(topic: str, headers: dict[str, str], value: bytes, now: datetime,
               route: Route | None = None) -> Event:
    """The event of one Kafka message; `headers` keys lower-case, `now` the message's time. A Core 2
    topic (`seldon.<ns>.model.<m>.inputs|outputs`) holds V2 protobuf or JSON; any other topic is
    Seldon v1's Kafka logger (its CloudEvents attributes as headers, without `ce-`). Raises Malformed."""
    core2 = CORE2_TOPIC.match(topic)
    if core2 is None:
        return _seldon_v1_kafka(headers, value, now, route)
    kind = CORE2_KINDS[core2["side"]]
    model, variant = _names(route.model if route else core2["model"], (route.variant if route else None)
                            or "main", "list the topic in --kafka-models")
    return Event(model=model, variant=variant, version=route.version(variant) if route else None,
                 namespace=core2["namespace"], source="seldon-v2", kind=kind, protocol="v2",
                 request_id=headers.get("x-request-id") or None, event_id=None,
                 time=now.astimezone(UTC).isoformat(), body=_v2_json(value, kind))


def _seldon_v1_kafka(headers: dict[str, str], value: bytes, now: datetime, route: Route | None) -> Event:
    ce = {f"ce-{name}": text for name, text in headers.items() if not name.startswith("ce-")}
    ce.update({name: text for name, text in headers.items() if name.startswith("ce-")})
    query: dict[str, str] = {}
    if route is not None:
        variant = route.variant or ce.get("ce-endpoint") or "main"
        query = {"model": route.model, "variant": variant, "version": route.version(variant) or ""}
    if "ce-time" not in ce:
        ce["ce-time"] = now.astimezone(UTC).isoformat()
    return from_http(query, ce, value, now)


def _v2_json(value: bytes, kind: str) -> bytes:
    """A Core 2 message as V2 JSON: as it is when it is JSON (the REST gateway), else protobuf."""
    if isinstance(parse_json(value), dict):
        return value
    from modelops.collector.v2proto import Undecodable, to_json

    try:
        return json.dumps(to_json(value, kind), separators=(",", ":")).encode()
    except Undecodable as exc:
        raise Malformed(str(exc)) from None
