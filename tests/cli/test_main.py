"""The `modelops` group itself, run as a real subprocess: help, -C before or after the command, the
JSON envelope of a user error, shared options, a missing extra named in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import (
    BAD_MODEL,
    DIAGNOSTIC,
    ROOT,
    assert_no_traceback,
    run,
    snapshot,
)


def test_help_works(crd_dir: Path) -> None:
    result = run("--help", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    for command in ("validate", "compile", "schema"):
        assert command in result.stdout
    assert_no_traceback(result)



@pytest.mark.parametrize("command", ["validate", "compile"])
def test_missing_crd_dir_is_usage_error(
    command: str, work: Path, crd_dir: Path, tmp_path: Path
) -> None:
    before = snapshot(work / "generated")
    missing = tmp_path / "no-such-crds"
    result = run(command, "--crd-dir", str(missing), cwd=work, crd_dir=crd_dir)
    assert result.returncode == 2, result.stderr
    assert "--crd-dir" in result.stderr
    assert_no_traceback(result)
    assert snapshot(work / "generated") == before


def test_global_repo_option_validates_a_broken_file_as_one_json_document(work: Path, tmp_path: Path,
                                                                          crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    result = run("-C", str(work), "validate", "-o", "json", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    payload = json.loads(result.stdout)  # the whole of stdout is one document
    assert payload["ok"] is False and payload["command"] == "validate"
    assert {d["path"] for d in payload["diagnostics"]} == {"models/bad.yaml"}
    assert any(d["code"] == "MO101" and d["line"] == 6 for d in payload["diagnostics"])


def test_repo_option_after_the_command_wins_over_the_global_one(work: Path, tmp_path: Path,
                                                               crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    result = run("-C", str(work), "validate", "-C", str(ROOT), cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4 model(s) valid.\n"
    check = run("-C", str(ROOT), "compile", "--check", cwd=tmp_path, crd_dir=crd_dir)
    assert check.returncode == 0, check.stderr


def test_user_error_under_json_output_is_the_envelope(tmp_path: Path, crd_dir: Path) -> None:
    result = run("-C", str(ROOT), "diff", "no-such-ref", "--format", "json", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["command"] == "diff"
    assert [d["code"] for d in payload["diagnostics"]] == ["MO020"]
    text = run("-C", str(ROOT), "diff", "no-such-ref", cwd=tmp_path, crd_dir=crd_dir)
    assert text.returncode == 1 and text.stdout == ""
    assert [DIAGNOSTIC.match(line) is not None for line in text.stderr.splitlines()] == [True]


@pytest.mark.parametrize(("blocked", "args", "extra"), [
    ("kubernetes", ["sync", "--env", "staging", "--plan-only"], "sync"),
    ("rich", ["diff", "HEAD"], "review"),
    ("pygls", ["lsp"], "lsp"),
])
def test_a_missing_extra_is_named_in_one_line(blocked: str, args: list[str], extra: str, tmp_path: Path,
                                              crd_dir: Path) -> None:
    code = (f"import sys\nsys.modules[{blocked!r}] = None\nfrom modelops.cli.main import main\n"
            "sys.argv = ['modelops', *sys.argv[1:]]\nmain()")
    environment = {**os.environ, "MODELOPS_CRD_DIR": str(crd_dir),
                   "KUBECONFIG": str(tmp_path / "kubeconfig")}
    environment.pop("MODELOPS_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", code, "-C", str(ROOT), *args], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"modelops {args[0]}: needs the {extra} extra: pip install 'modelops-gitops[{extra}]'"]
