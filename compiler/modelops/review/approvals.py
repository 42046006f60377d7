"""`modelops approvals --pr N`: the approvals CODEOWNERS cannot require, checked from the reviews.

CODEOWNERS lists a model's team and, for protected environments, the platform team on one line, and
GitHub lets ANY one owner of a line approve. This check requires EVERY group: the model's team (any
of its reviewers) for the model's files, plus `platform_team` for files of protected environments
(and for everything outside models/ and generated/). An approval counts when it is the reviewer's
latest APPROVED/CHANGES_REQUESTED/DISMISSED review and was given on the pull request's current head.
A reviewer `@org/team` is matched through the team membership API, `@user` by login.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from modelops.compile.spec import RepoConfig


@dataclass(frozen=True)
class Group:
    name: str  # the team's key in modelops.yaml, or "platform"
    reviewers: tuple[str, ...]  # "@org/team" or "@user"
    files: tuple[str, ...]  # the changed files that need it (sorted)


@dataclass(frozen=True)
class Review:
    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, DISMISSED, COMMENTED, PENDING
    commit: str


def model_teams(root: Path) -> dict[str, str]:
    """Model name -> team, read from models/ (only the two keys: no full validation)."""
    teams: dict[str, str] = {}
    for path in sorted((root / "models").glob("**/*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            teams[data["name"]] = str(data.get("team", ""))
            teams[f"models/{path.relative_to(root / 'models').as_posix()}"] = str(data.get("team", ""))
    return teams


def required_groups(files: Iterable[str], config: RepoConfig, teams: dict[str, str]) -> list[Group]:
    """Which groups must approve a change of `files`, and for which files."""
    needed: dict[str, set[str]] = {}
    platform = config.platform_team
    for file in files:
        team, protected = _owner(file, config, teams)
        if team and team in config.teams:
            needed.setdefault(team, set()).add(file)
        if platform and (protected or not team):
            needed.setdefault("platform", set()).add(file)
    groups = []
    for name in sorted(needed):
        reviewers = (platform,) if name == "platform" and platform else tuple(config.teams[name].reviewers)
        groups.append(Group(name, reviewers, tuple(sorted(needed[name]))))
    return groups


def _owner(file: str, config: RepoConfig, teams: dict[str, str]) -> tuple[str | None, bool]:
    """(the model's team, or None for a file of no model; whether a protected environment's)."""
    if file.startswith("models/"):
        return teams.get(file, ""), False
    parts = file.split("/")
    if parts[0] == "generated" and len(parts) >= 2 and parts[1] in config.environments:
        protected = config.environments[parts[1]].protected
        model = parts[-1].rsplit(".", 1)[0] if len(parts) == 4 else ""
        return teams.get(model, ""), protected
    return None, False


def current_approvers(reviews: Iterable[Review], head: str) -> set[str]:
    """Logins whose latest deciding review approves the head commit."""
    latest: dict[str, Review] = {}
    for review in reviews:  # in the order GitHub lists them: oldest first
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.login] = review
    return {login for login, r in latest.items() if r.state == "APPROVED" and r.commit == head}


def missing(groups: list[Group], approvers: set[str], is_member: Callable[[str, str, str], bool]
            ) -> list[Group]:
    """The groups none of whose reviewers approved; `is_member(org, team_slug, login)`."""
    def approves(reviewer: str, login: str) -> bool:
        handle = reviewer.lstrip("@")
        if "/" not in handle:
            return handle.lower() == login.lower()
        org, slug = handle.split("/", 1)
        return is_member(org, slug, login)

    return [g for g in groups
            if not any(approves(reviewer, login) for reviewer in g.reviewers for login in sorted(approvers))]


def check_pull(root: Path, config: RepoConfig, repository: str, number: int, token: str, api: str
               ) -> tuple[list[Group], list[Group]]:
    """(required groups, groups still missing) of pull request `number` of `repository`."""
    from github import GithubException

    from modelops.git.github import github_client

    with github_client(token, api, f"the reviews of pull request #{number}") as client:
        pull = client.get_repo(repository).get_pull(number)
        head = pull.head.sha
        files = set()
        for changed in pull.get_files():
            files.add(changed.filename)
            if changed.previous_filename:
                files.add(changed.previous_filename)
        reviews = [Review(r.user.login, r.state, r.commit_id) for r in pull.get_reviews() if r.user]
        groups = required_groups(sorted(files), config, model_teams(root))
        known: dict[tuple[str, str, str], bool] = {}

        def is_member(org: str, slug: str, login: str) -> bool:
            if (org, slug, login) not in known:
                try:
                    _, data = client.requester.requestJsonAndCheck(
                        "GET", f"/orgs/{org}/teams/{slug}/memberships/{login}")
                    known[(org, slug, login)] = isinstance(data, dict) and data.get("state") == "active"
                except GithubException as exc:
                    if exc.status != 404:
                        raise
                    known[(org, slug, login)] = False
            return known[(org, slug, login)]

        return groups, missing(groups, current_approvers(reviews, head), is_member)
