"""`modelops diff BASE [HEAD]`: what a change does to the cluster, for reviewers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from modelops.cli.options import format_option, repo_option, repo_root, resolve_crd_dir
from modelops.cli.report import report


@click.command(name="diff")
@click.argument("base")
@click.argument("head", required=False)
@repo_option
@format_option
@click.option("--show-yaml", is_flag=True, help="Also print the raw YAML diff (text format).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when something changes, like `git diff`.")
@click.option("--comment", "pull_request", type=int, default=None, metavar="PR",
              help="Post (or update) the Markdown review as a comment on this pull request "
              "(GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL).")
def diff_command(base: str, head: str | None, repo: Path | None, fmt: str, show_yaml: bool,
                 exit_code: bool, pull_request: int | None) -> None:
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
        from modelops.review.comment import upsert_comment

        repository = os.environ.get("GITHUB_REPOSITORY", "")
        if not repository:
            raise click.UsageError("--comment needs GITHUB_REPOSITORY (owner/name)")
        action = upsert_comment(repository, pull_request, to_markdown(outcome))
        click.echo(f"{action} the review comment on {repository}#{pull_request}", err=True)
    failed = exit_code and not outcome.empty
    report("diff", fmt, [], to_json(outcome), ok=not failed,
           text=lambda: print_terminal(outcome, show_yaml), markdown=lambda: to_markdown(outcome))
    sys.exit(1 if failed else 0)
