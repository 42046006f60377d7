"""`modelops sync --env ENV`: plan, then server-side apply generated/ENV (`modelops.cluster.sync`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli.options import cluster_options, output_option, repo_root
from modelops.cli.report import report

if TYPE_CHECKING:
    from modelops.cluster.sync import Plan


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
@click.option("--env", "env", required=True, help="The environment whose generated/ENV to apply.")
@click.option("--dry-run", "dry_run", type=click.Choice(["none", "server"]), default="none",
              show_default=True, help="server: send every request with dryRun=All (webhooks judge, "
              "nothing changes).")
@click.option("--prune", is_flag=True, help="Delete owned objects of ENV that are no longer generated.")
@click.option("--prune-max-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Refuse to prune more than this share of the environment's owned objects.")
@click.option("--prune-allow-all", is_flag=True, help="Lift the prune share limit.")
@click.option("--force-conflicts", is_flag=True, help="Take ownership of fields other managers set.")
@click.option("--plan-only", is_flag=True, help="Print the plan and change nothing.")
@cluster_options
@output_option
def sync_command(env: str, dry_run: str, prune: bool, prune_max_share: float, prune_allow_all: bool,
                 force_conflicts: bool, plan_only: bool, repo: Path | None, kubeconfig: Path | None,
                 context: str | None, max_retries: int, output: str) -> None:
    """Apply generated/ENV to the cluster with server-side apply (field manager `modelops`)."""
    from modelops.cluster.sync import (
        Outcome,
        SyncAbort,
        connect,
        environment_namespaces,
        execute,
        generated_everywhere,
        known_namespaces,
        load_desired,
        plan,
        sync_mode,
    )
    from modelops.diagnostics import Diagnostic

    root = repo_root(repo)
    server_dry_run = dry_run == "server"
    try:
        desired = load_desired(root, env)
        namespaces = environment_namespaces(root, env, desired)
        mode = sync_mode(root, env)
        if mode != "ci" and not (server_dry_run or plan_only):
            raise SyncAbort(Diagnostic("modelops.yaml", 1, 1, "MO708",
                                       f"environment {env} is synced by {mode}, not by `modelops sync` "
                                       "(--dry-run=server and --plan-only still work)"))
        everywhere = generated_everywhere(root) if prune else []
        fallback = known_namespaces(root, everywhere) if prune else []
        cluster = connect(kubeconfig, context, max_retries)
        try:
            the_plan = plan(cluster, env, desired, namespaces, prune=prune, max_share=prune_max_share,
                            allow_all=prune_allow_all, everywhere=everywhere, fallback=fallback)
            refused = not the_plan.prune_allowed
            outcome = Outcome() if plan_only or refused else execute(
                cluster, the_plan, force=force_conflicts, dry_run=server_dry_run)
        finally:
            cluster.close()
    except SyncAbort as abort:
        report("sync", output, [abort.diagnostic])
        sys.exit(1)
    diagnostics = sorted(set(the_plan.diagnostics + outcome.diagnostics))

    def text() -> None:
        print_plan(the_plan, env, namespaces)
        suffix = " (server dry run: nothing changed)" if server_dry_run else ""
        for verb, change in outcome.done:
            click.echo(f"{verb} {change.label}{suffix}")

    report("sync", output, diagnostics, {
        "env": env, "dry_run": server_dry_run, "namespaces": namespaces,
        "plan": [c.to_json() for c in the_plan.changes],
        "done": [{"result": verb, **c.to_json()} for verb, c in outcome.done],
    }, text=text)
    if output == "text":
        if diagnostics:
            click.echo(f"Sync of {env} failed: {len(diagnostics)} error(s); "
                       f"{len(outcome.done)} change(s) made.", err=True)
        elif not plan_only:
            click.echo(f"Sync of {env} complete: {len(outcome.done)} change(s)"
                       f"{' validated' if server_dry_run else ' made'}.")
    sys.exit(1 if diagnostics else 0)
