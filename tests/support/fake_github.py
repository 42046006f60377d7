"""A small stand-in for the GitHub REST API on 127.0.0.1, enough for PyGithub's issue comments and
deployments (with their statuses).

It records every request so tests can assert what modelops sent.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGitHub:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self._hiccups: list[tuple[str, str, int, str]] = []
        self.comments: dict[int, dict[str, Any]] = {}
        self.deployments: dict[int, dict[str, Any]] = {}  # id -> the POSTed body plus "statuses"
        self._next_id = 1
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method: str, pattern: str, status: int = 502, times: int = 1,
             message: str = "Server Error") -> None:
        """The next `times` `method` requests whose path matches `pattern` get `status` (a hiccup)."""
        self._hiccups += [(method, pattern, status, message)] * times

    def _answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        for hiccup in self._hiccups:
            if hiccup[0] == method and re.fullmatch(hiccup[1], path.split("?", 1)[0]):
                self._hiccups.remove(hiccup)
                return hiccup[2], {"message": hiccup[3]}
        return self._route(method, path, body)

    def add_comment(self, number: int, body: str, login: str = "someone") -> None:
        self._create(number, body, login)

    def _create(self, number: int, body: str, login: str = "modelops-bot") -> dict[str, Any]:
        comment_id = self._next_id
        self._next_id += 1
        self.comments[comment_id] = {"id": comment_id, "number": number, "body": body, "login": login}
        return self._comment_json(comment_id)

    def _comment_json(self, comment_id: int) -> dict[str, Any]:
        comment = self.comments[comment_id]
        return {
            "id": comment_id,
            "body": comment["body"],
            "url": f"{self.url}/repos/acme/models/issues/comments/{comment_id}",
            "user": {"login": comment["login"], "id": 1, "url": f"{self.url}/users/x"},
        }

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        path = path.split("?", 1)[0]
        if method == "GET" and (m := re.fullmatch(r"/repos/([^/]+)/([^/]+)", path)):
            owner, name = m.groups()
            return 200, {"id": 1, "name": name, "full_name": f"{owner}/{name}",
                         "url": f"{self.url}/repos/{owner}/{name}", "owner": {"login": owner}}
        if method == "GET" and (m := re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)", path)):
            owner, name, number = m.groups()
            return 200, {"id": int(number), "number": int(number),
                         "url": f"{self.url}/repos/{owner}/{name}/issues/{number}",
                         "comments_url": f"{self.url}/repos/{owner}/{name}/issues/{number}/comments",
                         "repository_url": f"{self.url}/repos/{owner}/{name}"}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
            number = int(m.group(1))
            if method == "GET":
                return 200, [self._comment_json(i) for i, c in sorted(self.comments.items())
                             if c["number"] == number]
            if method == "POST":
                return 201, self._create(number, body["body"])
        if method == "POST" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/deployments", path)):
            number = len(self.deployments) + 1
            self.deployments[number] = {**body, "statuses": []}
            return 201, {"id": number, "url": f"{self.url}/repos/{m.group(1)}/deployments/{number}",
                         "ref": body["ref"], "environment": body.get("environment")}
        if method == "POST" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/deployments/(\d+)/statuses", path)):
            self.deployments[int(m.group(2))]["statuses"].append(body)
            return 201, {"id": len(self.deployments[int(m.group(2))]["statuses"]), "state": body["state"]}
        if method == "PATCH" and (m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", path)):
            comment_id = int(m.group(1))
            self.comments[comment_id]["body"] = body["body"]
            return 200, self._comment_json(comment_id)
        return 404, {"message": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append((self.command, self.path.split("?", 1)[0], body))
                status, payload = fake._answer(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler
