"""Seldon Core 2 as its own examples write it: pipelines in full, mirrors, candidates of other files,
extra requirements, native scaling with a minimum only. `build` validates against the bundled CRDs."""

from __future__ import annotations

from pathlib import Path

from support.expressivity import compile_models, config, messages, objects, one

CORE2 = config("seldon-v2")


def _model(name: str, extra: str = "", framework: str = "sklearn") -> str:
    return (f"name: {name}\nteam: risk\nframework: {framework}\n"
            f"artifact:\n  uri: s3://acme-models/{name}/1\n" + extra)


# The shape of Core 2's tensor-map, trigger/join and batch examples, in model-file keys.
FULL = """\
pipelines:
  tfsimples:
    steps:
      - model: tfsimple1
      - model: tfsimple2
        inputs: [tfsimple1.outputs.OUTPUT0, tfsimple1.outputs.OUTPUT1]
        tensor_map:
          tfsimple1.outputs.OUTPUT0: INPUT0
          tfsimple1.outputs.OUTPUT1: INPUT1
      - model: tfsimple3
        inputs: [tfsimples.inputs.INPUT0]
        triggers: [tfsimple2.outputs.OUTPUT0]
        inputs_join: any
        triggers_join: outer
        join_window_ms: 500
        batch: {size: 10, window_ms: 100, rolling: true}
    output:
      steps: [tfsimple2.outputs.OUTPUT0, tfsimple3]
      join: any
      join_window_ms: 1000
      tensor_map: {tfsimple3.outputs.OUTPUT1: SUM}
  listener:
    steps:
      - model: tfsimple1
    input:
      external_inputs: [tfsimples.outputs.OUTPUT0]
      external_triggers: [tfsimples.step.tfsimple2.outputs]
      join: outer
      triggers_join: any
      join_window_ms: 20
      tensor_map: {tfsimples.outputs.OUTPUT0: INPUT0}
    output: [tfsimple1.outputs.OUTPUT0]
"""
STEPS = {"tfsimple2": _model("tfsimple2"), "tfsimple3": _model("tfsimple3")}


def test_pipeline_with_tensor_maps_triggers_joins_batch_and_external_inputs(tmp_path: Path) -> None:
    result = compile_models(tmp_path, CORE2, {"tfsimple1": _model("tfsimple1", FULL), **STEPS})
    assert messages(result) == []
    pipelines = {p["metadata"]["name"]: p["spec"] for p in objects(result, "tfsimple1", "Pipeline")}
    assert pipelines["tfsimples"] == {
        "steps": [
            {"name": "tfsimple1"},
            {"name": "tfsimple2", "inputs": ["tfsimple1.outputs.OUTPUT0", "tfsimple1.outputs.OUTPUT1"],
             "tensorMap": {"tfsimple1.outputs.OUTPUT0": "INPUT0", "tfsimple1.outputs.OUTPUT1": "INPUT1"}},
            {"name": "tfsimple3", "inputs": ["tfsimples.inputs.INPUT0"],
             "triggers": ["tfsimple2.outputs.OUTPUT0"], "inputsJoinType": "any",
             "triggersJoinType": "outer", "joinWindowMs": 500,
             "batch": {"size": 10, "windowMs": 100, "rolling": True}},
        ],
        "output": {"steps": ["tfsimple2.outputs.OUTPUT0", "tfsimple3"], "stepsJoin": "any",
                   "joinWindowMs": 1000, "tensorMap": {"tfsimple3.outputs.OUTPUT1": "SUM"}},
    }
    assert pipelines["listener"] == {
        "steps": [{"name": "tfsimple1"}],
        "input": {"externalInputs": ["tfsimples.outputs.OUTPUT0"],
                  "externalTriggers": ["tfsimples.step.tfsimple2.outputs"], "joinType": "outer",
                  "triggersJoinType": "any", "joinWindowMs": 20,
                  "tensorMap": {"tfsimples.outputs.OUTPUT0": "INPUT0"}},
        "output": {"steps": ["tfsimple1.outputs.OUTPUT0"]},
    }


def test_tensor_references_name_steps_of_their_pipeline(tmp_path: Path) -> None:
    broken = (FULL.replace("triggers: [tfsimple2.outputs.OUTPUT0]", "triggers: [tfsimple9.outputs]")
              .replace("tfsimple1.outputs.OUTPUT1: INPUT1", "tfsimple1.output.OUTPUT1: INPUT1"))
    result = compile_models(tmp_path, CORE2, {"tfsimple1": _model("tfsimple1", broken), **STEPS})
    assert [m.split(": ", 1)[1] for m in messages(result)] == [
        "MO280 tensor_map key 'tfsimple1.output.OUTPUT1': after 'tfsimple1' comes .outputs or .inputs, "
        "then the tensor name",
        "MO280 trigger 'tfsimple9.outputs' names no step of pipeline 'tfsimples' (steps: tfsimple1, "
        "tfsimple2, tfsimple3; or tfsimples.inputs)",
    ]


EXPERIMENT = """\
experiments:
  chains:
    default: chain-a
    candidates: {chain-a: 50, chain-b: 50}
    mirror: {name: chain-c, percent: 25}
"""
CHAIN = "pipelines:\n  {name}:\n    steps:\n      - model: {model}\n"


def test_pipeline_experiment_over_other_files_pipelines_with_a_mirror(tmp_path: Path) -> None:
    models = {
        "router": _model("router", EXPERIMENT),
        "scorer-a": _model("scorer-a", CHAIN.format(name="chain-a", model="scorer-a")),
        "scorer-b": _model("scorer-b", CHAIN.format(name="chain-b", model="scorer-b")
                           .replace("pipelines:\n", "pipelines:\n  chain-c:\n    steps:\n"
                                    "      - model: scorer-a\n")),
    }
    result = compile_models(tmp_path, CORE2, models)
    assert messages(result) == []
    assert one(result, "router", "Experiment")["spec"] == {
        "default": "chain-a", "resourceType": "pipeline",
        "candidates": [{"name": "chain-a", "weight": 50}, {"name": "chain-b", "weight": 50}],
        "mirror": {"name": "chain-c", "percent": 25},
    }


def test_candidates_and_mirrors_name_pipelines_of_the_namespace(tmp_path: Path) -> None:
    models = {"router": _model("router", EXPERIMENT),
              "scorer-a": _model("scorer-a", CHAIN.format(name="chain-a", model="scorer-a"))}
    result = compile_models(tmp_path, CORE2, models)
    assert messages(result) == [
        "models/router.yaml:9:31: MO280 pipeline 'chain-b' is no Pipeline in staging/models-staging: "
        "name one that a model file deployed there with target seldon-v2 declares",
        "models/router.yaml:10:20: MO280 pipeline 'chain-c' is no Pipeline in staging/models-staging: "
        "name one that a model file deployed there with target seldon-v2 declares",
    ]


def test_requirements_beyond_the_frameworks(tmp_path: Path) -> None:
    text = _model("ensemble", "requirements: [python, triton]\n", framework="triton")
    result = compile_models(tmp_path, CORE2, {"ensemble": text})
    assert messages(result) == []
    assert one(result, "ensemble", "Model")["spec"]["requirements"] == ["triton", "python"]
    refused = compile_models(tmp_path / "v1", config("kserve"), {"ensemble": text})
    assert [m.split(": ", 1)[1] for m in messages(refused)] == [
        "MO301 requirements is not supported on target kserve: they pick a Seldon Core 2 Server by "
        "its capabilities: use target seldon-v2"]


def test_native_scaling_with_a_minimum_only(tmp_path: Path) -> None:
    text = _model("iris", "autoscaling: {native: true, min: 2}\n")
    result = compile_models(tmp_path, config("seldon-v2", max_replicas=None), {"iris": text})
    assert messages(result) == []
    spec = one(result, "iris", "Model")["spec"]
    assert spec["minReplicas"] == 2 and "maxReplicas" not in spec and "replicas" not in spec
    assert objects(result, "iris", "HorizontalPodAutoscaler") == []
    capped = compile_models(tmp_path / "capped", CORE2, {"iris": text})
    assert [m.split(": ", 1)[1] for m in messages(capped)] == [
        "MO240 autoscaling without `max` is unbounded, over the policy maximum of 20: set "
        "autoscaling.max, or policy.max_replicas: null in modelops.yaml"]
    hpa = compile_models(tmp_path / "hpa", config("seldon-v2", max_replicas=None),
                         {"iris": _model("iris", "autoscaling: {min: 2, rps: 5}\n")})
    assert any("MO242 autoscaling needs `max`" in m for m in messages(hpa)), messages(hpa)
