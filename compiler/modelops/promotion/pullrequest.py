"""Open, or update in place, the pull request of a promotion branch (PyGithub, imported lazily)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from modelops.diagnostics import Diagnostic, UserError
from modelops.git.github import DEFAULT_API, github_client

if TYPE_CHECKING:
    from modelops.compile.spec import GitHubSettings


@dataclass(frozen=True)
class PullRequest:
    action: str  # created | updated | unchanged
    number: int
    url: str


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
