"""A Language Server Protocol client by hand, as any editor speaks it: `modelops lsp` as a child
process, JSON-RPC with Content-Length framing over its stdin and stdout, no LSP library.

A reader thread files every message the server sends: responses by id, notifications in order, so
a test can wait for the next `textDocument/publishDiagnostics` of a file.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TIMEOUT = 30.0


class LspClient:
    """`modelops lsp` on stdio, started in `cwd` with this process's environment (PYTHONPATH too)."""

    def __init__(self, cwd: Path, *, tcp: bool = False) -> None:
        port = _free_port() if tcp else 0
        args = ["--tcp", f"127.0.0.1:{port}"] if tcp else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelops", "lsp", *args], cwd=cwd, env=dict(os.environ),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._writer, self._reader = self.process.stdin, self.process.stdout
        self._socket: socket.socket | None = None
        if tcp:
            self._socket = _connect(port, self.process)
            stream = self._socket.makefile("rwb")
            self._writer = self._reader = stream
        self._next_id = 0
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()  # but diagnostics
        self._published: dict[str, queue.Queue[dict[str, Any]]] = {}  # uri -> its diagnostics, in order
        self.stray: list[bytes] = []  # anything on stdout that is not a framed message
        self._lock = threading.Lock()
        self.stderr = bytearray()  # drained as it comes, so a talkative server never blocks
        for target in (self._read, self._drain):
            threading.Thread(target=target, daemon=True).start()

    # --- the wire ----------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self._writer is not None
        self._writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self._writer.flush()

    def _read(self) -> None:
        stream = self._reader
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, sep, value = line.decode("ascii", "replace").partition(":")
                if not sep:
                    self.stray.append(line)
                    continue
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            message = json.loads(body)
            if "id" in message and "method" not in message:
                self._queue(message["id"]).put(message)
            elif "id" in message:  # a request of the server's (client/registerCapability): filed, granted
                self.notifications.put(message)
                self.send({"id": message["id"], "result": None})
            elif message["method"] == "textDocument/publishDiagnostics":
                self._diagnostics_of(message["params"]["uri"]).put(message["params"])
            else:
                self.notifications.put(message)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr as stream:
            while chunk := stream.read1(65536):
                self.stderr += chunk

    def _queue(self, message_id: int) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            return self._responses.setdefault(message_id, queue.Queue())

    def _diagnostics_of(self, uri: str) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            return self._published.setdefault(uri, queue.Queue())

    # --- requests and notifications ------------------------------------------------------------

    def request(self, method: str, params: dict[str, Any] | None) -> Any:
        """Send a request; its result (an error response fails the test)."""
        self._next_id += 1
        message_id = self._next_id
        self.send({"id": message_id, "method": method, "params": params})
        response = self._get(self._queue(message_id))
        assert "error" not in response, response
        return response.get("result")

    def notify(self, method: str, params: dict[str, Any] | None) -> None:
        self.send({"method": method, "params": params})

    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                              "publishDiagnostics": {"versionSupport": True}}},
        })
        self.notify("initialized", {})
        return dict(result)

    def open(self, path: Path, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": path.as_uri(), "languageId": "yaml", "version": version, "text": text}})

    def change(self, path: Path, text: str, version: int) -> None:
        """The whole new text (a full change; the server also takes ranges)."""
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": path.as_uri(), "version": version}, "contentChanges": [{"text": text}]})

    def edit(self, path: Path, version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        """An incremental change: `text` replaces the 0-based range `start`..`end`."""
        change = {"range": {"start": {"line": start[0], "character": start[1]},
                            "end": {"line": end[0], "character": end[1]}}, "text": text}
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": path.as_uri(), "version": version}, "contentChanges": [change]})

    def diagnostics(self, path: Path, version: int | None = None) -> list[dict[str, Any]]:
        """The next diagnostics published for `path` (of `version`, when given: earlier ones are
        skipped)."""
        published = self._diagnostics_of(path.as_uri())
        while True:
            params = self._get(published)
            if version is None or params.get("version") == version:
                return list(params["diagnostics"])

    def _get(self, waiting: queue.Queue[dict[str, Any]]) -> dict[str, Any]:
        """The next message of `waiting`; a server that exits or says nothing for TIMEOUT seconds
        fails the test with what it wrote to stderr."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                return waiting.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and waiting.empty():
                    break
        if self.process.poll() is None:
            self.process.kill()
        self.close()
        stderr = self.stderr.decode(errors="replace")
        raise AssertionError(f"modelops lsp sent nothing (exit {self.process.returncode}):\n{stderr}")

    def pending(self, path: Path) -> int:
        """How many publications for `path` are not read yet."""
        return self._diagnostics_of(path.as_uri()).qsize()

    def shutdown(self) -> int:
        """shutdown, exit: the process's exit code."""
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        return self.process.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout, self._writer):
            if stream is not None and not stream.closed:
                stream.close()
        if self._socket is not None:
            self._socket.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _connect(port: int, process: subprocess.Popen[bytes]) -> socket.socket:
    """A connection to the server once it listens (it imports and binds in a second or so)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
