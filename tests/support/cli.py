"""Helpers of the command-line tests (tests/cli/): `run` the installed `modelops`, snapshots of a
tree, the example repository copied (`work`), and the shape of a diagnostic line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from support import fixtures

ROOT = Path(__file__).resolve().parents[2]
DIAGNOSTIC = re.compile(r"^[^:\s][^:]*:\d+:\d+: MO\d{3} \S.*$")
SUMMARY = re.compile(r"^Found \d+ errors?\.$")
BAD_MODEL = """\
name: Bad_Name
team: risk
framework: sklearn
artifact:
  uri: s3://acme-models/bad/1
replicass: 2
"""


def run(
    *args: str, cwd: Path, crd_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return fixtures.run(cwd, *args, crd_dir=crd_dir, env=env, unset=("MODELOPS_DEBUG",), timeout=120)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` as bytes, keyed by relative POSIX path."""
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr


def copy_repo(destination: Path) -> Path:
    """A copy of the repo inputs and committed outputs (modelops.yaml, models, generated)."""
    return fixtures.copy_example_repo(destination, commit=False, codeowners=True)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A copy of this repository's example inputs and outputs (see `copy_repo`)."""
    return copy_repo(tmp_path / "repo")
