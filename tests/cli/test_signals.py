"""Ctrl-C and SIGTERM during a compile: one line, exit 130 / 143, no traceback from the compile or its
worker processes, no "Aborted!", no temporary tree left, and generated/ the tree it was before."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support import fixtures

pytestmark = pytest.mark.slow
MODELS = 600


def _model(i: int) -> str:
    return (f"name: model-{i:04d}\nteam: risk\nframework: sklearn\n"
            f"artifact: {{uri: s3://acme-models/model-{i:04d}/1}}\n"
            "traffic:\n  main: {weight: 90}\n"
            f"  canary: {{weight: 10, artifact: {{uri: s3://acme-models/model-{i:04d}/2}}}}\n")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = fixtures.make_repo(tmp_path_factory.mktemp("signals"),
                              {f"model-{i:04d}.yaml": _model(i) for i in range(MODELS)})
    done = fixtures.run(root, "compile", timeout=300)
    assert done.returncode == 0, done.stderr
    for i in range(MODELS):  # every model changes, so the next compile rewrites the whole tree
        fixtures.edit(root / "models" / f"model-{i:04d}.yaml", "weight: 90", "weight: 80")
        fixtures.edit(root / "models" / f"model-{i:04d}.yaml", "weight: 10", "weight: 20")
    return root


def _snapshot(generated: Path) -> dict[str, bytes]:
    files = sorted(p for p in generated.rglob("*") if p.is_file())
    return {str(p.relative_to(generated)): p.read_bytes() for p in files}


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("delay", [0.3, 0.8])
def test_a_signal_mid_compile_cleans_up_and_exits_128_plus_the_signal(
        repo: Path, signum: int, code: int, delay: float) -> None:
    before = _snapshot(repo / "generated")
    shutil.rmtree(repo / ".modelops-cache", ignore_errors=True)  # a whole compile, not a cached one
    process = subprocess.Popen([fixtures.modelops_path(), "compile"], cwd=repo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # its own group: Ctrl-C reaches every worker
    time.sleep(delay)
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, f"the signal came too late or was not handled: {stderr}"
    assert stderr.splitlines() == [
        f"modelops: interrupted by {signal.Signals(signum).name}; temporary files removed"], stderr
    assert not [p.name for p in repo.iterdir() if ".tmp-" in p.name]
    assert _snapshot(repo / "generated") == before


FINALIZER = """
import os, signal, sys, time
from modelops.cli import main as cli_main
signal.signal(signal.SIGTERM, cli_main._interrupt)
sys.unraisablehook = cli_main._unraisable

class Slow:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the signal's handler runs in here, inside the finalizer

try:
    Slow()  # dropped at once: its __del__ runs now
    time.sleep(5)
    print("not interrupted")
except cli_main.Interrupted as exc:
    print("interrupted", exc.signum)
"""


def test_a_signal_that_lands_in_a_finalizer_still_interrupts_without_a_traceback() -> None:
    """Under load a Ctrl-C can arrive while Python runs some object's __del__, which swallows any
    exception with an "Exception ignored in:" traceback and goes on as if nothing happened."""
    import sys

    done = subprocess.run([sys.executable, "-c", FINALIZER], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"interrupted {int(signal.SIGTERM)}", done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr
