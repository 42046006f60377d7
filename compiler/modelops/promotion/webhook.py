"""MLflow registry webhooks: the receiver's HTTP server, signature and freshness checks, and the
events that matter.

MLflow signs `<delivery id>.<timestamp>.<raw body>` with HMAC-SHA256 and sends
`X-MLflow-Signature: v1,<base64>`, `X-MLflow-Delivery-Id` and `X-MLflow-Timestamp` (unix seconds).

What a delivery may be: each signature header exactly once (a second `X-MLflow-Delivery-Id` would
let a captured delivery be replayed under a new id), a timestamp of at most 12 digits, a delivery id
of printable ASCII, a JSON body of at most MAX_BODY bytes; anything else is a 400. The server holds at
most MAX_CONNECTIONS connections (one more is answered 503 at once) and gives each READ_SECONDS for
the whole request, headers and body together (a client trickling bytes is cut off).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from modelops.bounded_http import BoundedHTTPServer

EVENTS = {("model_version", "created"), ("model_version_alias", "created")}
SIGNED = ("X-MLflow-Delivery-Id", "X-MLflow-Timestamp", "X-MLflow-Signature")
# MLflow's deliveries are a few hundred bytes: a larger body, or one that takes longer than this to
# arrive, is not a delivery, and must not tie up the receiver.
MAX_BODY = 1024 * 1024
READ_SECONDS = 10.0
MAX_CONNECTIONS = 16
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DELIVERY = re.compile(r"[\x21-\x7e]{1,200}")
MAX_SIGNATURE = 1024

Accept = Callable[[Any, bytes], tuple[int, dict[str, Any]]]


class Rejected(Exception):
    """A delivery that must not be acted on; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(headers: Mapping[str, str] | Any) -> tuple[str, str, str]:
    """(delivery id, timestamp, signature), each given at most once and well-formed, else Rejected.
    `headers` is a mapping or an http.client.HTTPMessage (whose items() lists every header line)."""
    pairs: Iterable[tuple[str, str]] = headers.items()
    found: dict[str, list[str]] = {name.lower(): [] for name in SIGNED}
    for name, value in pairs:
        if name.lower() in found:
            found[name.lower()].append(str(value))
    for name in SIGNED:
        if len(found[name.lower()]) > 1:
            raise Rejected(400, f"{name} given {len(found[name.lower()])} times")
    delivery, timestamp, signature = (next(iter(found[name.lower()]), "") for name in SIGNED)
    if not (delivery and timestamp and signature):
        raise Rejected(401, "missing X-MLflow-Signature, X-MLflow-Delivery-Id or X-MLflow-Timestamp")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Rejected(400, f"X-MLflow-Timestamp {timestamp[:40]!r} is not a unix time")
    if not _DELIVERY.fullmatch(delivery):
        raise Rejected(400, "X-MLflow-Delivery-Id is not 1 to 200 printable ASCII characters")
    if len(signature) > MAX_SIGNATURE:
        raise Rejected(400, f"X-MLflow-Signature over {MAX_SIGNATURE} characters")
    return delivery, timestamp, signature


def verify(secret: str, headers: Mapping[str, str] | Any, body: bytes, *, tolerance: int = 300,
           now: float | None = None) -> str:
    """The delivery id, unless the delivery is malformed, not signed with `secret` or not fresh
    (Rejected)."""
    delivery, timestamp, signature = signed_headers(headers)
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > tolerance:
        raise Rejected(401, f"stale delivery: timestamp is {int(age)} s off (tolerance {tolerance} s)")
    expected = sign(secret, delivery, timestamp, body)
    if not any(hmac.compare_digest(expected, s.strip()) for s in signature.split(" ")):
        raise Rejected(401, "bad signature")
    return delivery


def registered_model(body: bytes) -> str | None:
    """The registered model a relevant event is about, else None (an event we do not act on)."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Rejected(400, "body is not JSON") from exc
    if not isinstance(event, dict):
        return None
    kind = event.get("entity"), event.get("action")
    if not all(isinstance(part, str) for part in kind) or kind not in EVENTS:
        return None
    data = event.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


# --- the HTTP server ----------------------------------------------------------------------------

class Receiver(BoundedHTTPServer):
    """The receiver's server: MAX_CONNECTIONS connections, each cut READ_SECONDS + 1 after it was
    accepted (the handler answers first)."""

    busy = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection cut off or broken by its client: nothing to print."""


def receiver(host: str, port: int, accept: Accept, log: Callable[[str], None]) -> Receiver:
    """The HTTP server (not yet serving) that hands each delivery's headers and body to `accept`."""
    return Receiver((host, port), _handler(accept, log), MAX_CONNECTIONS, READ_SECONDS + 1)


class _Handler(BaseHTTPRequestHandler):
    """One request to the receiver; `accept` and `log` are set per receiver by `_handler`."""

    accept: Accept
    log: Callable[[str], None]

    timeout = READ_SECONDS  # per socket operation; the Receiver's deadline bounds the whole request

    def setup(self) -> None:
        self.deadline = time.monotonic() + READ_SECONDS
        super().setup()

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, status: int, reason: str, answer: str | None = None) -> None:
        self.close_connection = True
        type(self).log(f"webhook rejected: {reason}")
        self._answer(status, {"error": answer or reason})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rstrip("/") in ("/health", "/healthz"):
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": "POST MLflow webhooks to any path; GET /health"})

    def do_POST(self) -> None:  # noqa: N802
        lengths = self.headers.get_all("Content-Length") or ["0"]
        length = int(lengths[0]) if len(lengths) == 1 and lengths[0].strip().isdecimal() else -1
        if not 0 <= length <= MAX_BODY:
            self._refuse(400 if length < 0 else 413,
                         "bad Content-Length" if length < 0 else f"body over {MAX_BODY} bytes")
            return
        body = self._body(length)
        if body is None:
            self._refuse(408, f"body not received within {READ_SECONDS:g} s", "request body too slow")
            return
        try:
            status, payload = type(self).accept(self.headers, body)
        except (ValueError, TypeError, AttributeError, UnicodeError, OverflowError) as exc:
            self._refuse(400, f"malformed request ({type(exc).__name__})", "malformed request")
            return
        self._answer(status, payload)

    def _body(self, length: int) -> bytes | None:
        """The body, or None when it does not arrive before the request's deadline (a client
        that trickles a byte at a time is cut off too)."""
        chunks: list[bytes] = []
        missing = length
        while missing > 0:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            self.connection.settimeout(left)
            try:
                chunk = self.rfile.read1(min(missing, 65536))
            except (TimeoutError, OSError):
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def log_message(self, *args: object) -> None:
        pass


def _handler(accept: Accept, log: Callable[[str], None]) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to one receiver's `accept` and `log`."""
    return type("Handler", (_Handler,), {"accept": staticmethod(accept), "log": staticmethod(log)})
