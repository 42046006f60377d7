"""The GitHub API client that promotion (pull requests) and review (comments) share (PyGithub, lazily)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from github import Github

DEFAULT_API = "https://api.github.com"

RETRIES = 3
# A rate limit that resets later than this fails the command rather than holding CI for up to an hour.
MAX_RATE_LIMIT_WAIT = 300


@contextmanager
def github_client(secret: str, api: str, what: str) -> Iterator[Github]:
    """A PyGithub client that retries what GitHub marks as retryable: 5xx answers and rate limits
    (RETRIES times, backing off), so one hiccup of the API does not fail a promotion or a review.
    A refusal or an outage while it is used is one MO031 line about `what`."""
    from github import Auth, Github, GithubException, GithubRetry

    retry = GithubRetry(total=RETRIES, backoff_factor=1.0, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT)
    try:
        yield Github(auth=Auth.Token(secret), base_url=api, retry=retry)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        text = f"GitHub answered {exc.status} for {what}: {message}"
        raise UserError([Diagnostic(".", 1, 1, "MO031", text)]) from exc
    except OSError as exc:  # unreachable, or still failing after the retries
        text = f"GitHub API at {api} is unreachable or failing (retried {RETRIES} times): {exc}"
        raise UserError([Diagnostic(".", 1, 1, "MO031", text)]) from exc
