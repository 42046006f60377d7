"""`modelops promote` and `modelops rollback`: a deployment change as a pull request.

Both start from `<remote>/<base>` in a temporary worktree, edit `models/MODEL.yaml` (comments and
formatting kept), recompile `generated/`, commit on a branch named after the model, environment and
version, push it and open (or update) its pull request. Running the same promotion again finds the
same branch and pull request and updates them instead of opening new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.compile.source import Document
from modelops.diagnostics import Diagnostic, UserError
from modelops.promotion.edit import EditError, Pin, Role
from modelops.promotion.registry import ModelVersion, Registry, RegistryError

if TYPE_CHECKING:
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.compile.spec import ModelSpec, RepoConfig


BODY_MARKER = "<!-- modelops-promotion -->"


@dataclass(frozen=True)
class Request:
    model: str
    env: str
    version: int | None = None
    alias: str | None = None
    from_canary: bool = False
    role: Role = "main"
    traffic: int | None = None


@dataclass
class Outcome:
    model: str
    env: str
    role: str
    version: int | None
    state: str  # nothing-to-do | local | pushed | unchanged
    branch: str | None = None
    commit: str | None = None
    pull_request: dict[str, Any] | None = None
    compare_url: str | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Context:
    root: Path
    config: RepoConfig
    config_doc: Document | None
    base: str
    crd_dir: Path | None


# --- reading the model -----------------------------------------------------------------------------

def _load(tree: Path, name: str) -> tuple[ModelSpec, Document, Path]:
    from modelops.compile.project import MODELS_DIR, load_model

    path = tree / MODELS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise UserError([Diagnostic(f"{MODELS_DIR}/{name}.yaml", 1, 1, "MO510",
                                    f"no model {name!r} on the base branch ({MODELS_DIR}/{name}.yaml)")])
    loaded, errors = load_model(path, tree)
    if loaded is None:
        raise UserError(errors)
    return loaded.spec, loaded.doc, path


def _in_env(spec: ModelSpec, doc: Document, ctx: _Context, env: str) -> ResolvedModel | None:
    from modelops.compile.resolve import resolve

    if env not in ctx.config.environments:
        raise UserError([doc.diagnostic(("name",), "MO203", f"unknown environment {env!r} (modelops.yaml "
                                        f"defines {', '.join(sorted(ctx.config.environments))})")])
    return next((m for m in resolve(spec, doc, ctx.config, ctx.config_doc) if m.env == env), None)


def mlflow_ref(variant: ResolvedVariant | None) -> tuple[str | None, int | None]:
    if variant is None:
        return None, None
    ref = variant.settings.get("artifact", "mlflow") or {}
    return ref.get("model"), ref.get("version")


def registered_name(spec: ModelSpec, deployed: ResolvedModel | None) -> str:
    """The MLflow name: autoupdate's `registered_model`, else the pinned one, else the model's name."""
    if spec.autoupdate and spec.autoupdate.registered_model:
        return spec.autoupdate.registered_model
    pinned, _ = mlflow_ref(deployed.main if deployed else None)
    return pinned or spec.name


def _canary(deployed: ResolvedModel | None) -> ResolvedVariant | None:
    if deployed is None:
        return None
    trials = [v for v in deployed.variants if v is not deployed.main and not v.shadow]
    named = [v for v in trials if v.name == "canary"]
    return named[0] if named else (trials[0] if len(trials) == 1 else None)


def _registry_error(exc: RegistryError, doc: Document, ctx: _Context) -> UserError:
    if exc.code == "MO505" and ctx.config_doc is not None:
        return UserError([ctx.config_doc.diagnostic(("mlflow",), exc.code, exc.message, key=True)])
    return UserError([doc.diagnostic(("name",), exc.code, exc.message)])


# --- the pull request -------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def metrics_table(current: ModelVersion | None, candidate: ModelVersion) -> list[str]:
    left = f"deployed (v{current.version})" if current else "deployed"
    lines = [f"| metric | {left} | candidate (v{candidate.version}) | change |", "|---|---|---|---|"]
    names = sorted(set(candidate.metrics) | set(current.metrics if current else {}))
    for name in names:
        old = current.metrics.get(name) if current else None
        new = candidate.metrics.get(name)
        change = _fmt(new - old) if old is not None and new is not None else "—"
        if change not in ("—",) and not change.startswith("-"):
            change = "+" + change
        lines.append(f"| {name} | {_fmt(old)} | {_fmt(new)} | {change} |")
    if not names:
        lines.append("| (no metrics logged on the runs) | | | |")
    return lines


def _link(registry: Registry | None, name: str, version: int | None) -> str:
    if version is None:
        return "—"
    url = registry.ui_link(name, version) if registry else None
    return f"[{name} v{version}]({url})" if url else f"{name} v{version}"


def _review_markdown(before: dict[str, str], after: dict[str, str]) -> str:
    from modelops.review.changes import MARKER, review, to_markdown

    text = to_markdown(review(before, after), title="what changes in the cluster")
    return text.replace(MARKER + "\n", "", 1)


def _rollout_text(request: Request) -> str:
    if request.role == "canary":
        return f"as a canary with {request.traffic}% of the traffic"
    if request.role == "shadow":
        return "as a shadow (a copy of the traffic, answers dropped)"
    return "as main"


def _promotion_body(request: Request, spec: ModelSpec, name: str, candidate: ModelVersion,
                    current: ModelVersion | None, pin: Pin, registry: Registry, review_md: str,
                    warning: str | None = None) -> str:
    lines = [
        BODY_MARKER,
        f"Promote **{spec.name}** to **{request.env}** {_rollout_text(request)}: MLflow "
        f"{_link(registry, name, candidate.version)} (deployed: "
        f"{_link(registry, name, current.version if current else None)}).",
        "",
        *([f"> [!WARNING]\n> {warning[0].upper()}{warning[1:]}.", ""] if warning else []),
        f"Pinned storage URI: `{pin.uri}`",
        "",
        "#### Metrics (from the MLflow runs behind the versions)",
        "",
        *metrics_table(current, candidate),
        "",
        review_md.rstrip("\n"),
        "",
        "#### How to roll back",
        "",
        "- Before merging: close this pull request and delete its branch; nothing was deployed.",
        f"- After merging: `modelops rollback {spec.name} --env {request.env}` opens a pull request "
        "back to the previously deployed version (or revert the merge commit).",
    ]
    if request.role == "canary":
        lines.append(f"- To finish the rollout: `modelops promote {spec.name} --env {request.env} "
                     "--from-canary` moves the canary's version to main and drops the canary.")
    lines += ["", f"Team: {spec.team}. Opened by `modelops promote`."]
    return "\n".join(lines) + "\n"


def _labels(spec: ModelSpec, env: str) -> list[str]:
    return [f"model:{spec.name}", f"env:{env}", f"team:{spec.team}"]


# --- the shared tail: compile, commit, push, pull request ------------------------------------------

def _compile(tree: Path, crd_dir: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    from modelops.compile.emit.tree import GENERATED, read_files, read_tree, replace_tree, write_file
    from modelops.compile.pipeline import build

    before = read_tree(tree / GENERATED)
    result = build(tree, None, crd_dir)
    if result.diagnostics:
        raise UserError(result.diagnostics)
    replace_tree(tree / GENERATED, result.files)
    current = read_files(tree, list(result.repo_files))
    for name, text in result.repo_files.items():
        if current.get(name) != text:
            write_file(tree / name, text)
    return before, result.files


def _preflight(ctx: _Context, push: bool) -> str | None:
    """What pushing needs, checked before anything is edited or pushed: a remote, and with a token
    a GitHub repository to open the pull request in. The repository (None: no token, or no push)."""
    from modelops.git import repo as gitrepo
    from modelops.promotion import pullrequest

    if not push:
        return None
    if not gitrepo.has_remote(ctx.root, ctx.config.git.remote):
        raise UserError([Diagnostic(".", 1, 1, "MO512", f"no git remote {ctx.config.git.remote!r} to push "
                                    "to: add it, set git.remote in modelops.yaml, or use --no-push")])
    repository = pullrequest.repository(ctx.root, ctx.config)
    if pullrequest.token(ctx.config.github) is not None and repository is None:
        raise UserError([Diagnostic(".", 1, 1, "MO513", "cannot tell the GitHub repository from the remote "
                                    "URL: set github.repository (owner/name) in modelops.yaml")])
    return repository


def _deliver(ctx: _Context, outcome: Outcome, commit: str, *, push: bool, title: str, body: str,
             labels: list[str], repository: str | None) -> None:
    """Push the branch and open its pull request (`_preflight` has checked what that needs)."""
    from modelops.git import repo as gitrepo
    from modelops.promotion import pullrequest

    branch = outcome.branch or ""
    settings = ctx.config.git
    if not push:
        gitrepo.set_branch(ctx.root, branch, commit)
        outcome.state, outcome.commit = "local", commit
        return
    existing = gitrepo.remote_branch(ctx.root, settings.remote, branch)
    if existing and gitrepo.tree_of(ctx.root, existing) == gitrepo.tree_of(ctx.root, commit):
        commit, outcome.state = existing, "unchanged"
    else:
        gitrepo.push(ctx.root, settings.remote, commit, branch, existing)
        outcome.state = "pushed"
    outcome.commit = commit
    gitrepo.set_branch(ctx.root, branch, commit)
    if pullrequest.token(ctx.config.github) is None or repository is None:
        if repository:
            outcome.compare_url = pullrequest.compare_url(
                ctx.config.github, repository, settings.base, branch)
        outcome.notes.append(f"{ctx.config.github.token_env} is not set: open the pull request yourself")
        return
    pr = pullrequest.open_or_update(ctx.config.github, repository, branch=branch, base=settings.base,
                                    title=title, body=body, labels=labels)
    outcome.pull_request = asdict(pr)


def _on_base(ctx: _Context, tree: Path) -> _Context:
    """The context with modelops.yaml as the base branch has it (the model file is read there too):
    an uncommitted or unmerged config change does not shape a promotion."""
    from modelops.compile.project import load_config

    config, config_doc, errors = load_config(tree)
    if config is None:
        raise UserError(errors)
    return _Context(ctx.root, config, config_doc, ctx.base, ctx.crd_dir)


def _context(root: Path, crd_dir: Path | None, *, fetch: bool) -> _Context:
    from modelops.compile.project import load_config
    from modelops.git import repo as gitrepo

    config, config_doc, errors = load_config(root)
    if config is None:
        raise UserError(errors)
    base = gitrepo.base_ref(root, config.git, remote=fetch)
    return _Context(root, config, config_doc, base, crd_dir)


# --- promote --------------------------------------------------------------------------------------

def promote(root: Path, request: Request, *, push: bool = True, crd_dir: Path | None = None,
            registry: Registry | None = None) -> Outcome:
    """Pin an MLflow version into the model file on a branch, and open its pull request."""
    from modelops.compile.emit.tree import write_file
    from modelops.git import repo as gitrepo
    from modelops.promotion.edit import pin_text

    ctx = _context(root, crd_dir, fetch=push)
    repository = _preflight(ctx, push)
    with gitrepo.worktree(root, ctx.base) as tree:
        ctx = _on_base(ctx, tree)
        spec, doc, path = _load(tree, request.model)
        deployed = _in_env(spec, doc, ctx, request.env)
        name = registered_name(spec, deployed)
        request = _choose(request, deployed, doc)
        try:
            registry = registry or Registry.from_config(root, ctx.config.mlflow)
            if request.version is not None:
                candidate = registry.version(name, request.version)
            else:
                candidate = registry.by_alias(name, request.alias or "")
            pin = Pin(registry_storage_uri(candidate, ctx), name, candidate.version)
            mlmodel = registry.mlmodel(candidate.download_uri)
        except RegistryError as exc:
            raise _registry_error(exc, doc, ctx) from exc
        outcome = Outcome(spec.name, request.env, request.role, candidate.version, "nothing-to-do")
        _check_flavor(mlmodel, candidate, spec, doc, outcome)
        current = _current(registry, deployed, name, doc, ctx)
        warning = worse_warning(spec, current, candidate)
        if warning:
            outcome.warnings.append(warning)
        if request.role != "main" and current is not None and current.version == candidate.version:
            raise UserError([doc.diagnostic(("name",), "MO511", f"version {candidate.version} already runs "
                                            f"as main in {request.env}: nothing to try as {request.role}")])
        text = path.read_text(encoding="utf-8")
        try:
            new_text = pin_text(text, request.env, sorted(ctx.config.environments), pin, request.role,
                                request.traffic)
        except EditError as exc:
            raise UserError([doc.diagnostic(("environments", request.env), "MO511", str(exc))]) from exc
        if new_text == text:
            outcome.notes.append(f"{doc.path} already deploys version {candidate.version} "
                                 f"{_rollout_text(request)} in {request.env}")
            return outcome
        write_file(path, new_text)
        before, after = _compile(tree, crd_dir)
        suffix = "" if request.role == "main" else f"-{request.role}"
        outcome.branch = f"promote/{spec.name}-{request.env}-v{candidate.version}{suffix}"
        title = f"Promote {spec.name} v{candidate.version} to {request.env} " + (
            f"({request.role}, {request.traffic}%)" if request.role == "canary" else f"({request.role})")
        body = _promotion_body(request, spec, name, candidate, current, pin, registry,
                               _review_markdown(before, after), warning)
        commit = gitrepo.commit_all(tree, f"{title}\n\n{body}")
        assert commit is not None
    _deliver(ctx, outcome, commit, push=push, title=title, body=body, labels=_labels(spec, request.env),
             repository=repository)
    return outcome


def registry_storage_uri(candidate: ModelVersion, ctx: _Context) -> str:
    from modelops.promotion.registry import storage_uri

    return storage_uri(candidate.download_uri, ctx.config.mlflow)


def _choose(request: Request, deployed: ResolvedModel | None, doc: Document) -> Request:
    """Resolve --from-canary into the canary's version, promoted to main."""
    if not request.from_canary:
        return request
    canary = _canary(deployed)
    _, version = mlflow_ref(canary)
    if canary is None or version is None:
        raise UserError([doc.diagnostic(("environments", request.env), "MO511",
                                        f"no canary with a pinned MLflow version runs in {request.env}")])
    return Request(request.model, request.env, version=version, role="main")


def _check_flavor(mlmodel: str | None, candidate: ModelVersion, spec: ModelSpec, doc: Document,
                  outcome: Outcome) -> None:
    from modelops.promotion.registry import flavor_problem, skops_problem

    if mlmodel is None:
        outcome.notes.append("the MLmodel file is not readable from here: its flavor was not checked")
        return
    mismatch = flavor_problem(mlmodel, str(spec.framework))
    if mismatch:
        raise UserError([doc.diagnostic(("framework",), "MO509",
                                        f"{candidate.name} version {candidate.version} {mismatch}")])
    problem = skops_problem(mlmodel)
    if problem:
        raise UserError([doc.diagnostic(("name",), "MO503",
                                        f"{candidate.name} version {candidate.version} {problem}")])


def worse_warning(spec: ModelSpec, current: ModelVersion | None, candidate: ModelVersion) -> str | None:
    """A warning when the candidate is worse than what runs on the model's own metric
    (`autoupdate.metric` and `direction`)."""
    policy = spec.autoupdate
    if policy is None or current is None or current.version == candidate.version:
        return None
    old, new = current.metrics.get(policy.metric), candidate.metrics.get(policy.metric)
    if old is None or new is None:
        return None
    worse = new > old if policy.direction == "minimize" else new < old
    if not worse:
        return None
    return (f"version {candidate.version} is worse than the running version {current.version} on "
            f"{policy.metric} ({_fmt(new)} against {_fmt(old)}, autoupdate.direction: {policy.direction})")


def _current(registry: Registry, deployed: ResolvedModel | None, name: str, doc: Document,
             ctx: _Context) -> ModelVersion | None:
    model, version = mlflow_ref(deployed.main if deployed else None)
    if version is None:
        return None
    try:
        return registry.version(model or name, version)
    except RegistryError as exc:
        if exc.code == "MO502":
            return None
        raise _registry_error(exc, doc, ctx) from exc


# --- rollback -------------------------------------------------------------------------------------

def previous_deployment(ctx: _Context, spec_name: str, env: str, current: Pin) -> tuple[Pin, str] | None:
    """The main artifact `env` ran before `current`, from the git history of the model file."""
    from modelops.compile.project import MODELS_DIR, Project
    from modelops.git.history import GitTree

    project = Project(ctx.root, ctx.config, ctx.config_doc, [], GitTree(ctx.root))
    for commit, past in project.past(f"{MODELS_DIR}/{spec_name}.yaml", env, ctx.base):
        if past is None:
            continue
        uri = past.main.settings.get("artifact", "uri")
        model, version = mlflow_ref(past.main)
        if uri and uri != current.uri:
            return Pin(uri, model if version is not None else None, version), commit
    return None


def _trial_label(variant: ResolvedVariant) -> str:
    _, version = mlflow_ref(variant)
    kind = "shadow" if variant.shadow else "canary"
    return f"{kind} {variant.name!r} ({f'version {version}' if version is not None else _uri(variant)})"


def _uri(variant: ResolvedVariant) -> str:
    return str(variant.settings.get("artifact", "uri"))


def rollback(root: Path, model: str, env: str, *, main: bool = False, push: bool = True,
             crd_dir: Path | None = None) -> Outcome:
    """A pull request that aborts the canary or shadow `env` runs (main stays), or, with `main` or
    when no trial runs, moves `env`'s main variant back to the artifact it ran before (and drops
    any trial)."""
    from modelops.compile.emit.tree import write_file
    from modelops.git import repo as gitrepo
    from modelops.promotion.edit import abort_text, pin_text

    ctx = _context(root, crd_dir, fetch=push)
    repository = _preflight(ctx, push)
    with gitrepo.worktree(root, ctx.base) as tree:
        ctx = _on_base(ctx, tree)
        envs = sorted(ctx.config.environments)
        spec, doc, path = _load(tree, model)
        deployed = _in_env(spec, doc, ctx, env)
        if deployed is None or not deployed.main.settings.get("artifact", "uri"):
            raise UserError([doc.diagnostic(("name",), "MO514", f"{model} does not run in {env}")])
        name, version = mlflow_ref(deployed.main)
        now = Pin(_uri(deployed.main), name, version)
        running = [v for v in deployed.variants if v is not deployed.main]
        trial_text = ", ".join(_trial_label(v) for v in running)
        text = path.read_text(encoding="utf-8")
        try:
            aborted = abort_text(text, env, envs) if running else text
        except EditError as exc:
            raise UserError([doc.diagnostic(("environments", env), "MO511", str(exc))]) from exc
        if running and not main:
            outcome = Outcome(spec.name, env, "abort", version, "nothing-to-do")
            outcome.notes.append(f"aborting the {trial_text} in {env}; main stays at {now.label()} "
                                 "(rollback --main moves main back as well)")
            write_file(path, aborted)
            _, trial_version = mlflow_ref(running[0])
            tag = f"v{trial_version}" if trial_version is not None else "trial"
            outcome.branch = f"rollback/{spec.name}-{env}-abort-{tag}"
            title = f"Abort the {trial_text} of {spec.name} in {env}"
            summary = (f"Abort the {trial_text} of **{spec.name}** in **{env}**: main keeps "
                       f"{now.label()} (`{now.uri}`) and takes all the traffic.")
        else:
            found = previous_deployment(ctx, spec.name, env, now)
            if found is None:
                raise UserError([doc.diagnostic(("name",), "MO514", f"the git history of {doc.path} shows "
                                                f"no earlier artifact for {env}'s main variant")])
            previous, commit_seen = found
            outcome = Outcome(spec.name, env, "main", previous.version, "nothing-to-do")
            if running:
                outcome.notes.append(f"the {trial_text} in {env} is dropped as well")
            write_file(path, pin_text(aborted, env, envs, previous, "main"))
            tag = (f"v{previous.version}" if previous.version is not None
                   else gitrepo.rev(root, commit_seen)[:8])
            outcome.branch = f"rollback/{spec.name}-{env}-{tag}"
            title = f"Roll back {spec.name} in {env} to {previous.label()}"
            summary = (f"Roll back **{spec.name}** in **{env}**: main goes from {now.label()} (`{now.uri}`) "
                       f"back to {previous.label()} (`{previous.uri}`), as deployed in commit "
                       f"{commit_seen[:12]}." + (f" The {trial_text} is dropped." if running else ""))
        before, after = _compile(tree, crd_dir)
        body = "\n".join([
            BODY_MARKER,
            summary,
            "",
            _review_markdown(before, after).rstrip("\n"),
            "",
            f"Team: {spec.team}. Opened by `modelops rollback`.",
        ]) + "\n"
        commit = gitrepo.commit_all(tree, f"{title}\n\n{body}")
        assert commit is not None
    _deliver(ctx, outcome, commit, push=push, title=title, body=body,
             labels=[*_labels(spec, env), "rollback"], repository=repository)
    return outcome


# --- a change `modelops rollout` decided ----------------------------------------------------------

def propose(root: Path, model: str, env: str, change: Callable[[str, list[str]], str], *, branch: str,
            title: str, summary: str, labels: list[str], role: str, push: bool = True,
            crd_dir: Path | None = None, auto_merge: bool = False) -> Outcome:
    """A promotion-style pull request for an edit decided elsewhere (`modelops rollout`'s steps):
    `change(text, envs)` rewrites the model file on the base branch; the result is compiled,
    committed on `branch`, pushed, and its pull request opened (body: `summary` and what changes in
    the cluster), asking GitHub to merge it when its checks pass with `auto_merge`."""
    from modelops.compile.emit.tree import write_file
    from modelops.git import repo as gitrepo
    from modelops.promotion import pullrequest

    ctx = _context(root, crd_dir, fetch=push)
    repository = _preflight(ctx, push)
    with gitrepo.worktree(root, ctx.base) as tree:
        ctx = _on_base(ctx, tree)
        spec, doc, path = _load(tree, model)
        text = path.read_text(encoding="utf-8")
        try:
            new_text = change(text, sorted(ctx.config.environments))
        except EditError as exc:
            raise UserError([doc.diagnostic(("environments", env), "MO511", str(exc))]) from exc
        outcome = Outcome(spec.name, env, role, None, "nothing-to-do", branch=branch)
        if new_text == text:
            return outcome
        write_file(path, new_text)
        before, after = _compile(tree, crd_dir)
        body = "\n".join([BODY_MARKER, summary.rstrip("\n"), "", _review_markdown(before, after).rstrip("\n"),
                          "", f"Team: {spec.team}. Opened by `modelops rollout`."]) + "\n"
        commit = gitrepo.commit_all(tree, f"{title}\n\n{body}")
        assert commit is not None
    _deliver(ctx, outcome, commit, push=push, title=title, body=body, labels=[*_labels(spec, env), *labels],
             repository=repository)
    if auto_merge and outcome.pull_request and repository:
        pullrequest.enable_auto_merge(ctx.config.github, repository, int(outcome.pull_request["number"]))
        outcome.notes.append("auto-merge requested: GitHub merges it when its checks and approvals pass")
    return outcome
