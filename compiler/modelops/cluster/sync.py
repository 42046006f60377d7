"""`modelops sync --env ENV`: plan, then server-side apply `generated/ENV` (and prune) like terraform.

Plan: each object is fetched and compared on the fields modelops sets (`modelops.cluster.fields`): create,
update, unchanged; with `--prune`, owned objects no longer generated are listed (`modelops.cluster.prune`).
Apply: PATCH application/apply-patch+yaml with fieldManager=modelops (force only with
--force-conflicts), dryRun=All with --dry-run=server. A failing object does not stop the others;
the exit code is 1 when any failed. Errors are `path:line:col: CODE message` lines (MO7xx).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from modelops.cluster.fields import differences, without, yielded_paths
from modelops.cluster.kube import ApiError, Cluster
from modelops.cluster.prune import Key, decide, key_of, ownership_selector
from modelops.compile.emit.tree import GENERATED
from modelops.diagnostics import Diagnostic

CONFLICT, INVALID, FORBIDDEN, RETRIES, API, PRUNE_LIMIT, CLUSTER, NOT_CI, INPUT = (
    "MO701", "MO702", "MO703", "MO704", "MO705", "MO706", "MO707", "MO708", "MO709")
_SYMBOLS = {"create": "+", "update": "~", "unchanged": "=", "prune": "-"}
# Kinds that belong to GitOps controllers, never to an environment's folder.
_GITOPS_GROUPS = ("argoproj.io", "kustomize.toolkit.fluxcd.io", "source.toolkit.fluxcd.io")


@dataclass
class Desired:
    file: str  # repository-relative path of the generated file
    obj: dict[str, Any]
    line: int = 1  # where the object starts in that file


@dataclass
class Change:
    action: str  # create | update | unchanged | prune
    obj: dict[str, Any]  # what is applied (yielded fields removed), or the live object for prune
    file: str
    fields: list[str] = field(default_factory=list)
    live: dict[str, Any] | None = None
    line: int = 1

    @property
    def label(self) -> str:
        meta = self.obj.get("metadata", {})
        return f"{self.obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"

    def to_json(self) -> dict[str, Any]:
        meta = self.obj.get("metadata", {})
        return {"action": self.action, "apiVersion": self.obj.get("apiVersion"), "kind": self.obj.get("kind"),
                "namespace": meta.get("namespace"), "name": meta.get("name"), "fields": self.fields}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    prune_share: float = 0.0
    prune_allowed: bool = True

    def counts(self) -> dict[str, int]:
        return {a: sum(c.action == a for c in self.changes) for a in _SYMBOLS}


class SyncAbort(Exception):
    """A problem that stops the run before anything is changed (one diagnostic)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


# --- reading generated/ENV ---------------------------------------------------------------------


def load_desired(root: Path, env: str) -> list[Desired]:
    """Every object under generated/ENV (kustomization.yaml aside), in apply order."""
    import yaml

    from modelops.compile.emit.tree import load_documents, read_tree

    folder = root / GENERATED / env
    if not folder.is_dir():
        raise SyncAbort(Diagnostic(f"{GENERATED}/{env}", 1, 1, INPUT,
                                   f"nothing generated for environment {env!r}: run `modelops compile`"))
    found = []
    for name, text in read_tree(folder).items():
        if not name.endswith((".yaml", ".yml")) or name == "kustomization.yaml":
            continue
        file = f"{GENERATED}/{env}/{name}"
        try:
            documents = [(line, d) for line, d in load_documents(text) if d is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            message = f"not valid YAML: {exc}".splitlines()[0]
            raise SyncAbort(Diagnostic(file, line, col, INPUT, message)) from exc
        for line, obj in documents:
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("metadata", {}).get("name"):
                raise SyncAbort(Diagnostic(file, line, 1, INPUT, "not a Kubernetes object"))
            namespace = name.split("/", 1)[0] if "/" in name else None
            obj["metadata"].setdefault("namespace", namespace)
            found.append(Desired(file, obj, line))
    return sorted(found, key=lambda d: (_kind_rank(d.obj), d.file))


def _kind_rank(obj: dict[str, Any]) -> int:
    return 0 if "/" not in obj.get("apiVersion", "") else 1  # core objects (Services) before CRs


def environment_namespaces(root: Path, env: str, desired: list[Desired]) -> list[str]:
    """The env's default namespace from modelops.yaml plus every namespace it generates into."""
    from modelops.compile.pipeline import load_config

    config, _, errors = load_config(root)
    if errors or config is None:
        raise SyncAbort(errors[0] if errors else Diagnostic("modelops.yaml", 1, 1, INPUT, "cannot load"))
    if env not in config.environments:
        known = ", ".join(sorted(config.environments))
        raise SyncAbort(Diagnostic("modelops.yaml", 1, 1, INPUT,
                                   f"unknown environment {env!r} (known: {known})"))
    spaces = {config.environments[env].namespace}
    spaces |= {d.obj["metadata"]["namespace"] for d in desired if d.obj["metadata"].get("namespace")}
    return sorted(spaces)


def sync_mode(root: Path, env: str) -> str:
    from modelops.compile.pipeline import load_config

    config, _, _ = load_config(root)
    if config is None or env not in config.environments:
        return "ci"
    return getattr(config.environments[env], "sync", "ci")


def prunable_kinds(desired: list[Desired]) -> list[tuple[str, str]]:
    """(apiVersion, kind) of everything modelops may emit, plus what is in generated/ENV now."""
    from modelops.compile.emit.schemas import CORE_FILES, CRD_FILES

    kinds = {(d.obj["apiVersion"], d.obj["kind"]) for d in desired}
    kinds |= {k for k in (*CRD_FILES, *CORE_FILES) if not k[0].startswith(_GITOPS_GROUPS)}
    by_group: dict[tuple[str, str], str] = {}
    for api_version, kind in sorted(kinds):
        by_group.setdefault((api_version.rpartition("/")[0], kind), api_version)
    return sorted((v, k[1]) for k, v in by_group.items())


# --- planning ----------------------------------------------------------------------------------


def plan(cluster: Cluster, env: str, desired: list[Desired], namespaces: list[str], *, prune: bool,
         max_share: float = 0.5, allow_all: bool = False) -> Plan:
    result = Plan()
    for item in desired:
        meta = item.obj["metadata"]
        try:
            live = cluster.get(item.obj["apiVersion"], item.obj["kind"], meta.get("namespace"), meta["name"])
        except ApiError as exc:
            _unreachable(exc, env)
            result.diagnostics.append(_diagnostic(item.file, item.line, item.obj, exc, "read"))
            continue
        if live is None:
            result.changes.append(Change("create", item.obj, item.file, line=item.line))
            continue
        ignore = yielded_paths(item.obj, live)
        body = without(item.obj, ignore)
        changed = differences(body, live, ignore)
        result.changes.append(Change("update" if changed else "unchanged", body, item.file, changed, live,
                                     item.line))
    if prune:
        _plan_prune(cluster, env, desired, namespaces, result, max_share, allow_all)
    return result


def _plan_prune(cluster: Cluster, env: str, desired: list[Desired], namespaces: list[str], result: Plan,
                max_share: float, allow_all: bool) -> None:
    live: list[dict[str, Any]] = []
    folder = f"{GENERATED}/{env}"
    for api_version, kind in prunable_kinds(desired):
        for namespace in namespaces:
            try:
                items = cluster.list(api_version, kind, namespace, ownership_selector(env))
            except ApiError as exc:
                _unreachable(exc, env)
                probe = {"apiVersion": api_version, "kind": kind,
                         "metadata": {"namespace": namespace, "name": "*"}}
                result.diagnostics.append(_diagnostic(folder, 1, probe, exc, "list"))
                continue
            live.extend(items or [])
    keys: list[Key] = [key_of(d.obj) for d in desired]
    decision = decide(live, keys, env, namespaces, max_share, allow_all)
    result.prune_share, result.prune_allowed = decision.share, decision.allowed
    for obj in decision.delete:
        result.changes.append(Change("prune", obj, folder, live=obj))
    if not decision.allowed:
        result.diagnostics.append(Diagnostic(
            folder, 1, 1, PRUNE_LIMIT,
            f"refusing to prune {len(decision.delete)} of {decision.owned} objects "
            f"({decision.share:.0%} > {max_share:.0%}): check generated/{env}, or pass --prune-allow-all "
            "(or a higher --prune-max-share)"))


def _unreachable(exc: ApiError, env: str) -> None:
    if exc.status == 0:
        raise SyncAbort(Diagnostic(f"{GENERATED}/{env}", 1, 1, CLUSTER, exc.message))


def _diagnostic(file: str, line: int, obj: dict[str, Any], exc: ApiError, verb: str) -> Diagnostic:
    meta = obj.get("metadata", {})
    what = f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"
    if exc.status == 409:
        hint = " (another field manager owns these fields: fix the live object, or --force-conflicts)"
        return Diagnostic(file, line, 1, CONFLICT, f"{what}: {verb} conflict: {exc.message}{hint}")
    if exc.status == 422:
        return Diagnostic(file, line, 1, INVALID, f"{what}: rejected as invalid: {exc.message}")
    if exc.status in (401, 403):
        return Diagnostic(file, line, 1, FORBIDDEN, f"{what}: {verb} forbidden: {exc.message}")
    if exc.status in (0, 429) or exc.status >= 500:
        return Diagnostic(file, line, 1, RETRIES, f"{what}: {verb} failed after retries: {exc}")
    return Diagnostic(file, line, 1, API, f"{what}: {verb} failed: {exc}")


# --- applying ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    done: list[tuple[str, Change]] = field(default_factory=list)  # (verb, change)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def execute(cluster: Cluster, the_plan: Plan, *, force: bool, dry_run: bool) -> Outcome:
    """Apply creates and updates, then delete prunes; one failure never stops the others."""
    outcome = Outcome()
    for change in the_plan.changes:
        if change.action not in ("create", "update"):
            continue
        try:
            cluster.apply(change.obj, force=force, dry_run=dry_run)
        except ApiError as exc:
            outcome.diagnostics.append(_diagnostic(change.file, change.line, change.obj, exc, "apply"))
            continue
        outcome.done.append(({"create": "created", "update": "updated"}[change.action], change))
    if not the_plan.prune_allowed:
        return outcome
    for change in reversed([c for c in the_plan.changes if c.action == "prune"]):
        meta = change.obj.get("metadata", {})
        try:
            cluster.delete(change.obj["apiVersion"], change.obj["kind"], meta.get("namespace"), meta["name"],
                           dry_run=dry_run, uid=meta.get("uid"))
        except ApiError as exc:
            if exc.status == 404:  # gone meanwhile: that is what we wanted
                continue
            outcome.diagnostics.append(_diagnostic(change.file, change.line, change.obj, exc, "delete"))
            continue
        outcome.done.append(("pruned", change))
    return outcome


# --- the command -------------------------------------------------------------------------------


def cluster_options(command: Any) -> Any:
    """--kubeconfig, --context, --max-retries, shared by the commands that talk to a cluster."""
    command = click.option("--max-retries", type=click.IntRange(0, 10), default=4, show_default=True,
                           help="Retries on 429 and 5xx answers, with exponential backoff.")(command)
    command = click.option("--context", default=None, help="kubeconfig context (default: the current one).")(
        command)
    command = click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
                           help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster).")(
        command)
    command = click.option("--repo", "-C", "repo", type=click.Path(file_okay=False, path_type=Path),
                           default=None, help="Repository root (default: the nearest folder holding "
                           "modelops.yaml).")(command)
    return command


def connect(kubeconfig: Path | None, context: str | None, max_retries: int) -> Cluster:
    from modelops.cluster.kube import ConfigError, load_configuration

    try:
        return Cluster(load_configuration(kubeconfig, context), max_retries=max_retries)
    except ConfigError as exc:
        raise SyncAbort(Diagnostic(str(kubeconfig or "kubeconfig"), 1, 1, CLUSTER, str(exc))) from exc


def emit(diagnostics: list[Diagnostic], output: str, payload: dict[str, Any]) -> None:
    if output == "json":
        body = {"ok": not diagnostics, "diagnostics": [d.to_json() for d in diagnostics], **payload}
        click.echo(json.dumps(body, indent=2, sort_keys=True))
        return
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)


def print_plan(the_plan: Plan, env: str, namespaces: list[str]) -> None:
    click.echo(f"Plan for environment {env} (namespaces: {', '.join(namespaces)}):")
    for change in the_plan.changes:
        detail = f"  ({', '.join(change.fields)})" if change.fields else ""
        click.echo(f"  {_SYMBOLS[change.action]} {change.action:<9} {change.label}{detail}")
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
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sync_command(env: str, dry_run: str, prune: bool, prune_max_share: float, prune_allow_all: bool,
                 force_conflicts: bool, plan_only: bool, repo: Path | None, kubeconfig: Path | None,
                 context: str | None, max_retries: int, output: str) -> None:
    """Apply generated/ENV to the cluster with server-side apply (field manager `modelops`)."""
    from modelops.cli.main import _root

    root = _root(repo)
    server_dry_run = dry_run == "server"
    try:
        desired = load_desired(root, env)
        namespaces = environment_namespaces(root, env, desired)
        mode = sync_mode(root, env)
        if mode != "ci" and not (server_dry_run or plan_only):
            raise SyncAbort(Diagnostic("modelops.yaml", 1, 1, NOT_CI,
                                       f"environment {env} is synced by {mode}, not by `modelops sync` "
                                       "(--dry-run=server and --plan-only still work)"))
        cluster = connect(kubeconfig, context, max_retries)
        try:
            the_plan = plan(cluster, env, desired, namespaces, prune=prune, max_share=prune_max_share,
                            allow_all=prune_allow_all)
            refused = not the_plan.prune_allowed
            outcome = Outcome() if plan_only or refused else execute(
                cluster, the_plan, force=force_conflicts, dry_run=server_dry_run)
        finally:
            cluster.close()
    except SyncAbort as abort:
        emit([abort.diagnostic], output, {})
        sys.exit(1)
    diagnostics = sorted(set(the_plan.diagnostics + outcome.diagnostics))
    if output == "text":
        print_plan(the_plan, env, namespaces)
        suffix = " (server dry run: nothing changed)" if server_dry_run else ""
        for verb, change in outcome.done:
            click.echo(f"{verb} {change.label}{suffix}")
    emit(diagnostics, output, {
        "env": env, "dry_run": server_dry_run, "namespaces": namespaces,
        "plan": [c.to_json() for c in the_plan.changes],
        "done": [{"result": verb, **c.to_json()} for verb, c in outcome.done],
    })
    if output == "text":
        if diagnostics:
            click.echo(f"Sync of {env} failed: {len(diagnostics)} error(s); "
                       f"{len(outcome.done)} change(s) made.", err=True)
        elif not plan_only:
            click.echo(f"Sync of {env} complete: {len(outcome.done)} change(s)"
                       f"{' validated' if server_dry_run else ' made'}.")
    sys.exit(1 if diagnostics else 0)
