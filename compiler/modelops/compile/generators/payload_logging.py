"""Request/response logging: the resolved sink (HTTP or Kafka) and the rules against contradictions.

`logging` merges like every setting; modelops.yaml may name a default sink that models switch on
with `mode`. A sink or `sample` written in a model file while the mode is `none` does nothing and is
an error, as are Kafka without a broker and an HTTP `url` together with `kafka`.

A store with `kafka` (Seldon Core v1 only): the executor logs to the topic on the collector's broker
(`collector.kafka.broker`), and the environment's collector consumes that topic into the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from modelops.compile.resolve import ResolvedModel
from modelops.compile.rules.secrets import find_secret
from modelops.compile.source import Loc
from modelops.diagnostics import Diagnostic

KAFKA_BROKER_ENV = "LOGGER_KAFKA_BROKER"
KAFKA_TOPIC_ENV = "LOGGER_KAFKA_TOPIC"
# Targets whose logger takes a sampling percentage (Seldon Core 2: Model.spec.logger.percent).
SAMPLING_TARGETS = frozenset({"seldon-v2"})
KAFKA_STORE_TARGET = "seldon-v1"  # the target whose Kafka logger a collector consumes into a store


@dataclass(frozen=True)
class Sink:
    """Where a model's payloads go; `mode` is never `none` here."""

    mode: str
    url: str | None = None
    kafka_broker: str | None = None
    kafka_topic: str | None = None
    sample: int | None = None
    store: str | None = None  # predictions go to this store, through the environment's collector


def default_topic(model: ResolvedModel) -> str:
    return f"modelops.{model.env}.{model.spec.name}"


def sink(model: ResolvedModel) -> Sink | None:
    """The model's logging sink in its environment, or None when nothing is logged."""
    logging = model.settings.get("logging") or {}
    mode = logging.get("mode", "none")
    if mode == "none":
        return None
    kafka, store = logging.get("kafka"), logging.get("store")
    if kafka is not None:
        return Sink(
            mode=mode,
            kafka_broker=kafka.get("broker") or (collector_broker(model) if store else None),
            kafka_topic=kafka.get("topic") or default_topic(model),
            sample=logging.get("sample"),
            store=store,
        )
    if store is not None:
        return Sink(mode=mode, url=collector_url(model, store), sample=logging.get("sample"), store=store)
    return Sink(mode=mode, url=logging.get("url"), sample=logging.get("sample"))


COLLECTOR_PORT = 8080
REQUEST_ID_HEADER = "X-Request-Id"
COLLECTOR_PATH = "/v1/events"


def collector_broker(model: ResolvedModel) -> str | None:
    """The Kafka the environment's collector consumes (`environments.<env>.kafka.broker`, else
    `collector.kafka.broker`), if any."""
    collector = model.collector
    return collector.kafka.broker if collector is not None and collector.kafka is not None else None


def collector_name(store: str) -> str:
    """The collector of one store in one environment (Deployment, Service, ...)."""
    return f"modelops-collector-{store}"


def collector_namespace(model: ResolvedModel) -> str:
    chosen = model.collector.namespace if model.collector is not None else None
    return chosen or model.env_config.namespace


def collector_url(model: ResolvedModel, store: str) -> str:
    host = f"{collector_name(store)}.{collector_namespace(model)}.svc.cluster.local"
    return f"http://{host}:{COLLECTOR_PORT}{COLLECTOR_PATH}"


def logger_url(model: ResolvedModel, variant: str, version: str) -> str | None:
    """The URL a variant's logger posts to: the sink's, naming model, variant and version when the
    collector stores them (KServe's events do not say which variant sent them)."""
    found = sink(model)
    if found is None or found.store is None or found.kafka_topic is not None:
        return found.url if found else None
    query = urlencode({"model": model.spec.name, "variant": variant, "version": version})
    return f"{found.url}?{query}"


def executor_env(model: ResolvedModel) -> list[dict[str, str]]:
    """Seldon Core v1 executor env for Kafka logging (`svcOrchSpec.env`), empty for HTTP sinks."""
    found = sink(model)
    if found is None or found.kafka_broker is None:
        return []
    return [
        {"name": KAFKA_BROKER_ENV, "value": found.kafka_broker},
        {"name": KAFKA_TOPIC_ENV, "value": found.kafka_topic or default_topic(model)},
    ]


def check(model: ResolvedModel, target: str) -> list[Diagnostic]:
    """Contradictory logging settings, and sampling on a target without it."""
    settings = model.settings
    logging = settings.get("logging") or {}
    errors: list[Diagnostic] = []

    def at(path: Loc, code: str, message: str) -> None:
        doc, loc = settings.origin(path)
        errors.append((doc or model.doc).diagnostic(loc, code, message))

    url, kafka = logging.get("url"), logging.get("kafka")
    errors += _compare_problems(model)
    _store_problems(model, target, at)
    if logging.get("mode", "none") == "none":
        for key in ("url", "kafka", "sample", "store"):
            if key in logging and _in_model_file(model, ("logging", key)):
                at(("logging", key), "MO272", f"logging.{key} has no effect while logging.mode is none: "
                   "set mode to request, response or all, or remove it")
        return errors
    if url is not None and not url.startswith(("http://", "https://")):
        shown = f"{url!r} " if find_secret(url) is None else ""
        at(("logging", "url"), "MO273", f"logging.url {shown}must be an http:// or https:// URL")
    if kafka is not None and not kafka.get("broker") and not logging.get("store"):  # a store's: MO804
        at(("logging", "kafka"), "MO270", "logging.kafka needs a broker (host:port): set it here or "
           "in the environment's defaults in modelops.yaml")
    if url is not None and kafka is not None:
        later = _later(model, ("logging", "url"), ("logging", "kafka"))
        at(later, "MO271", "logging sets both url (HTTP sink) and kafka: choose one "
           "(`url: null` drops an inherited HTTP sink, `kafka: null` an inherited Kafka sink)")
    if "sample" in logging and target not in SAMPLING_TARGETS:
        at(("logging", "sample"), "MO301", f"logging.sample is not supported on target {target}: "
           "its logger records every request")
    return errors


def _in_model_file(model: ResolvedModel, path: Loc) -> bool:
    doc, _ = model.settings.origin(path)
    return doc is model.doc


def _later(model: ResolvedModel, first: Loc, second: Loc) -> Loc:
    """Of two keys, the one the model file (rather than modelops.yaml) wrote; else the second."""
    if _in_model_file(model, first) and not _in_model_file(model, second):
        return first
    return second


def _compare_problems(model: ResolvedModel) -> list[Diagnostic]:
    """MO802 for `compare` without stored predictions."""
    found = sink(model)
    if model.spec.compare is None or (found is not None and found.store is not None):
        return []
    return [model.doc.diagnostic(("compare",), "MO802", "compare needs the predictions stored: set "
                                 "logging: {mode: all, store: <a store of modelops.yaml>}")]


def _store_problems(model: ResolvedModel, target: str, at: Callable[[Loc, str, str], None]) -> None:
    """MO800 a store modelops.yaml does not have (or no collector); MO801 a store with another sink or
    without responses; MO804 a store through Kafka the collector does not consume."""
    logging = model.settings.get("logging") or {}
    store, mode = logging.get("store"), logging.get("mode", "none")
    if store is None or mode == "none":
        return
    if store not in model.stores:
        known = ", ".join(sorted(model.stores)) or "none"
        at(("logging", "store"), "MO800", f"logging.store {store!r} is no store of modelops.yaml "
           f"(stores: {known})")
    elif model.collector is None:
        at(("logging", "store"), "MO800", "logging.store needs a collector: set collector.image in "
           "modelops.yaml")
    for key in ("url", "kafka"):
        if logging.get(key) is not None and not (key == "kafka" and target == KAFKA_STORE_TARGET):
            at(("logging", key), "MO801", f"logging sets both store and {key}: the collector is the "
               f"sink of a store (`{key}: null` drops an inherited one)")
    kafka = logging.get("kafka")
    if kafka is not None and target == KAFKA_STORE_TARGET and model.collector is not None:
        broker = collector_broker(model)
        if broker is None:
            at(("logging", "kafka"), "MO804", "logging.kafka with a store: the collector consumes the "
               f"topic, set collector.kafka.broker (or environments.{model.env}.kafka.broker) in "
               "modelops.yaml (the executor then logs there)")
        elif kafka.get("broker") not in (None, broker):
            at(("logging", "kafka", "broker"), "MO804", f"logging.kafka.broker {kafka['broker']!r} is not "
               f"the collector's broker {broker!r}: remove it (the executor logs to the collector's)")
    if mode == "request":
        at(("logging", "mode"), "MO801", "logging.mode request stores no predictions: use response "
           "or all with a store")
