"""Seldon Core v1 inference graphs: transformers, combiners and routers around the model.

A model file's `graph.nodes` are the nodes beside the model's own (a leaf of type MODEL, named
like its container, `names.graph` or the model). The graph is a tree: every node but the root is
the child of exactly one node, and the model's node is in it. Each predictor (variant) gets the
same graph with its own artifact on the model's node. Nodes with an image get a container: in the
model's componentSpec, or in one of their own when they set `replicas`.
"""

from __future__ import annotations

from typing import Any

from modelops.compile.resolve import Merged, ResolvedModel
from modelops.compile.spec import Graph, GraphNode
from modelops.compile.targets.common import env_list, resource_requirements, unsupported
from modelops.diagnostics import Diagnostic

SERVERS = {
    "sklearn": "SKLEARN_SERVER",
    "xgboost": "XGBOOST_SERVER",
    "mlflow": "MLFLOW_SERVER",
    "tensorflow": "TENSORFLOW_SERVER",
    "triton": "TRITON_SERVER",
    "huggingface": "HUGGINGFACE_SERVER",
}
NEEDS_CHILDREN = ("TRANSFORMER", "OUTPUT_TRANSFORMER", "COMBINER", "ROUTER")


def refuse_graph(model: ResolvedModel) -> list[Diagnostic]:
    """MO301 for `graph` on a target other than seldon-v1."""
    if model.spec.graph is None:
        return []
    return [unsupported(model, None, ("graph",), "graph", "inference graphs with transformers, "
                        "combiners and routers are Seldon Core v1's: use target seldon-v1, or "
                        "pipelines on seldon-v2")]


def root_of(graph: Graph, model_node: str) -> str:
    """The node called first: `root` as written, else the one no node calls."""
    if graph.root:
        return graph.root
    called = {child for node in graph.nodes.values() for child in node.children}
    uncalled = [name for name in graph.nodes if name not in called]
    return uncalled[0] if len(uncalled) == 1 else model_node


def check(model: ResolvedModel, model_node: str) -> list[Diagnostic]:
    """MO281 for a graph that is no tree around the model's node; MO282 for a node without its parts."""
    graph = model.spec.graph
    if graph is None:
        return []
    errors = [model.doc.diagnostic(("graph", "nodes", model_node), "MO281",
                                   f"node {model_node!r} is the model's own node: name this one otherwise")
              for name in graph.nodes if name == model_node]
    errors += _unknown_references(model, graph, model_node)
    if not errors:
        errors += _not_a_tree(model, graph, model_node)
    for name, node in graph.nodes.items():
        errors += _node_problems(model, name, node)
    return errors


def _unknown_references(model: ResolvedModel, graph: Graph, model_node: str) -> list[Diagnostic]:
    known = [*graph.nodes, model_node]
    errors = []
    if graph.root is not None and graph.root not in known:
        errors.append(model.doc.diagnostic(("graph", "root"), "MO281", f"root {graph.root!r} is no "
                                           f"node of the graph (nodes: {', '.join(known)})"))
    for name, node in graph.nodes.items():
        for index, child in enumerate(node.children):
            if child not in known:
                errors.append(model.doc.diagnostic(
                    ("graph", "nodes", name, "children", index), "MO281",
                    f"child {child!r} of node {name!r} is no node of the graph (nodes: {', '.join(known)})"))
    return errors


def _not_a_tree(model: ResolvedModel, graph: Graph, model_node: str) -> list[Diagnostic]:
    """Every node reached once from the root, the model's node among them."""
    root = root_of(graph, model_node)
    seen: list[str] = []
    stack = [root]
    while stack:
        name = stack.pop()
        if name in seen:
            return [model.doc.diagnostic(("graph",), "MO281", f"node {name!r} is called twice (or in a "
                                         "cycle): a Seldon graph is a tree, each node has one caller")]
        seen.append(name)
        stack.extend(reversed(graph.nodes[name].children) if name in graph.nodes else ())
    missing = [name for name in [*graph.nodes, model_node] if name not in seen]
    if not missing:
        return []
    return [model.doc.diagnostic(("graph",), "MO281", f"{', '.join(map(repr, missing))} cannot be "
                                 f"reached from the root {root!r}: add them to a node's children")]


def _node_problems(model: ResolvedModel, name: str, node: GraphNode) -> list[Diagnostic]:
    at = ("graph", "nodes", name)
    errors = []
    if node.type in NEEDS_CHILDREN and not node.children:
        errors.append(model.doc.diagnostic((*at, "type"), "MO282",
                                           f"node {name!r} is a {node.type} and calls no children"))
    if node.framework is not None and (node.type != "MODEL" or node.image is not None):
        errors.append(model.doc.diagnostic((*at, "framework"), "MO282", f"node {name!r}: a framework "
                                           "(prepackaged server) is for a MODEL node without an image"))
    elif node.framework is not None and node.framework not in SERVERS:
        errors.append(model.doc.diagnostic((*at, "framework"), "MO282", f"node {name!r}: Seldon Core v1 "
                                           f"has no prepackaged {node.framework} server"))
    elif node.framework is not None and node.uri is None and node.framework != "huggingface":
        errors.append(model.doc.diagnostic(at, "MO282", f"node {name!r}: the {node.framework} server "
                                           "needs `uri`, the artifact it loads"))
    if node.framework is None and node.image is None:
        errors.append(model.doc.diagnostic(at, "MO282", f"node {name!r} runs nothing: set `image` (or "
                                           "`framework` and `uri` for a MODEL node)"))
    if node.uri is not None and node.framework is None:
        errors.append(model.doc.diagnostic((*at, "uri"), "MO282",
                                           f"node {name!r}: `uri` is read by a framework's server only"))
    return errors


def render(model: ResolvedModel, model_node: dict[str, Any], logging_url: str | None) -> dict[str, Any]:
    """The predictor's `graph`: the tree from the root, the model's node (as rendered) at its place."""
    graph = model.spec.graph
    if graph is None:
        return model_node
    secret = model_node.get("envSecretRefName")

    def node_at(name: str) -> dict[str, Any]:
        if name not in graph.nodes:
            return model_node
        node = graph.nodes[name]
        rendered: dict[str, Any] = {"name": name, "type": node.type}
        if node.framework is not None:
            rendered["implementation"] = SERVERS[node.framework]
        if node.uri is not None:
            rendered["modelUri"] = node.uri
            if secret:
                rendered["envSecretRefName"] = secret
        if node.logging is not None and node.logging.mode != "none":
            url = node.logging.url or logging_url
            rendered["logger"] = {"mode": node.logging.mode, **({"url": url} if url else {})}
        if node.parameters:
            rendered["parameters"] = [p.model_dump() for p in node.parameters]
        if node.children:
            rendered["children"] = [node_at(child) for child in node.children]
        return rendered

    return node_at(root_of(graph, str(model_node["name"])))


def containers(model: ResolvedModel, model_node: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The node containers sharing the model's pods, and the componentSpecs of nodes with replicas."""
    graph = model.spec.graph
    if graph is None:
        return [], []
    shared, own = [], []
    for name in _tree_order(graph, model_node):
        node = graph.nodes[name]
        container = _container(name, node)
        if container is None:
            continue
        if node.replicas is None:
            shared.append(container)
        else:
            own.append({"replicas": node.replicas, "spec": {"containers": [container]}})
    return shared, own


def _tree_order(graph: Graph, model_node: str) -> list[str]:
    order: list[str] = []
    stack = [root_of(graph, model_node)]
    while stack:
        name = stack.pop()
        if name in graph.nodes and name not in order:
            order.append(name)
            stack.extend(reversed(graph.nodes[name].children))
    return order


def _container(name: str, node: GraphNode) -> dict[str, Any] | None:
    """The node's container: its image, resources and env; a prepackaged node only to set them."""
    container: dict[str, Any] = {"name": name}
    if node.image is not None:
        container["image"] = node.image
    settings = Merged(data=node.model_dump(include={"resources", "env"}, exclude_none=True))
    if resources := resource_requirements(settings):
        container["resources"] = resources
    if env := env_list(settings):
        container["env"] = env
    return container if len(container) > 1 else None


def derived_names(model: ResolvedModel, variant: str, model_node: str) -> list[tuple[str, str]]:
    """The Services and Deployments Seldon derives for the graph's nodes in one predictor."""
    graph = model.spec.graph
    if graph is None:
        return []
    sdep = model.spec.name
    shared, own = containers(model, model_node)
    names = [(f"{sdep}-{variant}-{name}", f"Service of graph node {name!r} in variant {variant!r}")
             for name in graph.nodes]
    joined = "-".join([model_node, *(c["name"] for c in shared)])
    if shared:
        names.append((f"{sdep}-{variant}-0-{joined}", f"Deployment of variant {variant!r}"))
    for index, spec in enumerate(own, start=1):
        node = spec["spec"]["containers"][0]["name"]
        names.append((f"{sdep}-{variant}-{index}-{node}", f"Deployment of graph node {node!r}"))
    return names
