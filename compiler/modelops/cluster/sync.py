"""`modelops sync --env ENV`: plan, then server-side apply `generated/ENV` (and prune) like terraform,
then (--wait) wait for readiness: `run` does all three from one `SyncRequest`.

Plan: each object is fetched and compared on the fields modelops sets (`modelops.cluster.fields`): create,
update, unchanged; with `--prune`, owned objects no longer generated are listed (`modelops.cluster.prune`).
Apply: PATCH application/apply-patch+yaml with fieldManager=modelops (force only with
--force-conflicts), dryRun=All with --dry-run=server. A failing object does not stop the others;
the exit code is 1 when any failed. Errors are `path:line:col: CODE message` lines (MO7xx).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.cluster.fields import differences, without, yielded_paths
from modelops.cluster.kube import ApiError, Cluster
from modelops.cluster.prune import Key, decide, key_of, ownership_selector
from modelops.compile.emit.tree import GENERATED
from modelops.diagnostics import Diagnostic

if TYPE_CHECKING:
    from modelops.cluster.wait import Waited
    from modelops.compile.project import Project

SYMBOLS = {"create": "+", "update": "~", "unchanged": "=", "prune": "-"}
# Kinds that belong to GitOps controllers, never to an environment's folder.
_GITOPS_GROUPS = ("argoproj.io", "kustomize.toolkit.fluxcd.io", "source.toolkit.fluxcd.io")


@dataclass
class Desired:
    file: str  # repository-relative path of the generated file
    obj: dict[str, Any]
    line: int = 1  # where the object starts in that file


def object_label(obj: dict[str, Any]) -> str:
    """`Kind namespace/name`: how plans, waits and their errors name an object."""
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


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
        return object_label(self.obj)

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
        return {a: sum(c.action == a for c in self.changes) for a in SYMBOLS}


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
        raise SyncAbort(Diagnostic(f"{GENERATED}/{env}", 1, 1, "MO709",
                                   f"nothing generated for environment {env!r}: run `modelops compile`"))
    found = []
    for name, text in read_tree(folder, f"{GENERATED}/{env}").items():
        if not name.endswith((".yaml", ".yml")) or name == "kustomization.yaml":
            continue
        file = f"{GENERATED}/{env}/{name}"
        try:
            documents = [(line, d) for line, d in load_documents(text) if d is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            message = f"not valid YAML: {exc}".splitlines()[0]
            raise SyncAbort(Diagnostic(file, line, col, "MO709", message)) from exc
        for line, obj in documents:
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("metadata", {}).get("name"):
                raise SyncAbort(Diagnostic(file, line, 1, "MO709", "not a Kubernetes object"))
            namespace = name.split("/", 1)[0] if "/" in name else None
            obj["metadata"].setdefault("namespace", namespace)
            found.append(Desired(file, obj, line))
    return sorted(found, key=lambda d: (_kind_rank(d.obj), d.file))


def _kind_rank(obj: dict[str, Any]) -> int:
    return 0 if "/" not in obj.get("apiVersion", "") else 1  # core objects (Services) before CRs


def environment_namespaces(project: Project, env: str, desired: list[Desired]) -> list[str]:
    """The env's default namespace from modelops.yaml plus every namespace it generates into."""
    config = project.config
    if project.errors or config is None:
        raise SyncAbort(project.errors[0] if project.errors
                        else Diagnostic("modelops.yaml", 1, 1, "MO709", "cannot load"))
    if env not in config.environments:
        known = ", ".join(sorted(config.environments))
        raise SyncAbort(Diagnostic("modelops.yaml", 1, 1, "MO709",
                                   f"unknown environment {env!r} (known: {known})"))
    spaces = {config.environments[env].namespace}
    spaces |= {d.obj["metadata"]["namespace"] for d in desired if d.obj["metadata"].get("namespace")}
    return sorted(spaces)


def generated_everywhere(project: Project) -> list[Key]:
    """What every environment's generated/ENV contains: prune never deletes any of it."""
    root, config = project.root, project.config
    envs = sorted(config.environments) if config is not None else []
    return [key_of(d.obj) for env in envs if (root / GENERATED / env).is_dir()
            for d in load_desired(root, env)]


def sync_mode(project: Project, env: str) -> str:
    config = project.config
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
         max_share: float = 0.5, allow_all: bool = False, everywhere: list[Key] | None = None,
         fallback: list[str] | None = None) -> Plan:
    """`everywhere`: every environment's generated objects (never pruned); `fallback`: the
    namespaces to list one by one when listing cluster-wide is forbidden."""
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
        _plan_prune(cluster, env, desired, namespaces, result, max_share, allow_all, everywhere, fallback)
    return result


def _plan_prune(cluster: Cluster, env: str, desired: list[Desired], namespaces: list[str], result: Plan,
                max_share: float, allow_all: bool, everywhere: list[Key] | None = None,
                fallback: list[str] | None = None) -> None:
    """List the env's owned objects cluster-wide (by the ownership labels), or, where listing
    cluster-wide is forbidden, in `fallback` (default: the env's namespaces), and plan deleting
    those in the env's namespaces (and of the cluster-scoped kinds it emits) that no environment
    generates any more."""
    live: list[dict[str, Any]] = []
    folder = f"{GENERATED}/{env}"
    for api_version, kind in prunable_kinds(desired):
        try:
            items = cluster.list(api_version, kind, "", ownership_selector(env))
        except ApiError as exc:
            _unreachable(exc, env)
            if exc.status != 403:
                result.diagnostics.append(_diagnostic(folder, 1, _probe(api_version, kind, "*"), exc, "list"))
                continue
            items = _list_each(cluster, api_version, kind, env, fallback or namespaces, folder, result)
        live.extend(items or [])
    keys: list[Key] = [key_of(d.obj) for d in desired] + list(everywhere or [])
    cluster_kinds = [key_of(d.obj)[:2] for d in desired if not d.obj["metadata"].get("namespace")]
    decision = decide(live, keys, env, namespaces, max_share, allow_all, cluster_kinds)
    result.prune_share, result.prune_allowed = decision.share, decision.allowed
    for obj in decision.delete:
        result.changes.append(Change("prune", obj, folder, live=obj))
    if not decision.allowed:
        result.diagnostics.append(Diagnostic(
            folder, 1, 1, "MO706",
            f"refusing to prune {len(decision.delete)} of {decision.owned} objects "
            f"({decision.share:.0%} > {max_share:.0%}): check generated/{env}, or pass --prune-allow-all "
            "(or a higher --prune-max-share)"))


def _list_each(cluster: Cluster, api_version: str, kind: str, env: str, namespaces: list[str], folder: str,
               result: Plan) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for namespace in namespaces:
        try:
            found.extend(cluster.list(api_version, kind, namespace, ownership_selector(env)) or [])
        except ApiError as exc:
            _unreachable(exc, env)
            probe = _probe(api_version, kind, namespace)
            result.diagnostics.append(_diagnostic(folder, 1, probe, exc, "list"))
    return found


def _probe(api_version: str, kind: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": "*"}}


def _unreachable(exc: ApiError, env: str) -> None:
    if exc.status == 0:
        raise SyncAbort(Diagnostic(f"{GENERATED}/{env}", 1, 1, "MO707", exc.message))


def _diagnostic(file: str, line: int, obj: dict[str, Any], exc: ApiError, verb: str) -> Diagnostic:
    meta = obj.get("metadata", {})
    what = f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"
    if exc.status == 409:
        hint = " (another field manager owns these fields: fix the live object, or --force-conflicts)"
        return Diagnostic(file, line, 1, "MO701", f"{what}: {verb} conflict: {exc.message}{hint}")
    if exc.status == 422:
        return Diagnostic(file, line, 1, "MO702", f"{what}: rejected as invalid: {exc.message}")
    if exc.status in (401, 403):
        return Diagnostic(file, line, 1, "MO703", f"{what}: {verb} forbidden: {exc.message}")
    if exc.status in (0, 429) or exc.status >= 500:
        return Diagnostic(file, line, 1, "MO704", f"{what}: {verb} failed after retries: {exc}")
    return Diagnostic(file, line, 1, "MO705", f"{what}: {verb} failed: {exc}")


# --- applying ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    done: list[tuple[str, Change]] = field(default_factory=list)  # (verb, change)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def execute(cluster: Cluster, the_plan: Plan, *, force: bool, dry_run: bool,
            on_progress: Callable[[int, int], None] | None = None) -> Outcome:
    """Apply creates and updates, then delete prunes; one failure never stops the others.
    `on_progress` gets (done, total) after each object applied or pruned."""
    outcome = Outcome()
    writes = [c for c in the_plan.changes if c.action in ("create", "update")]
    prunes = [c for c in the_plan.changes if c.action == "prune"] if the_plan.prune_allowed else []
    advance = on_progress or (lambda done, total: None)
    for done, change in enumerate(writes, 1):
        advance(done - 1, len(writes) + len(prunes))
        try:
            cluster.apply(change.obj, force=force, dry_run=dry_run)
        except ApiError as exc:
            outcome.diagnostics.append(_diagnostic(change.file, change.line, change.obj, exc, "apply"))
            continue
        outcome.done.append(({"create": "created", "update": "updated"}[change.action], change))
    for done, change in enumerate(reversed(prunes), len(writes) + 1):
        advance(done - 1, len(writes) + len(prunes))
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
    advance(len(writes) + len(prunes), len(writes) + len(prunes))
    return outcome


# --- plan -> apply -> wait ---------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRequest:
    """What one `modelops sync` is asked to do (the CLI maps its options onto it)."""

    env: str
    server_dry_run: bool = False
    prune: bool = False
    prune_max_share: float = 0.5
    prune_allow_all: bool = False
    force_conflicts: bool = False
    plan_only: bool = False
    wait: bool = False
    timeout: float = 600.0
    kubeconfig: Path | None = None
    context: str | None = None
    max_retries: int = 4


@dataclass
class Synced:
    """What a sync came to: the plan, what was applied, and (after --wait) what became ready."""

    namespaces: list[str]
    desired: list[Desired]
    plan: Plan
    outcome: Outcome
    applied: bool  # changes really made: no plan only, dry run, refused prune or error
    waited: Waited | None = None

    @property
    def diagnostics(self) -> list[Diagnostic]:
        waited = self.waited.diagnostics if self.waited else []
        return sorted(set(self.plan.diagnostics + self.outcome.diagnostics + waited))


def run(project: Project, request: SyncRequest, *, on_applied: Callable[[Synced], None] | None = None,
        progress: Callable[[str], None] = print,
        on_progress: Callable[[int, int], None] | None = None) -> Synced:
    """Plan, apply (unless plan only, or a prune is refused), then wait when asked and applied.
    `on_applied` sees the result before the wait begins, `on_progress` (done, total) as objects are
    applied; a problem before anything changes is a SyncAbort."""
    env = request.env
    desired = load_desired(project.root, env)
    namespaces = environment_namespaces(project, env, desired)
    mode = sync_mode(project, env)
    if mode != "ci" and not (request.server_dry_run or request.plan_only):
        raise SyncAbort(Diagnostic("modelops.yaml", 1, 1, "MO708",
                                   f"environment {env} is synced by {mode}, not by `modelops sync` "
                                   "(--dry-run=server and --plan-only still work)"))
    everywhere = generated_everywhere(project) if request.prune else []
    fallback = namespaces
    cluster = connect(request.kubeconfig, request.context, request.max_retries)
    try:
        the_plan = plan(cluster, env, desired, namespaces, prune=request.prune,
                        max_share=request.prune_max_share, allow_all=request.prune_allow_all,
                        everywhere=everywhere, fallback=fallback)
        refused = not the_plan.prune_allowed
        outcome = Outcome() if request.plan_only or refused else execute(
            cluster, the_plan, force=request.force_conflicts, dry_run=request.server_dry_run,
            on_progress=on_progress)
        applied = not (request.plan_only or refused or request.server_dry_run or the_plan.diagnostics
                       or outcome.diagnostics)
        synced = Synced(namespaces, desired, the_plan, outcome, applied)
        if on_applied is not None:
            on_applied(synced)
        if request.wait and applied:
            from modelops.cluster.wait import wait

            synced.waited = wait(cluster, desired, timeout=request.timeout, progress=progress)
    finally:
        cluster.close()
    return synced


# --- connecting ---------------------------------------------------------------------------------


def connect(kubeconfig: Path | None, context: str | None, max_retries: int) -> Cluster:
    from modelops.cluster.kube import ConfigError, load_configuration

    try:
        return Cluster(load_configuration(kubeconfig, context), max_retries=max_retries)
    except ConfigError as exc:
        raise SyncAbort(Diagnostic(str(kubeconfig or "kubeconfig"), 1, 1, "MO707", str(exc))) from exc
