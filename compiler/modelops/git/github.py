"""The GitHub API client that promotion (pull requests) and review (comments) share (PyGithub, lazily)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from github import Github

DEFAULT_API = "https://api.github.com"

RETRIES = 3
# A rate limit that resets later than this fails the command rather than holding CI for up to an hour.
MAX_RATE_LIMIT_WAIT = 300
# Waits longer than this say what they wait for (one line on stderr).
ANNOUNCE_AFTER = 2.0


def _announce(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def waiting_line(seconds: float, status: int | None, what: str) -> str:
    """`waiting 30 s for GitHub's rate limit to reset (what)`, or for a failing API to recover."""
    reason = ("GitHub's rate limit to reset" if status in (403, 429) else
              f"GitHub to recover from HTTP {status}" if status else "GitHub to answer")
    return f"waiting {seconds:.0f} s for {reason} ({what})"


@contextmanager
def github_client(secret: str, api: str, what: str) -> Iterator[Github]:
    """A PyGithub client that retries what GitHub marks as retryable: 5xx answers and rate limits
    (RETRIES times, backing off), so one hiccup of the API does not fail a promotion or a review.
    A refusal or an outage while it is used is one MO031 line about `what`."""
    from github import Auth, Github, GithubException, GithubRetry

    class AnnouncedRetry(GithubRetry):
        """GithubRetry that says on stderr what a wait of more than a couple of seconds is for."""

        def sleep(self, response: Any = None) -> None:
            wait = (self.get_retry_after(response) if response is not None else None)
            wait = self.get_backoff_time() if wait is None else wait
            if wait > ANNOUNCE_AFTER:
                _announce(waiting_line(wait, getattr(response, "status", None), what))
            super().sleep(response)

    retry = AnnouncedRetry(total=RETRIES, backoff_factor=1.0, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT)
    try:
        yield Github(auth=Auth.Token(secret), base_url=api, retry=retry)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        text = f"GitHub answered {exc.status} for {what}: {message}"
        raise UserError([Diagnostic(".", 1, 1, "MO031", text)]) from exc
    except OSError as exc:  # unreachable, or still failing after the retries
        text = f"GitHub API at {api} is unreachable or failing (retried {RETRIES} times): {exc}"
        raise UserError([Diagnostic(".", 1, 1, "MO031", text)]) from exc
