"""Git for promotions: a throwaway worktree on the base branch, a commit, a branch, a push.

The user's checkout is never touched: promotions are built in a temporary worktree of
`<remote>/<base>` (fetched first), so a half-done promotion leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.diagnostics import UserError
from modelops.git.refs import git

if TYPE_CHECKING:
    from modelops.compile.spec import GitSettings


_FALLBACK_IDENTITY = ("-c", "user.name=modelops", "-c", "user.email=modelops@users.noreply.github.com")


def has_remote(root: Path, remote: str) -> bool:
    return remote in git(root, "remote").decode().split()


def remote_url(root: Path, remote: str) -> str:
    return git(root, "remote", "get-url", remote).decode().strip()


def base_ref(root: Path, settings: GitSettings, *, remote: bool = True) -> str:
    """`<remote>/<base>` freshly fetched, else the local base branch, else HEAD."""
    if remote and has_remote(root, settings.remote):
        git(root, "fetch", "--quiet", settings.remote, settings.base)
        return f"{settings.remote}/{settings.base}"
    try:
        git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{settings.base}")
        return settings.base
    except Exception:  # noqa: BLE001 - no such branch
        return "HEAD"


@contextmanager
def worktree(root: Path, ref: str) -> Iterator[Path]:
    """A detached worktree of `ref` in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="modelops-promote-"))
    git(root, "worktree", "add", "--quiet", "--detach", str(folder), ref)
    try:
        yield folder
    finally:
        try:
            git(root, "worktree", "remove", "--force", str(folder))
        except Exception:  # noqa: BLE001 - already gone; prune below
            shutil.rmtree(folder, ignore_errors=True)
        git(root, "worktree", "prune")


def commit_all(tree: Path, message: str, paths: list[str] | None = None) -> str | None:
    """Commit every change in `tree` (only under `paths`, when given); the new commit's id, or None
    when nothing changed there."""
    git(tree, "add", "-A", "--", *(paths or ["."]))
    if not git(tree, "diff", "--cached", "--name-only").strip():
        return None
    identity: tuple[str, ...] = ()
    if not _configured(tree, "user.email"):
        identity = _FALLBACK_IDENTITY
    git(tree, *identity, "commit", "--quiet", "--no-verify", "-m", message)
    return rev(tree, "HEAD")


def _configured(tree: Path, key: str) -> bool:
    try:
        return bool(git(tree, "config", "--get", key).strip())
    except Exception:  # noqa: BLE001 - unset
        return False


def rev(root: Path, ref: str) -> str:
    return git(root, "rev-parse", ref).decode().strip()


def tree_of(root: Path, ref: str) -> str:
    return rev(root, f"{ref}^{{tree}}")


def remote_branch(root: Path, remote: str, branch: str) -> str | None:
    """The commit `branch` points at on `remote` (fetched, so its objects are local), or None."""
    listed = git(root, "ls-remote", "--heads", remote, f"refs/heads/{branch}").decode().split()
    if not listed:
        return None
    git(root, "fetch", "--quiet", remote, f"refs/heads/{branch}")
    return listed[0]


def set_branch(root: Path, branch: str, commit: str) -> None:
    """Point the local `branch` at `commit` (unless it is checked out somewhere)."""
    with contextlib.suppress(UserError):  # checked out in a worktree: leave it to the user
        git(root, "branch", "--force", branch, commit)


def push(root: Path, remote: str, commit: str, branch: str, expected: str | None) -> None:
    """Push `commit` to `branch`, replacing only what we last saw there (force-with-lease)."""
    lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
    git(root, "push", "--quiet", lease, remote, f"{commit}:refs/heads/{branch}")


_REMOTE_RE = re.compile(r"(?:[:/])([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def repository_from_url(url: str) -> str | None:
    """owner/name from a GitHub-style remote URL (https, ssh or scp-like), else None."""
    if "://" not in url and ":" not in url:
        return None  # a local path
    if url.startswith("file://"):
        return None
    match = _REMOTE_RE.search(url)
    return f"{match.group(1)}/{match.group(2)}" if match else None
