"""`modelops diff BASE [HEAD]`: what a change does to the cluster, for reviewers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from modelops.cli import complete
from modelops.cli.options import format_option, repo_option, repo_root, resolve_crd_dir
from modelops.cli.report import report


@click.command(name="diff")
@click.argument("base", shell_complete=complete.git_refs)
@click.argument("head", required=False, shell_complete=complete.git_refs)
@repo_option
@format_option
@click.option("--show-yaml", is_flag=True, help="Also print the raw YAML diff (text format).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when something changes, like `git diff`.")
@click.option("--comment", "pull_request", type=int, default=None, metavar="PR",
              help="Post (or update) the Markdown review as a comment on this pull request "
              "(GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL). When GitHub refuses it (a read-only "
              "token, as for pull requests from forks) and $GITHUB_STEP_SUMMARY is set, the review goes "
              "to the job summary instead.")
@click.option("--gitlab-note", is_flag=True,
              help="Post (or update) the Markdown review as a note on this GitLab merge request "
              "(GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID).")
def diff_command(base: str, head: str | None, repo: Path | None, fmt: str, show_yaml: bool,
                 exit_code: bool, pull_request: int | None, gitlab_note: bool) -> None:
    """Explain what changes in the cluster between BASE and HEAD.

    BASE and HEAD are git refs; their committed generated/ trees are compared. Without HEAD, BASE is
    compared with what the working tree compiles to.
    """
    from modelops.compile.emit.tree import GENERATED
    from modelops.compile.pipeline import build
    from modelops.git.refs import files_at
    from modelops.review.changes import print_terminal, review, to_json, to_markdown

    root = repo_root(repo)
    before = files_at(root, base, GENERATED)
    if head is None:
        result = build(root, None, resolve_crd_dir(None, root))
        if result.diagnostics:
            report("diff", fmt, result.diagnostics, count=True)
            sys.exit(1)
        after = result.files
    else:
        after = files_at(root, head, GENERATED)
    outcome = review(before, after)
    if pull_request is not None:
        _comment_on_github(pull_request, to_markdown(outcome))
    if gitlab_note:
        from modelops.review.gitlab_note import from_environment, upsert_note

        request = from_environment()
        action = upsert_note(request, to_markdown(outcome))
        click.echo(f"{action} the review note on merge request !{request.iid}", err=True)
    failed = exit_code and not outcome.empty
    report("diff", fmt, [], to_json(outcome), ok=not failed,
           text=lambda: print_terminal(outcome, show_yaml), markdown=lambda: to_markdown(outcome))
    sys.exit(1 if failed else 0)


def _comment_on_github(number: int, markdown: str) -> None:
    """Post the review on the pull request; a refused comment goes to the job summary when there is one."""
    from modelops.diagnostics import Diagnostic, UserError
    from modelops.review.comment import CommentRefused, upsert_comment, write_step_summary

    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise click.UsageError("--comment needs GITHUB_REPOSITORY (owner/name)")
    try:
        action = upsert_comment(repository, number, markdown)
    except CommentRefused as refused:
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if not summary:
            raise UserError([Diagnostic(".", 1, 1, "MO031", f"{refused} for {repository}#{number}: "
                                        "the token may not comment")]) from refused
        write_step_summary(summary, markdown)
        click.echo(f"GitHub refused the comment on {repository}#{number} ({refused.status}, a read-only "
                   "token, as for pull requests from forks): the review is in the job summary", err=True)
        return
    click.echo(f"{action} the review comment on {repository}#{number}", err=True)
