"""The collector's HTTP side and its lifecycle: POST /v1/events, GET /healthz, GET /metrics (and the
Kafka consumer, `kafka.py`, when given a broker); `run` replays the spool, serves until SIGTERM or
SIGINT, then flushes the spool to the store."""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from modelops.bounded_http import BoundedHTTPServer
from modelops.collector import log
from modelops.collector.events import Malformed, from_http
from modelops.collector.headers import parse_request
from modelops.collector.kafka import KafkaConfig, KafkaSource
from modelops.collector.metrics import Metrics
from modelops.collector.spool import Spool, SpoolClosed, SpoolFull
from modelops.collector.writer import Writer
from modelops.diagnostics import Diagnostic, UserError

EVENTS_PATH = "/v1/events"
MAX_EVENT_BYTES = 16 * 1024 * 1024
# Memory stays bounded: bodies being read and spooled hold at most MAX_READING_BYTES together (a
# request beyond waits for none of them: 503 and Retry-After), at most max_connections connections
# are served (one beyond is answered 503 at once), and one silent for idle_seconds is closed.
MAX_READING_BYTES = 64 * 1024 * 1024
RETRY_AFTER = "5"
FLUSH_SECONDS_ON_STOP = 20.0


@dataclass(frozen=True)
class Config:
    store: str
    spool: Path = Path(".modelops-spool")
    host: str = "0.0.0.0"
    port: int = 8080
    environment: str | None = None
    max_spool_bytes: int = 256 * 1024 * 1024
    flush_rows: int = 10_000
    flush_seconds: float = 10.0
    kafka: KafkaConfig | None = None
    max_connections: int = 512
    idle_seconds: float = 60.0


class Collector:
    """A running collector: the spool (replayed), the writer thread and the HTTP server."""

    def __init__(self, config: Config) -> None:
        from modelops.columns import open_store

        try:
            store = open_store(config.store)
        except Exception as exc:  # pyarrow's own message: an unknown scheme, a bad bucket name
            raise UserError([Diagnostic(".", 1, 1, "MO820", f"cannot open the store {config.store!r}: "
                                        f"{exc}")]) from None
        try:
            self.spool = Spool(config.spool, config.max_spool_bytes,
                               segment_bytes=max(1, min(16 << 20, config.max_spool_bytes // 8)))
        except OSError as exc:
            raise UserError([Diagnostic(str(config.spool), 1, 1, "MO821", "cannot use the spool folder: "
                                        f"{exc.strerror or exc}")]) from None
        self.metrics = Metrics(lambda: self.spool.events, config.environment)
        self.writer = Writer(self.spool, store, self.metrics, config.environment, config.flush_rows,
                             config.flush_seconds)
        self.kafka = KafkaSource(config.kafka, self.spool, self.metrics) if config.kafka else None
        try:
            self.http = _Server((config.host, config.port), _handler(self, config.idle_seconds),
                                config.max_connections, self.metrics)
        except OSError as exc:
            raise UserError([Diagnostic(".", 1, 1, "MO822", f"cannot listen on {config.host}:"
                                        f"{config.port}: {exc.strerror or exc}")]) from None
        self.host = config.host
        self.in_flight = 0
        self.reading = 0  # bytes of the bodies being read and spooled now
        self._lock = threading.Lock()

    def reserve(self, size: int) -> bool:
        """Room for a body of `size` bytes within MAX_READING_BYTES (release it after)."""
        with self._lock:
            if self.reading and self.reading + size > MAX_READING_BYTES:
                return False
            self.reading += size
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self.reading -= size

    @property
    def port(self) -> int:
        return int(self.http.server_address[1])

    def start(self) -> None:
        if self.spool.events:
            log(f"replaying {self.spool.events} spooled events")
        self.writer.start()
        threading.Thread(target=self.http.serve_forever, name="modelops-collector-http", daemon=True).start()
        log(f"listening on {self.host}:{self.port}")
        if self.kafka is not None:
            self.kafka.start()

    def stop(self) -> bool:
        """Stop taking events, store what is spooled; True when nothing is left in the spool."""
        self.http.shutdown()
        self.http.server_close()
        deadline = time.monotonic() + FLUSH_SECONDS_ON_STOP
        if self.kafka is not None:
            self.kafka.stop(FLUSH_SECONDS_ON_STOP / 2)
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        done = self.writer.flush(deadline)
        log("stopped, the spool is empty" if done else
            f"stopped with {self.spool.events} events spooled for the next start")
        return done

    def accept(self, query: dict[str, str], headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """The status and reason for one POST /v1/events."""
        try:
            event = from_http(query, headers, body, datetime.now(UTC))
        except Malformed as exc:
            self.metrics.count("refused_total", reason="malformed")
            log(f"400 refused event ({_describe(headers, query)}): {exc}")
            return 400, str(exc)
        try:
            self.spool.append(event.to_record())
        except SpoolFull:
            self.metrics.count("refused_total", reason="spool_full")
            return 503, "the spool is full"
        except SpoolClosed:
            self.metrics.count("refused_total", reason="stopping")
            return 503, "the collector is stopping"
        self.metrics.count("received_total", model=event.model, variant=event.variant)
        return 202, "accepted"


class _Server(BoundedHTTPServer):
    """One thread per connection, at most `max_connections` of them (one more is counted as busy)."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_connections: int,
                 metrics: Metrics) -> None:
        super().__init__(address, handler, max_connections)
        self.metrics = metrics

    def refused(self) -> None:
        self.metrics.count("refused_total", reason="busy")

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line for a client that went away mid-request, not socketserver's traceback."""
        error = sys.exc_info()[1]
        log(f"connection from {client_address[0]} dropped: {type(error).__name__}: {error}")


def _describe(headers: dict[str, str], query: dict[str, str]) -> str:
    keys = ("ce-type", "ce-id", "ce-inferenceservicename", "ce-endpoint")
    parts = [f"{k}={headers[k]!r}" for k in keys if k in headers] + [f"{k}={v!r}" for k, v in query.items()]
    return " ".join(parts) or "no CloudEvents headers"


def _handler(collector: Collector, idle_seconds: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the executor's and agent's clients use it
        timeout = idle_seconds  # a connection silent this long (between or within requests) is closed
        server_version = "modelops-collector"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed ACK

        def log_message(self, format: str, *args: Any) -> None:  # one line per refusal, not per request
            pass

        def parse_request(self) -> bool:
            return parse_request(self)  # http.server's own parses headers with the email package

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/healthz":
                self._answer(200, "ok\n")
            elif path == "/metrics":
                self._answer(200, collector.metrics.text(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._answer(404, "not found\n")

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path != EVENTS_PATH:
                self.close_connection = True
                self._answer(404, "not found\n")
                return
            with collector._lock:
                collector.in_flight += 1
            try:
                self._event(dict(parse_qsl(url.query)))
            finally:
                with collector._lock:
                    collector.in_flight -= 1

        def _event(self, query: dict[str, str]) -> None:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit() or int(length) > MAX_EVENT_BYTES:
                reason = "no Content-Length" if length is None or not length.isdigit() else (
                    f"the event is {length} bytes, over {MAX_EVENT_BYTES}")
                collector.metrics.count("refused_total", reason="too_large" if length else "malformed")
                log(f"400 refused event ({_describe(self._lower(), query)}): {reason}")
                self.close_connection = True  # the body is not read
                self._answer(400, reason + "\n")
                return
            size = int(length)
            if not collector.reserve(size):
                collector.metrics.count("refused_total", reason="busy")
                self.close_connection = True  # the body is not read
                self._answer(503, "busy: too many events being received\n", retry=True)
                return
            try:
                body = self.rfile.read(size)
                status, reason = collector.accept(query, self._lower(), body)
            finally:
                collector.release(size)
            self._answer(status, reason + "\n", retry=status == 503)

        def _lower(self) -> dict[str, str]:
            return dict(self.headers)  # `Headers`: lower-case names already

        def _answer(self, status: int, text: str, kind: str = "text/plain; charset=utf-8",
                    retry: bool = False) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            if retry:
                self.send_header("Retry-After", RETRY_AFTER)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def run(config: Config) -> bool:
    """Serve until SIGTERM or SIGINT, then flush; True when the spool was emptied."""
    collector = Collector(config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    collector.start()
    while not stop.wait(1.0):
        pass
    log("stopping: flushing the spool to the store")
    return collector.stop()
