"""Kapitan kadet component: the benchmark model of this target, rendered like modelops does."""

import os
import sys

from kapitan.inputs.kadet import BaseObj, inventory

sys.path.insert(0, os.path.dirname(__file__))
from bench_render import render  # noqa: E402


def main(input_params):
    params = inventory().parameters
    config, spec = params["modelops"], params["model"]
    output = BaseObj()
    for env, objects in render(config, spec, params["source"]).items():
        for obj in objects:
            namespace = obj["metadata"]["namespace"]
            output.root[f"{env}/{namespace}/{spec['name']}/{obj['kind'].lower()}"] = obj
    return output
