"""The editor schema accepts exactly what the CLI accepts for the keys ported from upstream examples."""

from __future__ import annotations

import pytest
import yaml
from compile.test_schema import verdicts

BASE = "name: iris\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/iris/1\n"

PIPE = "pipelines:\n  p:\n    steps:\n      - model: a\n"
GRAPH = "graph:\n  nodes:\n    t:\n      type: TRANSFORMER\n"
EXPERIMENT = "experiments:\n  e:\n    candidates: {p: 1}\n"

# case -> (model file text, whether both accept it)
CASES: dict[str, tuple[str, bool]] = {
    "protocol-v1": (BASE + "protocol: v1\n", True),
    "protocol-v3": (BASE + "protocol: v3\n", False),
    "scale-to-zero": (BASE + "autoscaling: {min: 0, concurrency: 10}\n", True),
    "min-negative": (BASE + "autoscaling: {min: -1, max: 3, cpu: 50}\n", False),
    "concurrency-zero": (BASE + "autoscaling: {max: 3, concurrency: 0}\n", False),
    "concurrency-float": (BASE + "autoscaling: {max: 3, concurrency: 2.5}\n", False),
    "autoscaler-keda": (BASE + "autoscaling: {max: 3, cpu: 50, autoscaler: keda}\n", True),
    "autoscaler-kpa": (BASE + "autoscaling: {max: 3, cpu: 50, autoscaler: kpa}\n", False),
    "container-concurrency": (BASE + "container_concurrency: 0\n", True),
    "container-concurrency-negative": (BASE + "container_concurrency: -2\n", False),
    "container-concurrency-string": (BASE + "container_concurrency: '4'\n", False),
    "service-account": (BASE + "  secret: s3-creds\n  service_account: models-sa\n", True),
    "service-account-not-a-name": (BASE + "  service_account: Models_SA\n", False),
    "requirements": (BASE + "requirements: [python, triton]\n", True),
    "requirements-empty-string": (BASE + "requirements: ['']\n", False),
    "requirements-not-a-list": (BASE + "requirements: python\n", False),
    "step-full": (BASE + PIPE + "        tensor_map: {a.outputs.T: X}\n        triggers: [a.outputs]\n"
                  "        inputs_join: any\n        triggers_join: outer\n        join_window_ms: 0\n"
                  "        batch: {size: 2, window_ms: 5, rolling: false}\n", True),
    "step-join-unknown": (BASE + PIPE + "        inputs_join: left\n", False),
    "step-batch-size-zero": (BASE + PIPE + "        batch: {size: 0}\n", False),
    "step-batch-unknown-key": (BASE + PIPE + "        batch: {count: 2}\n", False),
    "step-tensor-map-empty-name": (BASE + PIPE + "        tensor_map: {a.outputs.T: ''}\n", False),
    "step-input-with-space": (BASE + PIPE + "        inputs: [a .outputs]\n", False),
    "step-input-empty-part": (BASE + PIPE + "        inputs: [a..outputs]\n", False),
    "pipeline-input": (BASE + PIPE + "    input: {external_inputs: [p.outputs.T], join: outer, "
                       "tensor_map: {p.outputs.T: X}}\n", True),
    "pipeline-input-unknown-key": (BASE + PIPE + "    input: {externalInputs: [p.outputs]}\n", False),
    "output-tensors": (BASE + PIPE + "    output: [a.outputs.T]\n", True),
    "output-long-form": (BASE + PIPE + "    output: {steps: [a], join: any, join_window_ms: 9}\n", True),
    "output-long-form-no-steps": (BASE + PIPE + "    output: {join: any}\n", False),
    "output-long-form-empty": (BASE + PIPE + "    output: {steps: []}\n", False),
    "output-string": (BASE + PIPE + "    output: a\n", False),
    "mirror": (BASE + EXPERIMENT + "    mirror: {name: p, percent: 10}\n", True),
    "mirror-default-percent": (BASE + EXPERIMENT + "    mirror: {name: p}\n", True),
    "mirror-over-100": (BASE + EXPERIMENT + "    mirror: {name: p, percent: 101}\n", False),
    "mirror-no-name": (BASE + EXPERIMENT + "    mirror: {percent: 10}\n", False),
    "graph-transformer": (BASE + GRAPH + "      image: t:1\n      children: [iris]\n      replicas: 2\n"
                          "      logging: {mode: request}\n"
                          "      parameters: [{name: n, type: INT, value: '2'}]\n", True),
    "graph-prepackaged-node": (BASE + GRAPH + "      framework: xgboost\n      uri: s3://m/x/1\n", True),
    "graph-no-nodes": (BASE + "graph: {nodes: {}}\n", False),
    "graph-node-type-unknown": (BASE + "graph:\n  nodes:\n    t: {type: SPLITTER, image: t:1}\n", False),
    "graph-node-no-type": (BASE + "graph:\n  nodes:\n    t: {image: t:1}\n", False),
    "graph-parameter-number": (BASE + GRAPH + "      parameters: [{name: n, type: INT, value: 2}]\n",
                               False),
    "graph-child-not-a-name": (BASE + GRAPH + "      children: [Iris_Model]\n", False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_and_schema_agree_on_ported_keys(case: str) -> None:
    text, accepted = CASES[case]
    assert verdicts(yaml.safe_load(text)) == (accepted, accepted)
