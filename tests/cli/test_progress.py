"""Progress on long work: a bar on stderr when it is a terminal, nothing when piped or under -o json."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
from support import fixtures

MODELS = 30


def _model(i: int) -> str:
    return (f"name: model-{i:03d}\nteam: risk\nframework: sklearn\n"
            f"artifact: {{uri: s3://acme-models/model-{i:03d}/1}}\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return fixtures.make_repo(tmp_path, {f"model-{i:03d}.yaml": _model(i) for i in range(MODELS)})


def _on_a_terminal(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run modelops with stderr on a pseudo-terminal and stdout on a pipe: (exit, stdout, terminal)."""
    main, secondary = pty.openpty()
    process = subprocess.Popen([fixtures.modelops_path(), *args], cwd=root, stdout=subprocess.PIPE,
                               stderr=secondary, text=True,
                               env={**os.environ, "COLUMNS": "120", **(env or {})})
    os.close(secondary)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    stdout = process.stdout.read() if process.stdout else ""
    return process.wait(timeout=60), stdout, seen.decode()


def test_compile_on_a_terminal_draws_a_bar_to_the_last_model(repo: Path) -> None:
    code, stdout, terminal = _on_a_terminal(repo, "compile")
    assert code == 0, terminal
    assert "Compiling models" in terminal
    assert f"{MODELS}/{MODELS}" in terminal
    assert stdout.startswith(f"Compiled {MODELS} model(s)")  # the summary is untouched on stdout


def test_validate_on_a_terminal_draws_a_bar(repo: Path) -> None:
    code, _, terminal = _on_a_terminal(repo, "validate")
    assert code == 0, terminal
    assert "Validating models" in terminal and f"{MODELS}/{MODELS}" in terminal


def test_piped_stderr_gets_no_bar(repo: Path) -> None:
    done = fixtures.run(repo, "compile")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_json_output_gets_no_bar_even_on_a_terminal(repo: Path) -> None:
    code, stdout, terminal = _on_a_terminal(repo, "compile", "-o", "json")
    assert code == 0, terminal
    assert "Compiling" not in terminal
    assert stdout.lstrip().startswith("{")


def test_modelops_progress_0_switches_the_bar_off(repo: Path) -> None:
    code, _, terminal = _on_a_terminal(repo, "compile", env={"MODELOPS_PROGRESS": "0"})
    assert code == 0, terminal
    assert "Compiling" not in terminal


def test_a_few_models_get_no_bar(tmp_path: Path) -> None:
    root = fixtures.make_repo(tmp_path, {f"model-{i:03d}.yaml": _model(i) for i in range(3)})
    code, _, terminal = _on_a_terminal(root, "compile")
    assert code == 0, terminal
    assert "Compiling" not in terminal


def test_sync_on_a_terminal_draws_a_bar_over_the_objects_applied(repo: Path) -> None:
    from support.kmock_cluster import RunningServer

    assert fixtures.run(repo, "compile").returncode == 0
    server = RunningServer()
    try:
        kubeconfig = server.kubeconfig(repo.parent / "kubeconfig")
        code, stdout, terminal = _on_a_terminal(repo, "sync", "--env", "staging", "--kubeconfig",
                                                str(kubeconfig), "--context", "kmock")
    finally:
        server.stop()
    assert code == 0, terminal + stdout
    applied = stdout.count("\ncreated ") + stdout.startswith("created ")
    assert applied >= MODELS
    assert "Applying to staging" in terminal and f"{applied}/{applied}" in terminal
