"""The GitHub stand-in of `fake_github`, plus the pull-request endpoints `modelops promote` calls.

Pull requests live in memory; every request is recorded (with its query) for assertions.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support.fake_github import FakeGitHub


class FakeGitHubPulls(FakeGitHub):
    def __init__(self) -> None:
        super().__init__()
        self.pulls: dict[int, dict[str, Any]] = {}
        self.queries: list[tuple[str, str, dict[str, list[str]]]] = []
        self.files: dict[int, list[str]] = {}  # pull request -> changed files
        self.reviews: dict[int, list[tuple[str, str, str]]] = {}  # pull request -> (login, state, sha)
        self.teams: dict[tuple[str, str], set[str]] = {}  # (org, team slug) -> member logins
        self.auto_merge: dict[int, str] = {}  # pull request -> merge method asked for (GraphQL)

    def calls(self, method: str, pattern: str) -> list[Any]:
        """Bodies of the recorded requests with this method whose path matches `pattern`."""
        return [body for m, path, body in self.requests if m == method and re.fullmatch(pattern, path)]

    def _pull_json(self, number: int) -> dict[str, Any]:
        pull = self.pulls[number]
        base = f"{self.url}/repos/{pull['repo']}"
        return {
            "id": number, "node_id": f"PR_{number}", "number": number, "state": pull["state"],
            "title": pull["title"],
            "body": pull["body"], "url": f"{base}/pulls/{number}",
            "html_url": f"https://github.example/{pull['repo']}/pull/{number}",
            "issue_url": f"{base}/issues/{number}",
            "head": {"ref": pull["head"], "label": f"{pull['repo'].split('/')[0]}:{pull['head']}",
                     "sha": pull.get("sha", "0" * 40)},
            "base": {"ref": pull["base"]},
            "labels": [{"name": name, "url": f"{base}/labels/{name}"} for name in pull["labels"]],
        }

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        split = urlsplit(path)
        query = parse_qs(split.query)
        self.queries.append((method, split.path, query))
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls", split.path):
            repo = m.group(1)
            if method == "GET":
                found = [self._pull_json(n) for n, p in sorted(self.pulls.items())
                         if p["repo"] == repo and p["state"] == query.get("state", ["open"])[0]
                         and ("head" not in query or f"{repo.split('/')[0]}:{p['head']}" == query["head"][0])
                         and ("base" not in query or p["base"] == query["base"][0])]
                return 200, found
            if method == "POST":
                number = len(self.pulls) + 1
                self.pulls[number] = {"repo": repo, "state": "open", "title": body["title"],
                                      "body": body.get("body", ""), "head": body["head"],
                                      "base": body["base"], "labels": []}
                return 201, self._pull_json(number)
        if method == "GET" and (m := re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/(\d+)/files", split.path)):
            return 200, [{"filename": name, "status": "modified", "sha": "1" * 40}
                         for name in self.files.get(int(m.group(1)), [])]
        if method == "GET" and (m := re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/(\d+)/reviews", split.path)):
            return 200, [{"id": i, "user": {"login": login, "id": i}, "state": state, "commit_id": sha,
                          "body": ""}
                         for i, (login, state, sha) in enumerate(self.reviews.get(int(m.group(1)), []), 1)]
        if method == "POST" and split.path == "/graphql" and "enablePullRequestAutoMerge" in body["query"]:
            variables = body["variables"]["input"]
            self.auto_merge[int(variables["pullRequestId"].removeprefix("PR_"))] = variables["mergeMethod"]
            return 200, {"data": {"enablePullRequestAutoMerge": {"actor": {"login": "modelops-bot"},
                                                                 "clientMutationId": None}}}
        membership = r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)"
        if method == "GET" and (m := re.fullmatch(membership, split.path)):
            org, slug, login = m.groups()
            if login in self.teams.get((org, slug), set()):
                return 200, {"state": "active", "role": "member"}
            return 404, {"message": "Not Found"}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/(\d+)", split.path):
            number = int(m.group(1))
            if method == "PATCH":
                self.pulls[number].update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return 200, self._pull_json(number)
        if method == "POST" and (m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/labels", split.path)):
            labels = self.pulls[int(m.group(1))]["labels"]
            labels += [name for name in body if name not in labels]
            return 200, [{"name": name} for name in labels]
        return super()._route(method, path, body)
