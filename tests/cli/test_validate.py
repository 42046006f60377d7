"""`modelops validate`: diagnostics, JSON output, paths, a missing modelops.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.cli import (
    BAD_MODEL,
    DIAGNOSTIC,
    ROOT,
    SUMMARY,
    assert_no_traceback,
    run,
    snapshot,
)


def test_validate_repo_examples_exit_0(crd_dir: Path) -> None:
    result = run("validate", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert "4 model(s) valid." in result.stdout
    assert_no_traceback(result)


def test_bad_model_reports_diagnostics_and_writes_nothing(work: Path, crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    before = snapshot(work / "generated")
    for command in ("validate", "compile"):
        result = run(command, cwd=work, crd_dir=crd_dir)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert_no_traceback(result)
        lines = result.stderr.splitlines()
        assert lines, command
        assert SUMMARY.match(lines[-1]), lines[-1]
        diagnostics = lines[:-1]
        assert diagnostics
        for line in diagnostics:
            assert DIAGNOSTIC.match(line), line
            assert line.startswith("models/bad.yaml:"), line
        codes = {line.split()[1] for line in diagnostics}
        assert {"MO100", "MO101"} <= codes
        assert any("replicass" in line and "'replicas'" in line for line in diagnostics)
        assert snapshot(work / "generated") == before
        assert not list(work.glob("generated.tmp-*"))  # the tree staged while compiling is gone


def test_validate_json_output(work: Path, crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    result = run("validate", "--output", "json", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["diagnostics"]
    for diagnostic in payload["diagnostics"]:
        assert set(diagnostic) == {"path", "line", "col", "code", "message"}
        assert diagnostic["path"] == "models/bad.yaml"
        assert isinstance(diagnostic["line"], int) and diagnostic["line"] >= 1
        assert isinstance(diagnostic["col"], int) and diagnostic["col"] >= 1
        assert re.fullmatch(r"MO\d{3}", diagnostic["code"])
    assert any(d["code"] == "MO101" and d["line"] == 6 for d in payload["diagnostics"])


def test_validate_json_output_clean(crd_dir: Path) -> None:
    result = run("validate", "-o", "json", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert payload["diagnostics"] == []
    assert sorted(payload["models"]) == [
        "churn-score",
        "eta-courier",
        "iris-classifier",
        "search-ranker",
    ]


def test_validate_one_path_checks_only_that_file(work: Path, crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    good = run("validate", "models/iris-classifier.yaml", cwd=work, crd_dir=crd_dir)
    assert good.returncode == 0, good.stderr
    assert "1 model(s) valid." in good.stdout
    assert "bad.yaml" not in good.stdout + good.stderr
    bad = run("validate", "models/bad.yaml", cwd=work, crd_dir=crd_dir)
    assert bad.returncode == 1
    diagnostics = [line for line in bad.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert diagnostics
    assert all(line.startswith("models/bad.yaml:") for line in diagnostics)


def test_missing_config_is_one_line_error(tmp_path: Path, crd_dir: Path) -> None:
    (tmp_path / "models").mkdir()
    result = run("validate", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    diagnostics = [line for line in result.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert len(diagnostics) == 1, result.stderr
    assert diagnostics[0].startswith("modelops.yaml:1:1: MO010 ")


def test_missing_config_in_empty_folder_is_one_line_error(tmp_path: Path, crd_dir: Path) -> None:
    result = run("validate", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    diagnostics = [line for line in result.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert len(diagnostics) == 1, result.stderr
    assert diagnostics[0].startswith("modelops.yaml:1:1: MO010 ")
