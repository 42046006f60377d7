"""`modelops drift --env ENV`: where the cluster differs from generated/ENV (`modelops.cluster.drift`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli import complete
from modelops.cli.options import cluster_options, output_option, repo_root
from modelops.cli.report import report

_WHAT = {"create": "missing in the cluster", "update": "differs",
         "prune": "owned by modelops but no longer generated"}


@click.command(name="drift")
@click.option("--env", "env", required=True, shell_complete=complete.environments,
              help="The environment to compare with the cluster.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the cluster drifted, like `git diff`.")
@cluster_options
@output_option
def drift_command(env: str, exit_code: bool, repo: Path | None, kubeconfig: Path | None, context: str | None,
                  max_retries: int, output: str) -> None:
    """Show live objects that differ from generated/ENV, are missing, or are owned but no longer generated."""
    from modelops.cluster.drift import drift_lines
    from modelops.cluster.sync import SyncAbort, connect, environment_namespaces, load_desired, plan
    from modelops.compile.project import Project

    root = repo_root(repo)
    try:
        desired = load_desired(root, env)
        namespaces = environment_namespaces(Project.load(root), env, desired)
        cluster = connect(kubeconfig, context, max_retries)
        try:
            result = plan(cluster, env, desired, namespaces, prune=True, allow_all=True)
        finally:
            cluster.close()
    except SyncAbort as abort:
        report("drift", output, [abort.diagnostic])
        sys.exit(1)
    drifted = [c for c in result.changes if c.action != "unchanged"]

    def text() -> None:
        for change in drifted:
            click.echo(f"{change.label}: {_WHAT[change.action]}")
            for line in drift_lines(change) if change.action == "update" else []:
                click.echo(f"    {line}")
        click.echo(f"{len(drifted)} of {len(result.changes)} object(s) drifted from generated/{env}.")

    failed = bool(result.diagnostics) or (exit_code and bool(drifted))
    report("drift", output, result.diagnostics, {
        "env": env, "drift": [{**c.to_json(), "details": drift_lines(c)} for c in drifted],
    }, text=text, ok=not failed)
    sys.exit(1 if failed else 0)
