"""Seldon Core v1 inference graphs as its examples write them: an input transformer, an output
transformer chain, a combiner, a router, per-componentSpec replicas and per-node loggers.
`build` validates every SeldonDeployment against the bundled CRD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.expressivity import compile_models, config, messages, one

V1 = config("seldon-v1")


def _model(extra: str, name: str = "spam-classifier") -> str:
    return (f"name: {name}\nteam: risk\nframework: sklearn\n"
            f"artifact:\n  uri: s3://acme-models/{name}/1\n  secret: s3-creds\n" + extra)


def _predictor(tmp: Path, extra: str, variant: int = 0) -> dict[str, Any]:
    result = compile_models(tmp, V1, {"spam-classifier": _model(extra)})
    assert messages(result) == []
    return one(result, "spam-classifier", "SeldonDeployment")["spec"]["predictors"][variant]  # type: ignore[no-any-return]


# Seldon's input_tranformer example: translate the message, then classify it.
TRANSLATOR = """\
graph:
  nodes:
    translator:
      type: TRANSFORMER
      image: registry.example/translator:1.2
      children: [spam-classifier]
      env: {TARGET_LANGUAGE: en}
"""


def test_an_input_transformer_calls_the_model_and_shares_its_pods(tmp_path: Path) -> None:
    predictor = _predictor(tmp_path, TRANSLATOR)
    assert predictor["graph"] == {
        "name": "translator", "type": "TRANSFORMER",
        "children": [{"name": "spam-classifier", "type": "MODEL", "implementation": "SKLEARN_SERVER",
                      "modelUri": "s3://acme-models/spam-classifier/1", "envSecretRefName": "s3-creds"}],
    }
    [component] = predictor["componentSpecs"]
    assert [c["name"] for c in component["spec"]["containers"]] == ["spam-classifier", "translator"]
    assert component["spec"]["containers"][1] == {
        "name": "translator", "image": "registry.example/translator:1.2",
        "env": [{"name": "TARGET_LANGUAGE", "value": "en"}],
    }


# Seldon's graph-metadata example: output-transformer <- input-transformer <- model, each its own pods.
CHAIN = """\
graph:
  root: output-transformer
  nodes:
    output-transformer:
      type: OUTPUT_TRANSFORMER
      image: seldonio/metadata-generic-node:1.14.0-dev
      children: [input-transformer]
      replicas: 1
    input-transformer:
      type: TRANSFORMER
      image: seldonio/metadata-generic-node:1.14.0-dev
      children: [spam-classifier]
      replicas: 3
      resources: {requests: {cpu: 100m}}
      logging: {mode: request, url: http://logger.seldon-logs}
"""


def test_a_chain_with_per_component_replicas_and_a_node_logger(tmp_path: Path) -> None:
    predictor = _predictor(tmp_path, CHAIN)
    graph = predictor["graph"]
    assert (graph["name"], graph["type"]) == ("output-transformer", "OUTPUT_TRANSFORMER")
    inner = graph["children"][0]
    assert inner["logger"] == {"mode": "request", "url": "http://logger.seldon-logs"}
    assert inner["children"][0]["name"] == "spam-classifier"
    specs = predictor["componentSpecs"]
    assert [(s.get("replicas"), [c["name"] for c in s["spec"]["containers"]]) for s in specs] == [
        (None, ["spam-classifier"]), (1, ["output-transformer"]), (3, ["input-transformer"])]
    assert specs[2]["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}
    assert predictor["replicas"] == 1  # the model's own pods


# A combiner over the model and a prepackaged xgboost model, and a router between two models.
COMBINER = """\
graph:
  nodes:
    ensemble:
      type: COMBINER
      image: registry.example/average-combiner:0.3
      children: [spam-classifier, spam-xgb]
    spam-xgb:
      type: MODEL
      framework: xgboost
      uri: s3://acme-models/spam-xgb/4
      logging: {mode: all}
logging: {mode: response, url: http://logger.seldon-logs}
"""


def test_a_combiner_over_the_model_and_a_prepackaged_model(tmp_path: Path) -> None:
    predictor = _predictor(tmp_path, COMBINER)
    model_node, xgb = predictor["graph"]["children"]
    assert model_node["logger"] == {"mode": "response", "url": "http://logger.seldon-logs"}
    assert xgb == {"name": "spam-xgb", "type": "MODEL", "implementation": "XGBOOST_SERVER",
                   "modelUri": "s3://acme-models/spam-xgb/4", "envSecretRefName": "s3-creds",
                   "logger": {"mode": "all", "url": "http://logger.seldon-logs"}}
    # a prepackaged node needs no container of ours
    assert [c["name"] for c in predictor["componentSpecs"][0]["spec"]["containers"]] == [
        "spam-classifier", "ensemble"]


ROUTER = """\
graph:
  nodes:
    eg-router:
      type: ROUTER
      image: seldonio/mab_epsilon_greedy:1.18.2
      children: [spam-classifier, spam-v2]
      parameters:
        - {name: n_branches, type: INT, value: "2"}
        - {name: epsilon, type: FLOAT, value: "0.2"}
    spam-v2:
      type: MODEL
      image: registry.example/spam:2.0
traffic:
  main: {weight: 90}
  canary: {weight: 10, artifact: {uri: s3://acme-models/spam-classifier/2}}
"""


def test_a_router_with_parameters_in_every_predictor(tmp_path: Path) -> None:
    main, canary = _predictor(tmp_path, ROUTER, 0), _predictor(tmp_path / "again", ROUTER, 1)
    assert main["graph"]["parameters"] == [{"name": "n_branches", "type": "INT", "value": "2"},
                                           {"name": "epsilon", "type": "FLOAT", "value": "0.2"}]
    assert main["graph"]["children"][0]["modelUri"] == "s3://acme-models/spam-classifier/1"
    assert canary["graph"]["children"][0]["modelUri"] == "s3://acme-models/spam-classifier/2"
    assert canary["graph"]["children"][1] == {"name": "spam-v2", "type": "MODEL"}


@pytest.mark.parametrize(("graph", "expected"), [
    ("  nodes:\n    t: {type: TRANSFORMER, image: t:1, children: [spam]}\n",
     "models/spam-classifier.yaml:9:51: MO281 child 'spam' of node 't' is no node of the graph "
     "(nodes: t, spam-classifier)"),
    ("  nodes:\n    a: {type: COMBINER, image: a:1, children: [spam-classifier, b]}\n"
     "    b: {type: TRANSFORMER, image: b:1, children: [spam-classifier]}\n",
     "models/spam-classifier.yaml:8:3: MO281 node 'spam-classifier' is called twice (or in a cycle): "
     "a Seldon graph is a tree, each node has one caller"),
    ("  root: a\n  nodes:\n    a: {type: TRANSFORMER, image: a:1, children: [spam-classifier]}\n"
     "    b: {type: ROUTER, image: b:1, children: [a]}\n",
     "models/spam-classifier.yaml:8:3: MO281 'b' cannot be reached from the root 'a': add them to "
     "a node's children"),
    ("  nodes:\n    a: {type: COMBINER, image: a:1}\n",
     ("models/spam-classifier.yaml:8:3: MO281 'spam-classifier' cannot be reached from the root 'a': "
      "add them to a node's children",
      "models/spam-classifier.yaml:9:15: MO282 node 'a' is a COMBINER and calls no children")),
    ("  nodes:\n    a: {type: TRANSFORMER, children: [spam-classifier]}\n",
     "models/spam-classifier.yaml:9:8: MO282 node 'a' runs nothing: set `image` (or `framework` "
     "and `uri` for a MODEL node)"),
    ("  nodes:\n    a: {type: COMBINER, image: a:1, children: [spam-classifier, b]}\n"
     "    b: {type: MODEL, framework: xgboost}\n",
     "models/spam-classifier.yaml:10:8: MO282 node 'b': the xgboost server needs `uri`, the "
     "artifact it loads"),
])
def test_a_graph_that_seldon_would_refuse_is_one_line(tmp_path: Path, graph: str,
                                                      expected: str | tuple[str, ...]) -> None:
    result = compile_models(tmp_path, V1, {"spam-classifier": _model("graph:\n" + graph)})
    assert messages(result) == ([expected] if isinstance(expected, str) else list(expected))
    assert result.files == {} or not any("spam-classifier" in path for path in result.files)


@pytest.mark.parametrize("target", ["seldon-v2", "kserve"])
def test_a_graph_on_another_target_is_refused(tmp_path: Path, target: str) -> None:
    result = compile_models(tmp_path, config(target), {"spam-classifier": _model(TRANSLATOR)})
    assert messages(result) == [
        f"models/spam-classifier.yaml:8:3: MO301 graph is not supported on target {target}: inference "
        "graphs with transformers, combiners and routers are Seldon Core v1's: use target seldon-v1, "
        "or pipelines on seldon-v2"]
