"""Seldon Core 2 Pipelines and Experiments over pipelines, declared in a model file.

A model file's `pipelines:` are graphs of Core 2 Models by name, rendered beside the model in every
seldon-v2 environment it runs in; its `experiments:` split traffic between pipelines of the
namespace (`resourceType: pipeline`), optionally mirroring it to one more. Tensor references
(inputs, triggers, tensor maps, outputs) are checked here, within the file; whether a step's
Model, or a pipeline an experiment or external input names, exists in the namespace is checked
across models (`modelops.compile.summary.unknown_steps`, `unknown_pipelines`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from modelops.compile.resolve import ResolvedModel
from modelops.compile.source import Loc
from modelops.compile.spec import Pipeline, PipelineOutput, StepBatch
from modelops.compile.targets.common import metadata, unsupported
from modelops.diagnostics import Diagnostic

API_VERSION = "mlops.seldon.io/v1alpha1"


def pipeline_names(model: ResolvedModel) -> list[tuple[str, str]]:
    """The names of the Pipelines and pipeline Experiments this model file renders."""
    names = [(name, "Pipeline") for name in sorted(model.spec.pipelines or {})]
    names += [(name, "pipeline Experiment") for name in sorted(model.spec.experiments or {})]
    return names


def refuse_pipelines(model: ResolvedModel) -> list[Diagnostic]:
    """MO301 for pipelines or pipeline experiments on a target other than seldon-v2."""
    return [
        unsupported(model, None, (key,), key, "Pipelines and Experiments over them are Seldon Core 2 "
                    "objects: use target seldon-v2")
        for key in ("pipelines", "experiments")
        if getattr(model.spec, key)
    ]


# model-file key -> Core 2 field, in the order Core 2 documents them
STEP_FIELDS = (("inputs", "inputs"), ("tensor_map", "tensorMap"), ("triggers", "triggers"),
               ("inputs_join", "inputsJoinType"), ("triggers_join", "triggersJoinType"),
               ("join_window_ms", "joinWindowMs"), ("batch", "batch"))
INPUT_FIELDS = (("external_inputs", "externalInputs"), ("external_triggers", "externalTriggers"),
                ("join", "joinType"), ("triggers_join", "triggersJoinType"),
                ("join_window_ms", "joinWindowMs"), ("tensor_map", "tensorMap"))
OUTPUT_FIELDS = (("steps", "steps"), ("join", "stepsJoin"), ("join_window_ms", "joinWindowMs"),
                 ("tensor_map", "tensorMap"))
BATCH_FIELDS = {"size": "size", "window_ms": "windowMs", "rolling": "rolling"}
SIDES = ("inputs", "outputs")  # `<step>.inputs...` and `<step>.outputs...`


def _ref_problem(what: str, ref: str, name: str, steps: list[str]) -> str | None:
    """Why `ref` names no tensor source of pipeline `name`: `<step>[.inputs|.outputs[.<tensor>]]`, and
    except for an output, `<pipeline>[.inputs[.<tensor>]]`."""
    head, _, rest = ref.partition(".")
    side = rest.split(".", 1)[0]
    pipeline_side = what != "output"
    if head in steps and (not side or side in SIDES):
        return None
    if pipeline_side and head == name and side in ("", "inputs"):
        return None
    if head in steps or (pipeline_side and head == name):
        return f"{what} {ref!r}: after {head!r} comes .outputs or .inputs, then the tensor name"
    if not pipeline_side:
        return f"output {ref!r} is not a step of pipeline {name!r} (steps: {', '.join(steps)})"
    return f"{what} {ref!r} names no step of pipeline {name!r} (steps: {', '.join(steps)}; or {name}.inputs)"


def _output(pipeline: Pipeline) -> PipelineOutput:
    """The pipeline's output as the long form: `[a, b]` is `{steps: [a, b]}`; default the last step."""
    if isinstance(pipeline.output, PipelineOutput):
        return pipeline.output
    return PipelineOutput(steps=list(pipeline.output or [pipeline.steps[-1].model]))


def _step_refs(name: str, pipeline: Pipeline) -> list[tuple[Loc, str, str]]:
    """(where, what it is, reference) for every tensor reference of the pipeline."""
    refs: list[tuple[Loc, str, str]] = []
    base: Loc = ("pipelines", name)
    for index, step in enumerate(pipeline.steps):
        at: Loc = (*base, "steps", index)
        refs += [((*at, "inputs", i), "input", ref) for i, ref in enumerate(step.inputs or [])]
        refs += [((*at, "triggers", i), "trigger", ref) for i, ref in enumerate(step.triggers or [])]
        refs += [((*at, "tensor_map", ref), "tensor_map key", ref) for ref in step.tensor_map or {}]
    if isinstance(pipeline.output, PipelineOutput):
        out = pipeline.output
        refs += [((*base, "output", "steps", i), "output", ref) for i, ref in enumerate(out.steps)]
        refs += [((*base, "output", "tensor_map", ref), "output", ref) for ref in out.tensor_map or {}]
    else:
        refs += [((*base, "output", i), "output", ref) for i, ref in enumerate(pipeline.output or [])]
    return refs


def check_pipelines(model: ResolvedModel) -> list[Diagnostic]:
    """MO280 for a tensor reference naming nothing of its pipeline, or a default no candidate.

    Candidates, mirrors and external inputs name pipelines of any model file: `unknown_pipelines`
    checks them across models."""
    doc, errors = model.doc, []
    for name, pipeline in sorted((model.spec.pipelines or {}).items()):
        steps = [step.model for step in pipeline.steps]
        for loc, what, ref in _step_refs(name, pipeline):
            problem = _ref_problem(what, ref, name, steps)
            if problem is not None:
                errors.append(doc.diagnostic(loc, "MO280", problem, key=loc[-2] == "tensor_map"))
    for name, experiment in sorted((model.spec.experiments or {}).items()):
        if experiment.default is not None and experiment.default not in experiment.candidates:
            errors.append(doc.diagnostic(
                ("experiments", name, "default"), "MO280",
                f"default {experiment.default!r} is not one of the experiment's candidates"))
    return errors


def pipeline_refs(model: ResolvedModel) -> list[tuple[str, tuple[int, int]]]:
    """(Pipeline named, where) for every experiment candidate and mirror, and every pipeline an
    external input or trigger reads."""
    doc, refs = model.doc, []
    for name, experiment in sorted((model.spec.experiments or {}).items()):
        refs += [(c, doc.position(("experiments", name, "candidates", c), key=True))
                 for c in experiment.candidates]
        if experiment.mirror is not None:
            refs.append((experiment.mirror.name, doc.position(("experiments", name, "mirror", "name"))))
    for name, pipeline in sorted((model.spec.pipelines or {}).items()):
        source = pipeline.input
        for key in ("external_inputs", "external_triggers"):
            for i, ref in enumerate((getattr(source, key) if source else None) or []):
                refs.append((ref.split(".", 1)[0], doc.position(("pipelines", name, "input", key, i))))
    return refs


def render_pipelines(model: ResolvedModel) -> list[dict[str, Any]]:
    """A Pipeline per `pipelines` entry, then an Experiment per `experiments` entry, by name."""
    objects = [_pipeline(model, name, p) for name, p in sorted((model.spec.pipelines or {}).items())]
    for name, experiment in sorted((model.spec.experiments or {}).items()):
        candidates = list(experiment.candidates)
        spec: dict[str, Any] = {
            "default": experiment.default or candidates[0],
            "resourceType": "pipeline",
            "candidates": [{"name": c, "weight": experiment.candidates[c]} for c in candidates],
        }
        if experiment.mirror is not None:
            spec["mirror"] = {"name": experiment.mirror.name, "percent": experiment.mirror.percent}
        objects.append({
            "apiVersion": API_VERSION, "kind": "Experiment", "metadata": metadata(model, name),
            "spec": spec,
        })
    return objects


def _fields(source: BaseModel, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The set keys of `source` under their Core 2 names (a batch with its own names)."""
    rendered: dict[str, Any] = {}
    for key, field in fields:
        value = getattr(source, key)
        if value is None:
            continue
        if isinstance(value, StepBatch):
            value = {BATCH_FIELDS[k]: v for k, v in value.model_dump(exclude_none=True).items()}
        rendered[field] = list(value) if isinstance(value, list) else (
            dict(value) if isinstance(value, dict) else value)
    return rendered


def _pipeline(model: ResolvedModel, name: str, pipeline: Pipeline) -> dict[str, Any]:
    steps = [{"name": step.model, **_fields(step, STEP_FIELDS)} for step in pipeline.steps]
    spec: dict[str, Any] = {"steps": steps}
    if pipeline.input is not None:
        spec["input"] = _fields(pipeline.input, INPUT_FIELDS)
    spec["output"] = _fields(_output(pipeline), OUTPUT_FIELDS)
    return {
        "apiVersion": API_VERSION,
        "kind": "Pipeline",
        "metadata": metadata(model, name),
        "spec": spec,
    }


def step_refs(model: ResolvedModel) -> list[tuple[str, tuple[int, int]]]:
    """(Model a step runs, where the step names it) for every step of the file's pipelines."""
    return [
        (step.model, model.doc.position(("pipelines", name, "steps", index, "model")))
        for name, pipeline in sorted((model.spec.pipelines or {}).items())
        for index, step in enumerate(pipeline.steps)
    ]
