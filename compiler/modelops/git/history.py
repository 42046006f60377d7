"""The past versions of a file in git history (the one walker behind the rollout gate and rollback),
and the Project that reads the model files at a ref or in their history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from modelops.compile.project import Project
from modelops.diagnostics import Diagnostic, UserError
from modelops.git.refs import files_at, git


def versions(root: Path, path: str, ref: str = "HEAD") -> Iterator[tuple[str, str]]:
    """(commit, text) of `path` at each commit reachable from `ref` that changed it, newest first.

    Commits where the file did not exist under this name (deleted, renamed) or was not UTF-8 are
    skipped; a `ref` git does not know is a user error (MO020)."""
    for commit in git(root, "log", "--format=%H", ref, "--", path).decode().split():
        try:
            text = git(root, "show", f"{commit}:{path}").decode()
        except (UserError, UnicodeDecodeError):
            continue
        yield commit, text


class GitTree:
    """Project's window on git (modelops.compile.project.GitReader) for the repository at `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def files_at(self, ref: str, folder: str) -> dict[str, str]:
        return files_at(self.root, ref, folder)

    def versions(self, path: str, ref: str) -> Iterator[tuple[str, str]]:
        return versions(self.root, path, ref)


def open_project(root: Path) -> Project:
    """The repository at `root`: its working tree's modelops.yaml, and its model files in the working
    tree, at a git ref, or in their history."""
    return Project.load(root, GitTree(root))


def past_texts(root: Path, ref: str = "HEAD") -> Callable[[str], list[str]]:
    """A history reader for `pipeline.build`: a repository-relative path's past texts at `ref`,
    newest first; none outside a git repository (the rollout gate then cannot judge)."""

    def read(path: str) -> list[str]:
        try:
            return [text for _, text in versions(root, path, ref)]
        except UserError:  # not a git repository, no commits yet, or git missing
            return []

    return read


def review_base(root: Path, base: str | None, default: str, note: Callable[[str], None]) -> str | None:
    """The commit whose history the rollout gate judges a branch by: where it left `base` (`git
    merge-base`), so the commits under review do not count as having run.

    `base` is what the user or CI named (`--base`, $BASE_REF, $GITHUB_BASE_REF: a ref, or a branch
    of the remote); a named base this clone cannot place (not fetched, shallow) is a user error, since
    judging anyway would let every change through. Without one, `default` (`<remote>/<base>`) is
    tried; when that is missing (no remote) `note` says so and HEAD's own history is used. None
    outside a git repository (nothing to judge)."""
    try:
        git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except UserError:  # not a git repository, or no commit yet
        return None
    named = base is not None
    ref = base or default
    remote = default.split("/", 1)[0]
    found = next((c for c in (ref, f"{remote}/{ref}") if _commit(root, c)), None)
    shallow = git(root, "rev-parse", "--is-shallow-repository").decode().strip() == "true"
    where = None
    if found is not None:
        try:
            where = git(root, "merge-base", found, "HEAD").decode().strip()
        except UserError:  # unrelated histories, or cut off by a shallow clone
            where = None
    if where and not shallow:
        return where
    problem = (f"{ref} is not in this clone" if found is None else
               "this clone is shallow" if shallow else f"HEAD shares no history with {ref}")
    if named:
        raise UserError([Diagnostic(".", 1, 1, "MO020", (
            f"cannot judge the rollout gate against base {ref}: {problem} (fetch the whole history: "
            "git fetch --unshallow, or actions/checkout with fetch-depth: 0)"))])
    note(f"{problem}: the rollout gate (MO405) judges against HEAD's own history, so committed "
         "changes count as deployed (give --base REF, or fetch the base branch)")
    return "HEAD"


def _commit(root: Path, ref: str) -> str | None:
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except UserError:
        return None
