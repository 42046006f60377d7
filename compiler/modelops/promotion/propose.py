"""The one engine for proposing a change to one model file in one environment, as a pull request.

`promote`, `rollback`, `autoupdate` (through promote) and `rollout` decide the edit; `propose` does the
rest, in this order: check what pushing needs (a remote, a GitHub repository when a token is set), open
a worktree of the base branch, load the Project there (modelops.yaml as the base branch has it), let the
caller's `decide` edit the model file's text, compile `generated/` with the output writer, describe the
change for the reviewer, commit, push the branch and open or update its pull request. The user's checkout
is never touched; running the same proposal again finds the same branch and pull request and updates
them instead of opening new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic, UserError
from modelops.promotion.edit import EditError

if TYPE_CHECKING:
    from modelops.compile.project import Project
    from modelops.compile.resolve import ResolvedModel
    from modelops.compile.source import Document
    from modelops.compile.spec import ModelSpec, RepoConfig


@dataclass
class Outcome:
    """What a proposal came to."""

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


@dataclass(frozen=True)
class Origin:
    """The user's repository (its Project, read through git) and the base ref a proposal starts from."""

    project: Project
    base: str

    @classmethod
    def of(cls, where: Path | Origin, *, fetch: bool) -> Origin:
        """`where` as it is, or the repository at that path with its base ref (fetched with `fetch`)."""
        if isinstance(where, Origin):
            return where
        from modelops.git.history import open_project

        return cls.at(open_project(where), fetch=fetch)

    @classmethod
    def at(cls, project: Project, *, fetch: bool) -> Origin:
        """A loaded Project and `<remote>/<base>` (fetched with `fetch`, else the local base branch)."""
        from modelops.git import repo as gitrepo

        return cls(project, gitrepo.base_ref(project.root, project.require().git, remote=fetch))

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def config(self) -> RepoConfig:
        return self.project.require()


@dataclass(frozen=True)
class Target:
    """The model file to change, as the base branch has it, in a worktree of the base branch."""

    origin: Origin
    project: Project  # the worktree's: modelops.yaml as the base branch has it
    env: str
    spec: ModelSpec
    doc: Document
    path: Path
    text: str

    @property
    def config(self) -> RepoConfig:
        return self.project.require()

    @property
    def envs(self) -> list[str]:
        return sorted(self.config.environments)

    def error(self, loc: tuple[str | int, ...], code: str, message: str) -> UserError:
        """A user error at `loc` of the model file."""
        return UserError([self.doc.diagnostic(loc, code, message)])

    def deployed(self) -> ResolvedModel | None:
        """The model in the target environment on the base branch (None: it does not deploy there);
        an environment modelops.yaml does not define is a user error (MO203)."""
        from modelops.compile.resolve import resolve

        known = self.config.environments
        if self.env not in known:
            raise self.error(("name",), "MO203", f"unknown environment {self.env!r} (modelops.yaml "
                             f"defines {', '.join(sorted(known))})")
        models = resolve(self.spec, self.doc, self.config, self.project.config_doc)
        return next((m for m in models if m.env == self.env), None)


@dataclass
class Proposal:
    """What a caller decided: the new text of the model file (the old one: nothing to do, `outcome` is
    returned as it is) and the pull request that carries it; `outcome.branch` names the branch."""

    outcome: Outcome
    text: str
    title: str = ""
    summary: str = ""  # Markdown above what changes in the cluster
    after: str = ""  # Markdown below it (how to roll back, what comes next)
    labels: list[str] = field(default_factory=list)  # beside model:, env: and team:
    command: str = "promote"  # the command named as having opened it


Decide = Callable[[Target], Proposal]


def propose(origin: Origin, model: str, env: str, decide: Decide, *, push: bool = True,
            crd_dir: Path | None = None, auto_merge: bool = False) -> Outcome:
    """Propose the edit `decide` makes to `models/<model>.yaml` in `env` as a pull request (a local
    branch without `push`), asking GitHub to merge it when its checks pass with `auto_merge`."""
    from modelops.git import repo as gitrepo
    from modelops.git.history import open_project

    repository = preflight(origin, push)
    with gitrepo.worktree(origin.root, origin.base) as tree:
        target = _target(origin, open_project(tree), model, env)
        try:
            proposal = decide(target)
        except EditError as exc:
            raise target.error(("environments", env), "MO511", str(exc)) from exc
        if proposal.text == target.text:
            return proposal.outcome
        body, commit = _commit(target, proposal, crd_dir)
    outcome = proposal.outcome
    deliver(origin, outcome, commit, push=push, title=proposal.title, body=body,
            labels=[f"model:{target.spec.name}", f"env:{env}", f"team:{target.spec.team}", *proposal.labels],
            repository=repository)
    if auto_merge and outcome.pull_request and repository:
        from modelops.promotion import pullrequest

        pullrequest.enable_auto_merge(origin.config.github, repository, int(outcome.pull_request["number"]))
        outcome.notes.append("auto-merge requested: GitHub merges it when its checks and approvals pass")
    return outcome


def _target(origin: Origin, project: Project, model: str, env: str) -> Target:
    from modelops.compile.project import MODELS_DIR, load_model

    project.require()
    path = project.root / MODELS_DIR / f"{model}.yaml"
    if not path.is_file():
        raise UserError([Diagnostic(f"{MODELS_DIR}/{model}.yaml", 1, 1, "MO510",
                                    f"no model {model!r} on the base branch ({MODELS_DIR}/{model}.yaml)")])
    loaded, errors = load_model(path, project.root)
    if loaded is None:
        raise UserError(errors)
    return Target(origin, project, env, loaded.spec, loaded.doc, path, path.read_text(encoding="utf-8"))


def _commit(target: Target, proposal: Proposal, crd_dir: Path | None) -> tuple[str, str]:
    """Write the new text, compile, describe and commit in the worktree: (body, commit)."""
    from modelops.compile.emit.tree import GENERATED, write_file
    from modelops.git import repo as gitrepo
    from modelops.promotion import pullrequest

    write_file(target.path, proposal.text)
    before, after, written = compile_tree(target.project, crd_dir)
    body = pullrequest.body(proposal.summary, pullrequest.review_markdown(before, after), proposal.after,
                            team=target.spec.team, command=proposal.command)
    root = target.project.root
    changed = [target.path.relative_to(root).as_posix(), GENERATED, *written]  # not the render cache
    commit = gitrepo.commit_all(root, f"{proposal.title}\n\n{body}", changed)
    assert commit is not None  # the model file changed
    return body, commit


def compile_tree(project: Project, crd_dir: Path | None) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Compile the project and write `generated/` and the repository files with the output writer
    (`compile.emit.tree`): generated/ before and after, and the repository files (CODEOWNERS...)."""
    from modelops.compile.emit.tree import GENERATED, read_tree, replace_tree, write_repo_files
    from modelops.compile.pipeline import build

    root = project.root
    before = read_tree(root / GENERATED)
    result = build(root, None, crd_dir, project=project)
    if result.diagnostics:
        raise UserError(result.diagnostics)
    replace_tree(root / GENERATED, result.files)
    write_repo_files(root, result.repo_files)
    return before, result.files, sorted(result.repo_files)


def preflight(origin: Origin, push: bool) -> str | None:
    """What pushing needs, checked before anything is edited or pushed: a remote, and with a token
    a GitHub repository to open the pull request in. The repository (None: no token, or no push)."""
    from modelops.git import repo as gitrepo
    from modelops.promotion import pullrequest

    if not push:
        return None
    config = origin.config
    if not gitrepo.has_remote(origin.root, config.git.remote):
        raise UserError([Diagnostic(".", 1, 1, "MO512", f"no git remote {config.git.remote!r} to push "
                                    "to: add it, set git.remote in modelops.yaml, or use --no-push")])
    repository = pullrequest.repository(origin.root, config)
    if pullrequest.token(config.github) is not None and repository is None:
        raise UserError([Diagnostic(".", 1, 1, "MO513", "cannot tell the GitHub repository from the remote "
                                    "URL: set github.repository (owner/name) in modelops.yaml")])
    return repository


def deliver(origin: Origin, outcome: Outcome, commit: str, *, push: bool, title: str, body: str,
            labels: list[str], repository: str | None) -> None:
    """Push the branch and open its pull request (`preflight` has checked what that needs)."""
    from modelops.git import repo as gitrepo
    from modelops.promotion import pullrequest

    root, branch, config = origin.root, outcome.branch or "", origin.config
    if not push:
        gitrepo.set_branch(root, branch, commit)
        outcome.state, outcome.commit = "local", commit
        return
    existing = gitrepo.remote_branch(root, config.git.remote, branch)
    if existing and gitrepo.tree_of(root, existing) == gitrepo.tree_of(root, commit):
        commit, outcome.state = existing, "unchanged"
    else:
        gitrepo.push(root, config.git.remote, commit, branch, existing)
        outcome.state = "pushed"
    outcome.commit = commit
    gitrepo.set_branch(root, branch, commit)
    if pullrequest.token(config.github) is None or repository is None:
        if repository:
            outcome.compare_url = pullrequest.compare_url(config.github, repository, config.git.base, branch)
        outcome.notes.append(f"{config.github.token_env} is not set: open the pull request yourself")
        return
    pr = pullrequest.open_or_update(config.github, repository, branch=branch, base=config.git.base,
                                    title=title, body=body, labels=labels)
    outcome.pull_request = asdict(pr)
