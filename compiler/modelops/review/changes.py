"""What a change does to the cluster, in words reviewers care about.

Compares two versions of the `generated/` tree (two git refs, or a ref and what the working tree
compiles to) and explains, per environment and model: objects added, removed or changed, and for
Seldon deployments the model versions, traffic split, shadow, replicas, resources, monitoring and
logging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from modelops.compile.emit.tree import load_documents, stale_diff
from modelops.compile.generators.gitops import FOLDER as GITOPS_FOLDER

VERSION_LABEL = "modelops.io/version"


@dataclass
class ModelChange:
    env: str
    namespace: str
    model: str
    status: str  # added | removed | changed
    details: list[str] = field(default_factory=list)


@dataclass
class Review:
    changes: list[ModelChange]
    raw_diff: str

    @property
    def empty(self) -> bool:
        return not self.changes


def review(before: dict[str, str], after: dict[str, str]) -> Review:
    """Compare two `generated/` trees (relative path -> text)."""
    old, new = _by_model(before), _by_model(after)
    changes = []
    for key in sorted(set(old) | set(new)):
        env, namespace, model = key
        if key not in old:
            changes.append(ModelChange(env, namespace, model, "added", _describe_new(new[key])))
        elif key not in new:
            changes.append(ModelChange(env, namespace, model, "removed", []))
        elif old[key] != new[key]:
            changes.append(ModelChange(env, namespace, model, "changed", _compare(old[key], new[key])))
    return Review(changes, stale_diff(before, after))


def _by_model(tree: dict[str, str]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(env, namespace, model) -> its objects, keyed by kind (`kind name` when a kind repeats).

    A model's objects are in `<env>/<namespace>/<model>.yaml`; trees written before modelops 0.2 have
    a folder per model with a file per object, so a diff across the upgrade shows no change."""
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for path, text in sorted(tree.items()):
        parts = path.removesuffix(".yaml").split("/")
        if not path.endswith(".yaml") or len(parts) not in (3, 4) or parts[0] == GITOPS_FOLDER:
            continue
        try:
            objects = [obj for _, obj in load_documents(text) if isinstance(obj, dict)]
        except yaml.YAMLError:
            objects = [{"kind": f"unparsable {path}", "text": text}]
        found.setdefault((parts[0], parts[1], parts[2]), []).extend(objects)
    models = {}
    for key, objects in found.items():
        kinds = [obj.get("kind") for obj in objects]
        models[key] = {_key(obj, kinds): obj for obj in objects}
    return models


def _key(obj: dict[str, Any], kinds: list[Any]) -> str:
    kind = str(obj.get("kind"))
    return kind if kinds.count(obj.get("kind")) == 1 else f"{kind} {obj.get('metadata', {}).get('name')}"


def _predictors(objects: dict[str, Any]) -> dict[str, dict[str, Any]]:
    sdep = objects.get("SeldonDeployment") or {}
    return {p["name"]: p for p in sdep.get("spec", {}).get("predictors", [])}


def _summary(predictor: dict[str, Any]) -> str:
    version = predictor.get("labels", {}).get(VERSION_LABEL, "?")
    share = "shadow" if predictor.get("shadow") else f"{predictor.get('traffic', 100)}%"
    return f"version {version}, {share}"


def _describe_new(objects: dict[str, Any]) -> list[str]:
    details = [f"variant {name} ({_summary(p)})" for name, p in _predictors(objects).items()]
    details += [f"{kind} added" for kind in sorted(objects) if kind != "SeldonDeployment"]
    return details


def _compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    details: list[str] = []
    old_p, new_p = _predictors(old), _predictors(new)
    for name in sorted(set(old_p) | set(new_p), key=lambda n: (n != "main", n)):
        if name not in old_p:
            kind = "shadow" if new_p[name].get("shadow") else "variant"
            details.append(f"{kind} {name} added ({_summary(new_p[name])})")
        elif name not in new_p:
            details.append(f"variant {name} removed (was {_summary(old_p[name])})")
        else:
            details += _compare_predictor(name, old_p[name], new_p[name])
    for kind in sorted(set(old) | set(new)):
        if kind == "SeldonDeployment":
            continue
        if kind not in old:
            details.append(f"{kind} added")
        elif kind not in new:
            details.append(f"{kind} removed")
        elif old[kind] != new[kind]:
            details.append(f"{kind} changed" + _interval_change(old[kind], new[kind]))
    if not details:
        details.append("metadata changed")
    return details


def _compare_predictor(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    details = []

    def changed(label: str, before: Any, after: Any) -> None:
        if before != after:
            details.append(f"{name}: {label} {_show(before)} -> {_show(after)}")

    changed("version", old.get("labels", {}).get(VERSION_LABEL), new.get("labels", {}).get(VERSION_LABEL))
    changed("traffic", _share(old), _share(new))
    changed("model URI", old["graph"].get("modelUri"), new["graph"].get("modelUri"))
    old_c, new_c = old["componentSpecs"][0], new["componentSpecs"][0]
    changed("replicas", _replicas(old, old_c), _replicas(new, new_c))
    old_res = old_c["spec"]["containers"][0].get("resources", {})
    new_res = new_c["spec"]["containers"][0].get("resources", {})
    changed("resources", _resources(old_res), _resources(new_res))
    changed("logging", (old["graph"].get("logger") or {}).get("mode", "off"),
            (new["graph"].get("logger") or {}).get("mode", "off"))
    if not details and old != new:
        details.append(f"{name}: settings changed")
    return details


def _share(predictor: dict[str, Any]) -> str:
    return "shadow" if predictor.get("shadow") else f"{predictor.get('traffic', 100)}%"


def _replicas(predictor: dict[str, Any], component: dict[str, Any]) -> str:
    hpa = component.get("hpaSpec")
    if hpa:
        return f"{hpa.get('minReplicas', 1)}-{hpa['maxReplicas']} (autoscaled)"
    return str(predictor.get("replicas", 1))


def _resources(resources: dict[str, Any]) -> str:
    parts = []
    for section in ("requests", "limits"):
        values = resources.get(section) or {}
        if values:
            parts.append(section + " " + ",".join(f"{k}={values[k]}" for k in sorted(values)))
    return "; ".join(parts) or "none"


def _interval_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    def interval(obj: dict[str, Any]) -> Any:
        spec = obj.get("spec", {})
        endpoints = spec.get("endpoints") or spec.get("podMetricsEndpoints") or [{}]
        return endpoints[0].get("interval")

    before, after = interval(old), interval(new)
    return f" (scrape interval {before} -> {after})" if before != after else ""


def _show(value: Any) -> str:
    return "none" if value is None else str(value)


# --- rendering ----------------------------------------------------------------------------------

MARKER = "<!-- modelops-review -->"


def to_markdown(result: Review, title: str = "What this change does to the cluster") -> str:
    lines = [MARKER, f"### modelops: {title}", ""]
    if result.empty:
        lines.append("No change to any deployed object.")
        return "\n".join(lines) + "\n"
    counts = {s: sum(c.status == s for c in result.changes) for s in ("added", "changed", "removed")}
    lines.append(", ".join(f"{n} model deployment(s) {s}" for s, n in counts.items() if n) + ".")
    lines += ["", "| environment | model | change | details |", "|---|---|---|---|"]
    for change in result.changes:
        details = "<br>".join(_escape(d) for d in change.details) or "—"
        lines.append(f"| {change.env} | {change.model} | {change.status} | {details} |")
    files = sum(line.startswith("+++ ") for line in result.raw_diff.splitlines())
    lines += [
        "",
        f"<details><summary>YAML diff of generated/ ({files} file(s))</summary>",
        "",
        "```diff",
        result.raw_diff.rstrip("\n"),
        "```",
        "</details>",
    ]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_json(result: Review) -> dict[str, Any]:
    return {
        "changes": [
            {"environment": c.env, "namespace": c.namespace, "model": c.model,
             "status": c.status, "details": c.details}
            for c in result.changes
        ],
        "diff": result.raw_diff,
    }


def print_terminal(result: Review, show_diff: bool) -> None:
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.table import Table

    console = Console()
    if result.empty:
        console.print("No change to any deployed object.")
        return
    table = Table(title="What this change does to the cluster")
    for column in ("environment", "model", "change", "details"):
        table.add_column(column)
    for change in result.changes:
        table.add_row(change.env, change.model, change.status, "\n".join(change.details))
    console.print(table)
    if show_diff:
        console.print(Syntax(result.raw_diff, "diff", theme="ansi_dark"))
