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
        namespace = objects[0]["metadata"]["namespace"]
        output.root[f"{env}/{namespace}/{spec['name']}"] = objects  # a list: one multi-document file
    return output
