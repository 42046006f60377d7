"""The past versions of a file in git history: the one walker behind the rollout gate and rollback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from modelops.diagnostics import UserError
from modelops.git.refs import git


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


def past_texts(root: Path, ref: str = "HEAD") -> Callable[[str], list[str]]:
    """A history reader for `pipeline.build`: a repository-relative path's past texts at `ref`,
    newest first; none outside a git repository (the rollout gate then cannot judge)."""

    def read(path: str) -> list[str]:
        try:
            return [text for _, text in versions(root, path, ref)]
        except UserError:  # not a git repository, no commits yet, or git missing
            return []

    return read
