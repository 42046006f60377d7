"""Real git repositories for the tests: a clone with a bare `origin` (the remote a promotion pushes
to), made from modelops repositories (`fixtures.make_repo`) or from plain files."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from support.fixtures import IRIS, ROOT, git, make_repo


@dataclass(frozen=True)
class Clone:
    root: Path  # the working clone, on main
    origin: Path  # the bare repository it pushes to

    def commit(self, files: Mapping[str, str | None], message: str) -> str:
        """Write (None: delete) `files`, commit them on the current branch; the commit id."""
        for name, text in files.items():
            path = self.root / name
            if text is None:
                git(self.root, "rm", "-qf", name)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            git(self.root, "add", name)
        git(self.root, "commit", "-qm", message)
        return git(self.root, "rev-parse", "HEAD").strip()

    def push(self) -> None:
        git(self.root, "push", "-q", "origin", "HEAD:main")


def clone(tmp: Path, models: Mapping[str, str] | None = None) -> Clone:
    """A modelops repository (the standard config, `models` or the iris model) committed on main and
    pushed to a bare origin beside it."""
    root = make_repo(tmp / "repo", {"iris.yaml": IRIS} if models is None else models,
                     origin=tmp / "origin.git")
    return Clone(root, tmp / "origin.git")


def snapshot_of_this_tree(target: Path) -> str:
    """This working tree, uncommitted edits included, as one commit (what `pre-commit try-repo` does)."""
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "snapshot")
    return git(target, "rev-parse", "HEAD").strip()
