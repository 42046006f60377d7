"""Post the review as one pull-request comment, updated in place on every push."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from modelops.diagnostics import Diagnostic, UserError
from modelops.git.github import DEFAULT_API, github_client
from modelops.review.changes import MARKER

if TYPE_CHECKING:
    from github import Github

# What GitHub answers a read-only token (a pull request from a fork) that tries to comment.
REFUSALS = (403, 404)


class CommentRefused(Exception):
    """GitHub refused the comment (403/404): the token may read the pull request but not write to it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub answered {status}: {message}")
        self.status = status


def upsert_comment(repository: str, number: int, body: str) -> str:
    """Edit the PR's modelops comment (found by its marker) or create it; returns 'created' or
    'updated'. Token from GITHUB_TOKEN, API from GITHUB_API_URL (GitHub Enterprise). Raises
    CommentRefused when GitHub answers 403 or 404 to the token."""
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UserError([Diagnostic(".", 1, 1, "MO030", "GITHUB_TOKEN is not set: cannot comment")])
    api = os.environ.get("GITHUB_API_URL", DEFAULT_API)
    # PyGithub logs every 403 on stderr at INFO; the refusal is reported once, by the caller.
    retry_log = logging.getLogger("github.GithubRetry")
    level = retry_log.level
    retry_log.setLevel(logging.WARNING)
    try:
        return _post(token, api, repository, number, body)
    finally:
        retry_log.setLevel(level)


def _post(token: str, api: str, repository: str, number: int, body: str) -> str:
    from github import GithubException, RateLimitExceededException

    with github_client(token, api, f"{repository}#{number}") as client:
        try:
            return _upsert(client, repository, number, body)
        except GithubException as exc:
            if exc.status not in REFUSALS or isinstance(exc, RateLimitExceededException):
                raise  # a rate limit is a 403 too, but no refusal: reported as such
            message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            raise CommentRefused(exc.status, str(message)) from exc


def _upsert(client: Github, repository: str, number: int, body: str) -> str:
    issue = client.get_repo(repository).get_issue(number)
    for comment in issue.get_comments():
        if MARKER in (comment.body or ""):
            if comment.body != body:
                comment.edit(body)
            return "updated"
    issue.create_comment(body)
    return "created"


def write_step_summary(path: str, body: str) -> None:
    """Append the review to the GitHub Actions job summary ($GITHUB_STEP_SUMMARY)."""
    with open(path, "a", encoding="utf-8") as summary:
        summary.write(body if body.endswith("\n") else body + "\n")
