"""Open, or update in place, the pull request of a promotion branch (PyGithub, imported lazily)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from modelops.compile.spec import GitHubSettings


DEFAULT_API = "https://api.github.com"


@dataclass(frozen=True)
class PullRequest:
    action: str  # created | updated | unchanged
    number: int
    url: str


RETRIES = 3
# A rate limit that resets later than this fails the command rather than holding CI for up to an hour.
MAX_RATE_LIMIT_WAIT = 300


@contextmanager
def github_client(secret: str, api: str, what: str) -> Iterator[Any]:
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


def api_url(settings: GitHubSettings) -> str:
    return (settings.api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")


def web_url(settings: GitHubSettings) -> str:
    if settings.web_url:
        return settings.web_url.rstrip("/")
    api = api_url(settings)
    if api == DEFAULT_API:
        return "https://github.com"
    return api.removesuffix("/api/v3")


def compare_url(settings: GitHubSettings, repository: str, base: str, branch: str) -> str:
    return f"{web_url(settings)}/{repository}/compare/{quote(base)}...{quote(branch)}?expand=1"


def token(settings: GitHubSettings) -> str | None:
    return os.environ.get(settings.token_env) or None


def open_or_update(
    settings: GitHubSettings, repository: str, *, branch: str, base: str, title: str, body: str,
    labels: list[str],
) -> PullRequest:
    """The open PR from `branch` into `base`: edited when its title or body changed, else created."""
    secret = token(settings)
    if not secret:
        raise UserError([Diagnostic(".", 1, 1, "MO030", f"{settings.token_env} is not set")])
    with github_client(secret, api_url(settings), f"{repository} (branch {branch})") as client:
        repo = client.get_repo(repository)
        owner = repository.split("/", 1)[0]
        existing = next(iter(repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base)), None)
        if existing is None:
            pr = repo.create_pull(base=base, head=branch, title=title, body=body)
            action = "created"
        else:
            pr = existing
            action = "unchanged"
            if pr.title != title or (pr.body or "") != body:
                pr.edit(title=title, body=body)
                action = "updated"
        missing = sorted(set(labels) - {label.name for label in pr.labels})
        if missing:
            pr.add_to_labels(*missing)
        return PullRequest(action, pr.number, pr.html_url)
