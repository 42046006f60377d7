"""Seldon Core 2 Pipelines and Experiments over pipelines, declared in a model file.

A model file's `pipelines:` are graphs of Core 2 Models by name, rendered beside the model in every
seldon-v2 environment it runs in; its `experiments:` split traffic between those pipelines
(`resourceType: pipeline`). Steps, inputs, outputs and candidates are checked here, within the
file; whether a step's Model exists in the namespace is checked across models
(`modelops.compile.summary.unknown_steps`).
"""

from __future__ import annotations

from typing import Any

from modelops.compile.resolve import ResolvedModel
from modelops.compile.spec import Pipeline
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


def _sources(name: str, pipeline: Pipeline) -> set[str]:
    """What an input may start with: a step of this pipeline, or the pipeline itself (`.inputs`)."""
    return {step.model for step in pipeline.steps} | {name}


def check_pipelines(model: ResolvedModel) -> list[Diagnostic]:
    """MO280 for an input, output, candidate or default naming nothing of this file."""
    doc, errors = model.doc, []
    pipelines = model.spec.pipelines or {}
    for name, pipeline in sorted(pipelines.items()):
        steps = [step.model for step in pipeline.steps]
        known = _sources(name, pipeline)
        for index, step in enumerate(pipeline.steps):
            for i, source in enumerate(step.inputs or []):
                if source.split(".", 1)[0] not in known:
                    errors.append(doc.diagnostic(
                        ("pipelines", name, "steps", index, "inputs", i), "MO280",
                        f"input {source!r} names no step of pipeline {name!r} "
                        f"(steps: {', '.join(steps)}; or {name}.inputs)"))
        for i, output in enumerate(pipeline.output or []):
            if output not in steps:
                errors.append(doc.diagnostic(
                    ("pipelines", name, "output", i), "MO280",
                    f"output {output!r} is not a step of pipeline {name!r} (steps: {', '.join(steps)})"))
    for name, experiment in sorted((model.spec.experiments or {}).items()):
        for candidate in experiment.candidates:
            if candidate not in pipelines:
                errors.append(doc.diagnostic(
                    ("experiments", name, "candidates", candidate), "MO280",
                    f"candidate {candidate!r} is not a pipeline of this file "
                    f"({', '.join(sorted(pipelines)) or 'it declares none'})", key=True))
        if experiment.default is not None and experiment.default not in experiment.candidates:
            errors.append(doc.diagnostic(
                ("experiments", name, "default"), "MO280",
                f"default {experiment.default!r} is not one of the experiment's candidates"))
    return errors


def render_pipelines(model: ResolvedModel) -> list[dict[str, Any]]:
    """A Pipeline per `pipelines` entry, then an Experiment per `experiments` entry, by name."""
    objects = [_pipeline(model, name, p) for name, p in sorted((model.spec.pipelines or {}).items())]
    for name, experiment in sorted((model.spec.experiments or {}).items()):
        candidates = list(experiment.candidates)
        objects.append({
            "apiVersion": API_VERSION,
            "kind": "Experiment",
            "metadata": metadata(model, name),
            "spec": {
                "default": experiment.default or candidates[0],
                "resourceType": "pipeline",
                "candidates": [
                    {"name": c, "weight": experiment.candidates[c]} for c in candidates
                ],
            },
        })
    return objects


def _pipeline(model: ResolvedModel, name: str, pipeline: Pipeline) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for step in pipeline.steps:
        rendered: dict[str, Any] = {"name": step.model}
        if step.inputs:
            rendered["inputs"] = list(step.inputs)
        steps.append(rendered)
    output = list(pipeline.output or [pipeline.steps[-1].model])
    return {
        "apiVersion": API_VERSION,
        "kind": "Pipeline",
        "metadata": metadata(model, name),
        "spec": {"steps": steps, "output": {"steps": output}},
    }


def step_refs(model: ResolvedModel) -> list[tuple[str, tuple[int, int]]]:
    """(Model a step runs, where the step names it) for every step of the file's pipelines."""
    return [
        (step.model, model.doc.position(("pipelines", name, "steps", index, "model")))
        for name, pipeline in sorted((model.spec.pipelines or {}).items())
        for index, step in enumerate(pipeline.steps)
    ]
