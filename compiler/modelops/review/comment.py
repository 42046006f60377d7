"""Post the review as one pull-request comment, updated in place on every push."""

from __future__ import annotations

import os

from modelops.diagnostics import Diagnostic, UserError
from modelops.promotion.pullrequest import DEFAULT_API, github_client
from modelops.review.changes import MARKER


def upsert_comment(repository: str, number: int, body: str) -> str:
    """Edit the PR's modelops comment (found by its marker) or create it; returns 'created' or
    'updated'. Token from GITHUB_TOKEN, API from GITHUB_API_URL (GitHub Enterprise)."""
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UserError([Diagnostic(".", 1, 1, "MO030", "GITHUB_TOKEN is not set: cannot comment")])
    api = os.environ.get("GITHUB_API_URL", DEFAULT_API)
    with github_client(token, api, f"{repository}#{number}") as client:
        issue = client.get_repo(repository).get_issue(number)
        for comment in issue.get_comments():
            if MARKER in (comment.body or ""):
                if comment.body != body:
                    comment.edit(body)
                return "updated"
        issue.create_comment(body)
        return "created"
