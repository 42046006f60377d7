"""A threaded HTTP server that clients cannot make hold more than it was given: at most
`max_connections` connections are served (one more is answered `busy` at once, without a thread),
and with a `deadline` each connection is cut that many seconds after it was accepted. The MLflow
webhook receiver and the prediction collector serve through it."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class BoundedHTTPServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` with a cap on connections and, optionally, a deadline for each."""

    daemon_threads = True
    busy = BUSY  # what a connection beyond the cap is answered

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 max_connections: int, deadline: float | None = None) -> None:
        super().__init__(address, handler)
        self.slots, self.deadline = threading.BoundedSemaphore(max_connections), deadline

    def refused(self) -> None:
        """Called for each connection turned away because the server is full."""

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # full: answer at once, hold nothing
            self.refused()
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(self.busy)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        timer = None
        if self.deadline is not None:
            timer = threading.Timer(self.deadline, _cut, (request,))
            timer.daemon = True
            timer.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            if timer is not None:
                timer.cancel()
            self.slots.release()


def _cut(connection: socket.socket) -> None:
    """End a connection past its deadline: its handler's next read or write fails."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
