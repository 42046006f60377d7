"""Reading an HTTP/1.x request head without the email package.

`http.server` parses every request's headers with `email.parser` (it was 40% of the collector's CPU
per event, profiled); the collector needs a request line and a case-insensitive map of headers,
which this reads from the handler's stream with the same limits `http.server` applies (a 64 KiB
line, 100 headers) and the same answers to what it refuses (400, 431, 505).
"""

from __future__ import annotations

from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

MAX_LINE = 65536
MAX_HEADERS = 100


class Headers(dict[str, str]):
    """Header name (lower case) -> value; the first of repeated headers wins, as email's `get` does."""

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


def parse_request(handler: BaseHTTPRequestHandler) -> bool:
    """What `BaseHTTPRequestHandler.parse_request` does, for HTTP/1.0 and 1.1: False (after sending
    the error) when the request head is malformed."""
    handler.command = None  # type: ignore[assignment]
    handler.request_version = handler.default_request_version
    handler.close_connection = True
    line = str(handler.raw_requestline, "iso-8859-1").rstrip("\r\n")  # type: ignore[attr-defined]
    handler.requestline = line
    words = line.split()
    if len(words) == 3:
        handler.request_version = words[2]  # errors are answered in the client's version
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        handler.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({line!r})")
        return False
    handler.command, handler.path = words[:2]
    if words[2] not in ("HTTP/1.0", "HTTP/1.1"):
        handler.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({words[2]})")
        return False
    headers = Headers()
    lines = 0
    while True:
        raw = handler.rfile.readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            handler.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
            return False
        if raw in (b"\r\n", b"\n", b""):
            break
        lines += 1
        if lines > MAX_HEADERS:
            handler.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        name, colon, value = raw.decode("iso-8859-1").partition(":")
        if not colon or not name.strip() or name != name.strip():
            handler.send_error(HTTPStatus.BAD_REQUEST, "Malformed header line")
            return False
        headers.setdefault(name.lower(), value.strip())
    handler.headers = headers  # type: ignore[assignment]
    connection = (headers.get("connection") or "").lower()
    keep_alive = handler.request_version == "HTTP/1.1" and handler.protocol_version >= "HTTP/1.1"
    handler.close_connection = connection == "close" or not (keep_alive or connection == "keep-alive")
    if (headers.get("expect") or "").lower() == "100-continue" and keep_alive:
        return handler.handle_expect_100()
    return True
