"""`modelops schema [--check]`: the editor schemas of the spec."""

from __future__ import annotations

from pathlib import Path

from support.cli import ROOT, assert_no_traceback, run


def test_checked_in_schemas_are_current(crd_dir: Path) -> None:
    result = run("schema", "--check", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr


def test_schema_check_detects_stale_and_missing(tmp_path: Path, crd_dir: Path) -> None:
    (tmp_path / "modelops.yaml").write_text((ROOT / "modelops.yaml").read_text())
    written = run("schema", cwd=tmp_path, crd_dir=crd_dir)
    assert written.returncode == 0, written.stderr
    assert run("schema", "--check", cwd=tmp_path, crd_dir=crd_dir).returncode == 0

    model_schema = tmp_path / "schemas" / "model.schema.json"
    model_schema.write_text(model_schema.read_text().replace('"type"', '"tipe"', 1))
    stale = run("schema", "--check", cwd=tmp_path, crd_dir=crd_dir)
    assert stale.returncode == 1
    assert "schemas/model.schema.json is stale" in stale.stderr
    assert "modelops.schema.json" not in stale.stderr

    (tmp_path / "schemas" / "modelops.schema.json").unlink()
    missing = run("schema", "--check", cwd=tmp_path, crd_dir=crd_dir)
    assert missing.returncode == 1
    assert "schemas/modelops.schema.json is stale" in missing.stderr
    assert_no_traceback(missing)
