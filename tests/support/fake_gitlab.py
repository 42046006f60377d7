"""A small stand-in for GitLab's REST API v4 on 127.0.0.1: merge-request notes, enough for the review.

It records every request (method, path, query, PRIVATE-TOKEN header, body) so tests can assert what
modelops sent, and pages note lists like GitLab (X-Next-Page).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOTES = r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes"


class FakeGitLab:
    def __init__(self, per_page_limit: int = 100) -> None:
        self.requests: list[dict[str, Any]] = []
        self.notes: dict[int, dict[str, Any]] = {}
        self.refuse: int | None = None  # answer every request with this status
        self.per_page_limit = per_page_limit
        self._next_id = 100
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.api = f"http://127.0.0.1:{self._server.server_address[1]}/api/v4"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitLab:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_note(self, project: str, iid: int, body: str, author: str = "someone") -> int:
        note_id = self._next_id
        self._next_id += 1
        self.notes[note_id] = {"id": note_id, "project": project, "iid": iid, "body": body, "author": author}
        return note_id

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict]:
        if self.refuse:
            return self.refuse, {"message": "403 Forbidden"}, {}
        if m := re.fullmatch(NOTES, path):
            project, iid = m.group(1), int(m.group(2))
            if method == "GET":
                mine = [n for _, n in sorted(self.notes.items())
                        if (n["project"], n["iid"]) == (project, iid)]
                per_page = min(int(query.get("per_page", ["20"])[0]), self.per_page_limit)
                page = int(query.get("page", ["1"])[0])
                chunk = mine[(page - 1) * per_page:page * per_page]
                more = len(mine) > page * per_page
                return 200, [self._json(n) for n in chunk], {"X-Next-Page": str(page + 1) if more else ""}
            if method == "POST":
                return 201, self._json(self.notes[self.add_note(project, iid, body["body"], "bot")]), {}
        if method == "PUT" and (m := re.fullmatch(NOTES + r"/(\d+)", path)):
            note = self.notes.get(int(m.group(3)))
            if note is None:
                return 404, {"message": "404 Not found"}, {}
            note["body"] = body["body"]
            return 200, self._json(note), {}
        return 404, {"message": "404 Not found"}, {}

    @staticmethod
    def _json(note: dict[str, Any]) -> dict[str, Any]:
        return {"id": note["id"], "body": note["body"], "author": {"username": note["author"]},
                "system": False}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append({"method": self.command, "path": url.path, "query": query,
                                      "token": self.headers.get("PRIVATE-TOKEN"), "body": body})
                status, payload, headers = fake._route(self.command, url.path, query, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler
