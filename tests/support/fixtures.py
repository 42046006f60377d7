"""A throwaway copy of this repository as a real git repository, for tests that read history."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from modelops.compile.emit.schemas import BUNDLED

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = BUNDLED / "crds"  # the CRD schemas modelops ships
MODELOPS = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "modelops")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
}


def modelops_path() -> str:
    local = Path(MODELOPS)
    return str(local) if local.exists() else shutil.which("modelops") or "modelops"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return done.stdout


def copy_example_repo(target: Path) -> Path:
    """modelops.yaml, models/ and generated/ of this repository, committed in a new git repo."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "modelops.yaml", target / "modelops.yaml")
    shutil.copytree(ROOT / "models", target / "models")
    shutil.copytree(ROOT / "generated", target / "generated")
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "examples")
    return target


def run(
    root: Path, *args: str, crd_dir: Path = CRD_DIR, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [modelops_path(), *args], cwd=root, capture_output=True, text=True,
        env={**os.environ, "MODELOPS_CRD_DIR": str(crd_dir), **(env or {})},
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
