"""Read files as they are at a git ref, without touching the working tree."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from modelops.diagnostics import Diagnostic, UserError


def git(root: Path, *args: str) -> bytes:
    """Run git in `root`; a failure is a one-line user error."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise UserError([Diagnostic(".", 1, 1, "MO020", "git is not installed")]) from exc
    if done.returncode != 0:
        raise UserError([Diagnostic(".", 1, 1, "MO020", f"git {args[0]}: {git_message(done.stderr)}")])
    return done.stdout


def ref_names(root: Path) -> list[str]:
    """The short names of the repository's branches, remote branches and tags."""
    listed = git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/remotes", "refs/tags")
    return [name for name in listed.decode(errors="replace").splitlines() if name]


def git_message(stderr: bytes) -> str:
    """All of git's stderr on one line (` | ` between its lines), so the remote's own reason for a
    refusal (a pre-receive hook, branch protection) is not lost behind git's summary."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    return " | ".join(line for line in lines if line) or "git failed"


def files_at(root: Path, ref: str, folder: str) -> dict[str, str]:
    """Text of every file under `folder` at `ref`, keyed by path relative to `folder`."""
    try:
        git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except UserError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):  # git itself is missing
            raise
        raise UserError([Diagnostic(".", 1, 1, "MO020", f"unknown git revision {ref!r}: "
                                    "give a branch, tag or commit (fetch it first in CI)")]) from exc
    listed = git(root, "ls-tree", "-r", "--name-only", ref, "--", folder).decode().split("\n")
    if not any(listed):
        return {}
    archive = git(root, "archive", "--format=tar", ref, "--", folder)
    files: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member)
                if data is not None:
                    relative = member.name[len(folder) + 1 :]
                    files[relative] = data.read().decode("utf-8", errors="replace")
    return dict(sorted(files.items()))
