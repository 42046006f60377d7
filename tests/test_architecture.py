"""Imports flow one way: the import-linter contracts of pyproject.toml hold, and they bite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with this repo's contracts on the `modelops` package under `source_root`."""
    environment = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, env=environment, cwd=source_root)


def test_the_package_keeps_its_import_contracts() -> None:
    done = lint_imports(ROOT / "compiler")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_compile_importing_cluster_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "compiler" / "modelops", tmp_path / "modelops",
                    ignore=shutil.ignore_patterns("__pycache__"))
    pipeline = tmp_path / "modelops" / "compile" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "\nimport modelops.cluster.kube  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "modelops.compile.pipeline -> modelops.cluster.kube" in done.stdout
    assert "Contracts: 1 kept, 2 broken." in done.stdout


def test_click_outside_cli_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "compiler" / "modelops", tmp_path / "modelops",
                    ignore=shutil.ignore_patterns("__pycache__"))
    follow = tmp_path / "modelops" / "promotion" / "follow.py"
    follow.write_text(follow.read_text() + "\nimport click  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "cli is the only package importing click" in done.stdout
    assert "modelops.promotion.follow -> click" in done.stdout
    assert "Contracts: 2 kept, 1 broken." in done.stdout
