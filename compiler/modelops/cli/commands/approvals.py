"""`modelops approvals --pr N`: fail until every required group approved (`modelops.review.approvals`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.options import output_option, repo_option, repo_root
from modelops.cli.report import report


@click.command(name="approvals")
@click.option("--pr", "number", type=int, required=True, help="The pull request to check.")
@repo_option
@output_option
def approvals_command(number: int, repo: Path | None, output: str) -> None:
    """Check that the model's team AND, for protected environments, the platform team approved.

    Reads the pull request's changed files and reviews (GITHUB_TOKEN, GITHUB_REPOSITORY,
    GITHUB_API_URL); the token must be able to read the org's team memberships. Exit 1 with one
    line per group that has not approved the current head.
    """
    from modelops.compile.project import Project
    from modelops.diagnostics import Diagnostic, UserError
    from modelops.promotion import pullrequest
    from modelops.review.approvals import check_pull

    root = repo_root(repo)
    project = Project.load(root)
    config, config_doc = project.config, project.config_doc
    if config is None or config_doc is None:
        report("approvals", output, project.errors)
        sys.exit(1)
    token = pullrequest.token(config.github)
    if not token:
        raise UserError([Diagnostic(".", 1, 1, "MO030",
                                    f"{config.github.token_env} is not set: cannot read the reviews")])
    repository = pullrequest.repository(root, config) or ""
    if "/" not in repository:
        raise click.UsageError("approvals needs GITHUB_REPOSITORY (owner/name) or github.repository")
    api = pullrequest.api_url(config.github)
    groups, absent = check_pull(root, config, repository, number, token, api)
    diagnostics = []
    for group in absent:
        loc = ("platform_team",) if group.name == "platform" else ("teams", group.name, "reviewers")
        more = f" and {len(group.files) - 3} more" if len(group.files) > 3 else ""
        files = ", ".join(group.files[:3]) + more
        diagnostics.append(config_doc.diagnostic(
            loc, "MO033", f"pull request #{number} needs an approval of the current head by "
            f"{' or '.join(group.reviewers)} ({group.name}) for {files}"))

    def text() -> None:
        for group in groups:
            state = "missing" if group in absent else "approved"
            who = " or ".join(group.reviewers)
            click.echo(f"{state:<9} {group.name} ({who}): {len(group.files)} file(s)")

    report("approvals", output, diagnostics, {
        "pull_request": number,
        "groups": [{"name": g.name, "reviewers": list(g.reviewers), "files": list(g.files),
                    "approved": g not in absent} for g in groups],
    }, text=text)
    sys.exit(1 if diagnostics else 0)
