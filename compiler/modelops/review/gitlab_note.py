"""Post the review as one GitLab merge-request note, updated in place on every push.

Plain HTTP (urllib) against GitLab's REST API v4 with a project access token (PRIVATE-TOKEN header),
so GitLab needs no extra dependency. The note is found again by the same marker as the GitHub comment.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from modelops.diagnostics import Diagnostic, UserError
from modelops.review.changes import MARKER

TIMEOUT = 30  # seconds per request
RETRIES = 2  # for 429, 5xx and connection failures; refusals (4xx) fail at once
PER_PAGE = 100


@dataclass(frozen=True)
class MergeRequest:
    api: str  # CI_API_V4_URL, e.g. https://gitlab.example.com/api/v4
    project: str  # CI_PROJECT_ID (numeric) or the URL-encoded path
    iid: int  # CI_MERGE_REQUEST_IID
    token: str  # GITLAB_TOKEN

    @property
    def notes_url(self) -> str:
        return f"{self.api}/projects/{quote(self.project, safe='')}/merge_requests/{self.iid}/notes"


def _error(text: str) -> UserError:
    return UserError([Diagnostic(".", 1, 1, "MO032", text)])


def from_environment() -> MergeRequest:
    """The merge request of this GitLab CI job, from its predefined variables and GITLAB_TOKEN."""
    names = ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "GITLAB_TOKEN")
    values = {name: os.environ.get(name, "") for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _error(f"{', '.join(missing)} not set: cannot post the merge-request note "
                     "(run in a merge-request pipeline; GITLAB_TOKEN is a project access token)")
    if not values["CI_MERGE_REQUEST_IID"].isdigit():
        raise _error(f"CI_MERGE_REQUEST_IID is not a number: {values['CI_MERGE_REQUEST_IID']!r}")
    return MergeRequest(values["CI_API_V4_URL"].rstrip("/"), values["CI_PROJECT_ID"],
                        int(values["CI_MERGE_REQUEST_IID"]), values["GITLAB_TOKEN"])


def upsert_note(request: MergeRequest, body: str) -> str:
    """Edit the merge request's modelops note (found by its marker) or add it; 'created' or 'updated'."""
    page = "1"
    while page:
        notes, page = _call(request, "GET", f"{request.notes_url}?per_page={PER_PAGE}&page={page}")
        for note in notes:
            if MARKER in (note.get("body") or ""):
                if note["body"] != body:
                    _call(request, "PUT", f"{request.notes_url}/{note['id']}", {"body": body})
                return "updated"
    _call(request, "POST", request.notes_url, {"body": body})
    return "created"


def _call(
    request: MergeRequest, method: str, url: str, payload: dict[str, Any] | None = None
) -> tuple[Any, str]:
    """One API call, retried on 429/5xx/unreachable; returns the JSON answer and X-Next-Page."""
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"PRIVATE-TOKEN": request.token, "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    what = f"merge request !{request.iid}"
    for attempt in range(RETRIES + 1):
        try:
            call = urllib.request.Request(url, data=data, method=method, headers=headers)
            with urllib.request.urlopen(call, timeout=TIMEOUT) as answer:
                return json.loads(answer.read() or b"null"), answer.headers.get("X-Next-Page") or ""
        except urllib.error.HTTPError as exc:
            if (exc.code == 429 or exc.code >= 500) and attempt < RETRIES:
                time.sleep(attempt + 1)
                continue
            raise _error(f"GitLab answered {exc.code} for {what}: {_message(exc)}") from exc
        except OSError as exc:  # URLError, timeouts, refused connections
            if attempt < RETRIES:
                time.sleep(attempt + 1)
                continue
            raise _error(f"GitLab API at {request.api} is unreachable or failing "
                         f"(retried {RETRIES} times): {exc}") from exc
    raise AssertionError("unreachable")


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        answer = json.loads(exc.read() or b"{}")
    except ValueError:
        return exc.reason or ""
    message = answer.get("message") or answer.get("error") if isinstance(answer, dict) else answer
    return str(message or exc.reason)
