"""The editor schemas as a user repository gets them from `modelops schema`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from support.fixtures import modelops_path

ROOT = Path(__file__).resolve().parents[2]
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")


def test_schemas_have_a_stable_id_naming_the_release_line(tmp_path: Path) -> None:
    (tmp_path / "modelops.yaml").write_text((ROOT / "modelops.yaml").read_text())
    subprocess.run([modelops_path(), "schema", "-C", str(tmp_path)], check=True, capture_output=True)
    line = ".".join(version("modelops-gitops").split(".")[:2])
    for name in ("model.schema.json", "modelops.schema.json"):
        schema = json.loads((tmp_path / "schemas" / name).read_text())
        assert schema["$id"] == f"https://modelops-gitops.dev/schemas/{line}/{name}"


@pytest.mark.slow
def test_written_schema_checks_a_user_repository_offline(tmp_path: Path) -> None:
    (tmp_path / "modelops.yaml").write_text((ROOT / "modelops.yaml").read_text())
    shutil.copytree(ROOT / "models", tmp_path / "models")
    subprocess.run([modelops_path(), "schema", "-C", str(tmp_path)], check=True, capture_output=True)
    model_schema = str(tmp_path / "schemas" / "model.schema.json")
    models = sorted(map(str, (tmp_path / "models").glob("*.yaml")))
    good = subprocess.run([CHECK_JSONSCHEMA, "--schemafile", model_schema, *models],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr

    broken = tmp_path / "models" / "broken.yaml"
    eta = (ROOT / "models" / "eta-courier.yaml").read_text()
    broken.write_text(eta.replace("\n  min: 2\n", "\n  min: two\n"))
    bad = subprocess.run([CHECK_JSONSCHEMA, "--schemafile", model_schema, str(broken)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "'two'" in bad.stdout, bad.stdout + bad.stderr
