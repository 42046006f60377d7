"""The editor schemas as a user repository gets them from `modelops schema`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from compile.rules.test_checks import BAD, GOOD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelops.compile.spec import ModelSpec
from pydantic import ValidationError
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


# --- the CLI and the editor schema give the same verdict ------------------------------------------

MODEL_SCHEMA = jsonschema_rs.Draft7Validator(
    json.loads((ROOT / "schemas" / "model.schema.json").read_text())
)
REPO_MODELS = {
    path.name: yaml.safe_load(path.read_text()) for path in sorted((ROOT / "models").glob("*.yaml"))
}


def cli_accepts(data: object) -> bool:
    """The shape verdict of `modelops validate` (MO100-MO103): the spec's own validation."""
    if not isinstance(data, dict):
        return False
    try:
        ModelSpec.model_validate(data)
    except ValidationError:
        return False
    return True


def verdicts(data: object) -> tuple[bool, bool]:
    return cli_accepts(data), MODEL_SCHEMA.is_valid(data)


@pytest.mark.parametrize("name", sorted(REPO_MODELS))
def test_cli_and_schema_accept_the_repo_models(name: str) -> None:
    assert verdicts(REPO_MODELS[name]) == (True, True)


def _rule_cases() -> list[tuple[str, object]]:
    """The rule tests' model files that are valid YAML, good and bad."""
    cases = []
    for label, table in (("good", GOOD), ("bad", BAD)):
        for case, value in table.items():
            text = value[0] if isinstance(value, tuple) else value
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            cases.append((f"{label}:{case}", data))
    return cases


@pytest.mark.parametrize(("case", "data"), _rule_cases(), ids=[c[0] for c in _rule_cases()])
def test_cli_and_schema_agree_on_the_rule_tests_cases(case: str, data: object) -> None:
    cli, schema = verdicts(data)
    word = {True: "accepts", False: "refuses"}
    assert cli == schema, f"{case}: the CLI {word[cli]} it, the schema {word[schema]} it"


SWAPS = st.sampled_from([True, False, None, "10", "two", "", 0, -1, 1, 2.5, 2.0, 1e20, [], {}, [1], {"x": 1}])


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: object, path: tuple[object, ...], value: object, add_key: bool) -> object:
    if not path:
        if add_key and isinstance(node, dict):
            return {**node, "unknwn_key": value}
        return value
    head, *rest = path
    if isinstance(node, dict):
        return {**node, head: _replace(node[head], tuple(rest), value, add_key)}
    assert isinstance(node, list) and isinstance(head, int)
    return [_replace(item, tuple(rest), value, add_key) if i == head else item for i, item in enumerate(node)]


@st.composite
def mutated_models(draw: st.DrawFn) -> object:
    """A repo model with one value swapped for another type, a null, or an unknown key added."""
    base = REPO_MODELS[draw(st.sampled_from(sorted(REPO_MODELS)))]
    path = draw(st.sampled_from(_paths(base)))
    return _replace(base, path, draw(SWAPS), add_key=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_models())
def test_cli_and_schema_agree_on_mutated_models(data: object) -> None:
    cli, schema = verdicts(data)
    assert cli == schema, (cli, schema, data)


def _properties(node: object, path: str = "") -> list[tuple[str, dict[str, object]]]:
    """Every (path, schema) of a property anywhere in a schema document."""
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            found.append((f"{path}.{key}", sub))
        for key, sub in node.items():
            found += _properties(sub, path if key == "properties" else f"{path}/{key}")
    elif isinstance(node, list):
        for sub in node:
            found += _properties(sub, path)
    return found


@pytest.mark.parametrize("name", ["model.schema.json", "modelops.schema.json"])
def test_every_key_an_editor_offers_says_what_it_is(name: str) -> None:
    """Hover shows a description on every key; completion offers keys only (no class names)."""
    from modelops.compile.schema import schema_texts

    schema = json.loads(schema_texts()[name])
    assert [path for path, sub in _properties(schema) if "description" not in sub] == []
    assert "ModelSpec" not in json.dumps(schema) and "title" not in json.dumps(schema)
    if name == "model.schema.json":
        assert "teams" in schema["properties"]["team"]["description"]
        assert schema["properties"]["framework"]["examples"] == ["sklearn"]
