"""`modelops sync --env ENV`: plan, then server-side apply generated/ENV (`modelops.cluster.sync`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli import complete
from modelops.cli.options import DurationType, cluster_options, output_option, repo_root
from modelops.cli.report import report

if TYPE_CHECKING:
    from modelops.cluster.sync import Plan, Synced, SyncRequest
    from modelops.compile.duration import Duration
    from modelops.diagnostics import Diagnostic


def print_plan(the_plan: Plan, env: str, namespaces: list[str]) -> None:
    from modelops.cluster.sync import SYMBOLS

    click.echo(f"Plan for environment {env} (namespaces: {', '.join(namespaces)}):")
    for change in the_plan.changes:
        detail = f"  ({', '.join(change.fields)})" if change.fields else ""
        click.echo(f"  {SYMBOLS[change.action]} {change.action:<9} {change.label}{detail}")
    counts = the_plan.counts()
    click.echo(f"Plan: {counts['create']} to create, {counts['update']} to update, "
               f"{counts['unchanged']} unchanged, {counts['prune']} to prune.")


@click.command(name="sync")
@click.option("--env", "env", required=True, shell_complete=complete.environments,
              help="The environment whose generated/ENV to apply.")
@click.option("--dry-run", "dry_run", type=click.Choice(["none", "server"]), default="none",
              is_flag=False, flag_value="server", show_default=True,
              help="Send every request with dryRun=All: webhooks judge, nothing changes "
              "(`--dry-run` alone is `--dry-run=server`).")
@click.option("--prune", is_flag=True, help="Delete owned objects of ENV that are no longer generated.")
@click.option("--prune-max-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Refuse to prune more than this share of the environment's owned objects.")
@click.option("--prune-allow-all", is_flag=True, help="Lift the prune share limit.")
@click.option("--force-conflicts", is_flag=True, help="Take ownership of fields other managers set.")
@click.option("--plan-only", is_flag=True, help="Print the plan and change nothing.")
@click.option("--wait", "wait_ready", is_flag=True,
              help="After applying, wait until every SeldonDeployment, Core 2 Model/Experiment and "
              "InferenceService is ready; then report each changed model (notify: in modelops.yaml).")
@click.option("--timeout", type=DurationType(positive=True), default="10m", show_default=True,
              help="How long --wait waits (90s, 10m, 1h).")
@click.option("--mlflow/--no-mlflow", "follow", default=None,
              help="Point MLflow aliases and tags at what now runs (default: mlflow.follow_sync).")
@cluster_options
@output_option
def sync_command(env: str, dry_run: str, prune: bool, prune_max_share: float, prune_allow_all: bool,
                 force_conflicts: bool, plan_only: bool, wait_ready: bool, timeout: Duration,
                 follow: bool | None, repo: Path | None, kubeconfig: Path | None,
                 context: str | None, max_retries: int, output: str) -> None:
    """Apply generated/ENV to the cluster with server-side apply (field manager `modelops`)."""
    from modelops.cli.progress import progress_bar
    from modelops.cluster.sync import SyncAbort, SyncRequest, run
    from modelops.compile.project import Project
    from modelops.promotion.follow import after_sync

    project = Project.load(repo_root(repo))
    request = SyncRequest(env, server_dry_run=dry_run == "server", prune=prune,
                          prune_max_share=prune_max_share, prune_allow_all=prune_allow_all,
                          force_conflicts=force_conflicts, plan_only=plan_only, wait=wait_ready,
                          timeout=timeout.seconds, kubeconfig=kubeconfig, context=context,
                          max_retries=max_retries)

    def progress(line: str) -> None:
        click.echo(line, err=output != "text")  # JSON output keeps stdout for the envelope

    def applied(synced: Synced) -> None:  # text output: the plan and the changes come before any wait
        print_applied(synced, request)

    try:
        with progress_bar(f"Applying to {env}", output) as on_progress:
            synced = run(project, request, on_applied=applied if output == "text" else None,
                         progress=progress, on_progress=on_progress)
    except SyncAbort as abort:
        report("sync", output, [abort.diagnostic])
        sys.exit(1)
    diagnostics = synced.diagnostics
    after: list[str] = []
    if synced.applied:
        after, late = after_sync(project, env, synced, follow)
        diagnostics = sorted(set(diagnostics + late))
    _report(request, synced, diagnostics, after, output)


def print_applied(synced: Synced, request: SyncRequest) -> None:
    """The plan, then each change made."""
    print_plan(synced.plan, request.env, synced.namespaces)
    suffix = " (server dry run: nothing changed)" if request.server_dry_run else ""
    for verb, change in synced.outcome.done:
        click.echo(f"{verb} {change.label}{suffix}")


def _report(request: SyncRequest, synced: Synced, diagnostics: list[Diagnostic], after: list[str],
            output: str) -> None:
    """The result (the plan was printed already under text output), the closing line, the exit."""
    env, done, waited = request.env, synced.outcome.done, synced.waited

    def text() -> None:
        for line in after:
            click.echo(line)

    report("sync", output, diagnostics, {
        "env": env, "dry_run": request.server_dry_run, "namespaces": synced.namespaces,
        "plan": [c.to_json() for c in synced.plan.changes],
        "done": [{"result": verb, **c.to_json()} for verb, c in done],
        "ready": [c.obj["metadata"]["name"] for c in waited.ready] if waited else None,
        "after": after,
    }, text=text)
    if output == "text":
        if diagnostics:
            click.echo(f"Sync of {env} failed: {len(diagnostics)} error(s); "
                       f"{len(done)} change(s) made.", err=True)
        elif not request.plan_only:
            click.echo(f"Sync of {env} complete: {len(done)} change(s)"
                       f"{' validated' if request.server_dry_run else ' made'}.")
    sys.exit(1 if diagnostics else 0)
