"""`modelops sync --env ENV`: plan, then server-side apply generated/ENV (`modelops.cluster.sync`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli.options import cluster_options, output_option, repo_root
from modelops.cli.report import report

if TYPE_CHECKING:
    from modelops.cluster.kube import Cluster
    from modelops.cluster.sync import Desired, Outcome, Plan
    from modelops.cluster.wait import Waited
    from modelops.diagnostics import Diagnostic
    from modelops.promotion.notify import Report

_UNITS = {"s": 1, "m": 60, "h": 3600}


class Duration(click.ParamType[float]):
    """Seconds, or a number with s, m or h (`90`, `90s`, `10m`, `1h`)."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip().lower()
        unit = _UNITS.get(text[-1:], 0)
        try:
            seconds = float(text[:-1] if unit else text) * (unit or 1)
        except ValueError:
            self.fail(f"{value!r} is not a duration like 90s, 10m or 1h", param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} must be more than zero", param, ctx)
        return seconds


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
@click.option("--wait", "wait_ready", is_flag=True,
              help="After applying, wait until every SeldonDeployment, Core 2 Model/Experiment and "
              "InferenceService is ready; then report each changed model (notify: in modelops.yaml).")
@click.option("--timeout", type=Duration(), default="10m", show_default=True,
              help="How long --wait waits (90s, 10m, 1h).")
@click.option("--mlflow/--no-mlflow", "follow", default=None,
              help="Point MLflow aliases and tags at what now runs (default: mlflow.follow_sync).")
@cluster_options
@output_option
def sync_command(env: str, dry_run: str, prune: bool, prune_max_share: float, prune_allow_all: bool,
                 force_conflicts: bool, plan_only: bool, wait_ready: bool, timeout: float,
                 follow: bool | None, repo: Path | None, kubeconfig: Path | None,
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
            applied = not (plan_only or refused or server_dry_run or the_plan.diagnostics
                           or outcome.diagnostics)
            waited = _wait(cluster, desired, timeout, output) if wait_ready and applied else None
        finally:
            cluster.close()
    except SyncAbort as abort:
        report("sync", output, [abort.diagnostic])
        sys.exit(1)
    diagnostics = sorted(set(the_plan.diagnostics + outcome.diagnostics
                             + (waited.diagnostics if waited else [])))
    after: list[str] = []
    if applied:
        after, late = _after_sync(root, env, desired, outcome, waited, follow, not diagnostics)
        diagnostics = sorted(set(diagnostics + late))

    def text() -> None:
        print_plan(the_plan, env, namespaces)
        suffix = " (server dry run: nothing changed)" if server_dry_run else ""
        for verb, change in outcome.done:
            click.echo(f"{verb} {change.label}{suffix}")
        for line in after:
            click.echo(line)

    report("sync", output, diagnostics, {
        "env": env, "dry_run": server_dry_run, "namespaces": namespaces,
        "plan": [c.to_json() for c in the_plan.changes],
        "done": [{"result": verb, **c.to_json()} for verb, c in outcome.done],
        "ready": [c.obj["metadata"]["name"] for c in waited.ready] if waited else None,
        "after": after,
    }, text=text)
    if output == "text":
        if diagnostics:
            click.echo(f"Sync of {env} failed: {len(diagnostics)} error(s); "
                       f"{len(outcome.done)} change(s) made.", err=True)
        elif not plan_only:
            click.echo(f"Sync of {env} complete: {len(outcome.done)} change(s)"
                       f"{' validated' if server_dry_run else ' made'}.")
    sys.exit(1 if diagnostics else 0)


def _wait(cluster: Cluster, desired: list[Desired], timeout: float, output: str) -> Waited:
    from modelops.cluster.wait import wait

    def progress(line: str) -> None:
        click.echo(line, err=output != "text")  # JSON output keeps stdout for the envelope

    return wait(cluster, desired, timeout=timeout, progress=progress)


def _after_sync(root: Path, env: str, desired: list[Desired], outcome: Outcome, waited: Waited | None,
                follow: bool | None, healthy: bool) -> tuple[list[str], list[Diagnostic]]:
    """MLflow follows git (when healthy), then the word back (after --wait): lines and errors."""
    from modelops.compile.project import load_config
    from modelops.diagnostics import Diagnostic, UserError
    from modelops.git.repo import rev

    config, _, _ = load_config(root)
    following = healthy and config is not None and (config.mlflow.follow_sync if follow is None else follow)
    if config is None or not (following or waited is not None):
        return [], []
    lines: list[str] = []
    errors: list[Diagnostic] = []
    try:
        commit = rev(root, "HEAD")
    except UserError as exc:
        if not (following or config.notify.github_deployments):
            commit = ""  # a webhook alone does not need the commit
        else:
            return [], [Diagnostic(".", 1, 1, "MO020", f"MLflow aliases and reports name the synced commit: "
                                                       f"{exc.diagnostics[0].message}")]
    if following:
        from modelops.promotion.follow import deployed, known_names, running
        from modelops.promotion.follow import follow as follow_git
        from modelops.promotion.registry import Registry, RegistryError

        models = deployed(root)
        try:
            done = follow_git(Registry.from_config(root, config.mlflow), env, running(models, env),
                              known_names(models), commit)
        except RegistryError as exc:
            errors.append(Diagnostic("modelops.yaml", 1, 1, exc.code, exc.message))
        else:
            lines += [f"mlflow: {item}" for item in done.set]
            lines += [f"mlflow: removed {item}" for item in done.removed]
    if waited is not None:
        from modelops.promotion.notify import send

        try:
            lines += send(root, config, _reports(root, env, outcome, waited, commit))
        except UserError as exc:
            errors += exc.diagnostics
    return lines, errors


def _reports(root: Path, env: str, outcome: Outcome, waited: Waited, commit: str) -> list[Report]:
    """One report per model whose serving object this sync created or updated."""
    from modelops.cluster.readiness import awaited
    from modelops.git.refs import git
    from modelops.labels import LABEL_NAME, LABEL_VERSION
    from modelops.promotion.notify import Report, pull_request_of

    number = pull_request_of(git(root, "log", "-1", "--format=%s", commit).decode()) if commit else None
    reports: dict[str, Report] = {}
    for _, change in outcome.done:
        if change.action not in ("create", "update") or not awaited(change.obj):
            continue
        labels = change.obj["metadata"].get("labels") or {}
        model = labels.get(LABEL_NAME) or change.obj["metadata"]["name"]
        failure = waited.failures.get(change.label)
        if model in reports and reports[model].result == "failure":
            continue
        reports[model] = Report(model, str(labels.get(LABEL_VERSION, "?")), env,
                                "failure" if failure else "success", failure or "", commit, number)
    return [reports[name] for name in sorted(reports)]
