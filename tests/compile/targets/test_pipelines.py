"""Seldon Core 2 Pipelines and Experiments over pipelines, declared in a model file."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml
from modelops.compile.pipeline import build
from support import fixtures
from support.generated_files import documents

CONFIG = """\
environments:
  staging:
    namespace: models-staging
    target: seldon-v2
teams:
  risk:
    reviewers: ["@acme/risk-ds"]
policy:
  allowed_schemes: [s3]
"""


def _model(name: str, extra: str = "") -> str:
    head = f"name: {name}\nteam: risk\nframework: sklearn\n"
    return head + f"artifact:\n  uri: s3://acme-models/{name}/1\n" + extra


CHAINS = """\
pipelines:
  chain-a:
    steps:
      - model: features
      - model: scorer
        inputs: [features.outputs]
  chain-b:
    steps:
      - model: features
      - model: scorer-v2
        inputs: [features]
    output: [scorer-v2]
experiments:
  chain-ab:
    default: chain-a
    candidates: {chain-a: 80, chain-b: 20}
"""


def _build(tmp: Path, models: dict[str, str]) -> Any:
    texts = {f"{name}.yaml": textwrap.dedent(text) for name, text in models.items()}
    return build(fixtures.make_repo(tmp, texts, CONFIG), crd_dir=fixtures.CRD_DIR)


def _by_kind(result: Any, path: str, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in documents(result.files[path]) if obj["kind"] == kind]


MODELS = {"features": _model("features", CHAINS), "scorer": _model("scorer"),
          "scorer-v2": _model("scorer-v2")}


def test_pipelines_and_an_experiment_over_them_compile_and_validate(tmp_path: Path) -> None:
    result = _build(tmp_path, MODELS)
    assert [str(d) for d in result.diagnostics] == []
    pipelines = _by_kind(result, "staging/models-staging/features.yaml", "Pipeline")
    assert [(p["metadata"]["name"], p["spec"]) for p in pipelines] == [
        ("chain-a", {"steps": [{"name": "features"}, {"name": "scorer", "inputs": ["features.outputs"]}],
                     "output": {"steps": ["scorer"]}}),
        ("chain-b", {"steps": [{"name": "features"}, {"name": "scorer-v2", "inputs": ["features"]}],
                     "output": {"steps": ["scorer-v2"]}}),
    ]
    [experiment] = _by_kind(result, "staging/models-staging/features.yaml", "Experiment")
    assert experiment["metadata"]["name"] == "chain-ab"
    assert experiment["spec"] == {
        "default": "chain-a", "resourceType": "pipeline",
        "candidates": [{"name": "chain-a", "weight": 80}, {"name": "chain-b", "weight": 20}],
    }


def test_a_step_naming_an_unknown_model_is_an_error_at_its_key(tmp_path: Path) -> None:
    models = {"features": _model("features", CHAINS), "scorer": _model("scorer")}
    result = _build(tmp_path, models)
    assert [str(d) for d in result.diagnostics] == [
        "models/features.yaml:15:16: MO280 step model 'scorer-v2' is no Core 2 Model in "
        "staging/models-staging: name a model (or variant Model) deployed there with target seldon-v2"
    ]
    assert result.files == {}


def test_inputs_and_outputs_name_what_the_file_declares(tmp_path: Path) -> None:
    broken = CHAINS.replace("[features.outputs]", "[featurs.outputs]").replace(
        "output: [scorer-v2]", "output: [scorer]")
    result = _build(tmp_path, {**MODELS, "features": _model("features", broken)})
    assert [str(d) for d in result.diagnostics] == [
        "models/features.yaml:11:18: MO280 input 'featurs.outputs' names no step of pipeline 'chain-a' "
        "(steps: features, scorer; or chain-a.inputs)",
        "models/features.yaml:17:14: MO280 output 'scorer' is not a step of pipeline 'chain-b' "
        "(steps: features, scorer-v2)",
    ]  # candidates may be pipelines of other files: test_seldon_v2_expressivity checks them


def test_pipelines_on_another_target_are_refused(tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG)
    config["environments"]["staging"]["target"] = "kserve"
    texts = {f"{name}.yaml": text for name, text in MODELS.items()}
    result = build(fixtures.make_repo(tmp_path, texts, yaml.safe_dump(config)), crd_dir=fixtures.CRD_DIR)
    assert "models/features.yaml:7:3: MO301 pipelines is not supported on target kserve" in (
        str(result.diagnostics[0]))
