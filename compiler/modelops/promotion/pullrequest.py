"""The pull request of a proposed change: its body (Markdown), and opening or updating it in place
(PyGithub, imported lazily)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from modelops.diagnostics import Diagnostic, UserError
from modelops.git.github import DEFAULT_API, github_client
from modelops.markdown import inline

if TYPE_CHECKING:
    from modelops.compile.spec import GitHubSettings, RepoConfig

# The first line of every body modelops writes (how a pull request is known as ours).
BODY_MARKER = "<!-- modelops-promotion -->"


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


def repository(root: Path, config: RepoConfig) -> str | None:
    """owner/name: github.repository, else $GITHUB_REPOSITORY, else parsed from the remote's URL."""
    from modelops.git import repo as gitrepo

    if config.github.repository:
        return config.github.repository
    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    if not gitrepo.has_remote(root, config.git.remote):
        return None
    return gitrepo.repository_from_url(gitrepo.remote_url(root, config.git.remote))


def promotion_branch(model: str, env: str) -> re.Pattern[str]:
    """The branches `modelops promote` names for a model and environment, any version and role."""
    return re.compile(rf"promote/{re.escape(model)}-{re.escape(env)}-v\d+(-canary|-shadow)?")


def close_superseded(settings: GitHubSettings, repository: str, *, model: str, env: str, base: str,
                     keep: str, replacement: tuple[int, str]) -> list[int]:
    """Close every other open promotion PR of `model` in `env`, each with a comment naming the
    replacement (number, url); their numbers."""
    secret = token(settings)
    if not secret:
        return []
    pattern = promotion_branch(model, env)
    number, url = replacement
    closed = []
    with github_client(secret, api_url(settings), f"{repository} (older promotions of {model})") as client:
        repo = client.get_repo(repository)
        for pr in repo.get_pulls(state="open", base=base):
            if pr.number == number or pr.head.ref == keep or not pattern.fullmatch(pr.head.ref):
                continue
            pr.create_issue_comment(f"Superseded by #{number} ({url}): a newer candidate of {model} for "
                                    f"{env}. Closed by `modelops autoupdate`.")
            pr.edit(state="closed")
            closed.append(pr.number)
    return closed


def enable_auto_merge(settings: GitHubSettings, repository: str, number: int) -> None:
    """Ask GitHub to merge the pull request once its required checks and reviews pass (GraphQL
    `enablePullRequestAutoMerge`; the repository must allow auto-merge)."""
    secret = token(settings)
    if not secret:
        return
    with github_client(secret, api_url(settings), f"{repository} (auto-merge of #{number})") as client:
        client.get_repo(repository).get_pull(number).enable_automerge(merge_method="SQUASH")


# --- the body ---------------------------------------------------------------------------------------

def review_markdown(before: dict[str, str], after: dict[str, str]) -> str:
    """What changes in the cluster between two generated/ trees, for the body (`review.changes`)."""
    from modelops.review.changes import MARKER, review, to_markdown

    text = to_markdown(review(before, after), title="what changes in the cluster")
    return text.replace(MARKER + "\n", "", 1)


def body(summary: str, review: str, after: str, *, team: str, command: str) -> str:
    """The body: the marker, what is proposed and why, what changes in the cluster, what follows
    (`after`, may be empty), and who opened it. `summary` and `after` are Markdown: their makers
    write what they did not author through `modelops.markdown`."""
    lines = [BODY_MARKER, summary.rstrip("\n"), "", review.rstrip("\n"), ""]
    if after:
        lines += [after.rstrip("\n"), ""]
    lines.append(f"Team: {inline(team)}. Opened by `modelops {command}`.")
    return "\n".join(lines) + "\n"
