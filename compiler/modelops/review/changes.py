"""What a change does to the cluster, in words reviewers care about.

Compares two versions of the `generated/` tree (two git refs, or a ref and what the working tree
compiles to) and explains, per environment and model: objects added, removed or changed, and through
the target's `describe` (Seldon Core v1, Seldon Core 2, KServe: told apart by apiVersion and kind) the
variants' versions, traffic split, shadow, replicas, resources, model URI and logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from modelops.compile.emit.tree import load_documents, stale_diff
from modelops.compile.generators.gitops import FOLDER as GITOPS_FOLDER
from modelops.compile.targets import target_of
from modelops.compile.targets.contract import Description, VariantDescription
from modelops.markdown import fence, inline


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


def _description(objects: dict[str, Any]) -> Description | None:
    values = list(objects.values())
    target = target_of(values)
    return None if target is None else target.describe(values)


def _variants(description: Description | None) -> dict[str, VariantDescription]:
    return {} if description is None else {v.name: v for v in description.variants}


def _others(objects: dict[str, Any], description: Description | None) -> dict[str, Any]:
    """The objects the variants do not account for (monitors, rules, Services...), by key."""
    described = description.described if description else frozenset()
    return {key: obj for key, obj in objects.items()
            if (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))) not in described}


def _summary(variant: VariantDescription) -> str:
    return f"version {variant.version or '?'}, {_share(variant)}"


def _describe_new(objects: dict[str, Any]) -> list[str]:
    description = _description(objects)
    details = [f"variant {name} ({_summary(v)})" for name, v in _variants(description).items()]
    details += [f"{kind} added" for kind in sorted(_others(objects, description))]
    return details


def _compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    details: list[str] = []
    old_d, new_d = _description(old), _description(new)
    old_v, new_v = _variants(old_d), _variants(new_d)
    moved = old_d is not None and new_d is not None and old_d.target != new_d.target
    if old_d is not None and new_d is not None and moved:
        details.append(f"target {old_d.target} -> {new_d.target}")
    mains = {v.name for v in (*old_v.values(), *new_v.values()) if v.role == "main"}
    for name in sorted(set(old_v) | set(new_v), key=lambda n: (n not in mains, n)):
        if name not in old_v:
            kind = "shadow" if new_v[name].role == "shadow" else "variant"
            details.append(f"{kind} {name} added ({_summary(new_v[name])})")
        elif name not in new_v:
            details.append(f"variant {name} removed (was {_summary(old_v[name])})")
        else:
            details += _compare_variant(name, old_v[name], new_v[name], same_target=not moved)
    old_o, new_o = _others(old, old_d), _others(new, new_d)
    for kind in sorted(set(old_o) | set(new_o)):
        if kind not in old_o:
            details.append(f"{kind} added")
        elif kind not in new_o:
            details.append(f"{kind} removed")
        elif old_o[kind] != new_o[kind]:
            details.append(f"{kind} changed" + _interval_change(old_o[kind], new_o[kind]))
    if not details:
        details.append("metadata changed")
    return details


def _compare_variant(name: str, old: VariantDescription, new: VariantDescription, *,
                     same_target: bool = True) -> list[str]:
    details = []

    def changed(label: str, before: Any, after: Any) -> None:
        if before != after:
            details.append(f"{name}: {label} {_show(before)} -> {_show(after)}")

    changed("version", old.version, new.version)
    changed("traffic", _share(old), _share(new))
    if old.partial or new.partial:  # the rolled-out revision: nothing else of it is known
        return details
    changed("model URI", old.artifact, new.artifact)
    changed("replicas", _show(old.replicas), _show(new.replicas))
    changed("resources", _resources(old.resources), _resources(new.resources))
    changed("logging", old.logging, new.logging)
    if not details and same_target and old.spec != new.spec:  # other targets render other specs
        details.append(f"{name}: settings changed")
    return details


def _share(variant: VariantDescription) -> str:
    if variant.role == "shadow":
        mirror = variant.mirror
        return "shadow" if mirror is None or mirror == 100 else f"shadow, {_percent(mirror)}% mirrored"
    return f"{_percent(variant.traffic or 0)}%"


def _percent(value: float) -> str:
    """Whole percents as integers (20), other shares to a tenth (33.3)."""
    rounded = round(value, 1)
    return str(int(rounded)) if float(rounded).is_integer() else str(rounded)


def _resources(resources: Mapping[str, Mapping[str, Any]]) -> str:
    sections = [s for s in ("requests", "limits") if s in resources]
    sections += sorted(s for s in resources if s not in ("requests", "limits"))
    parts = []
    for section in sections:
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
        details = "<br>".join(inline(d) for d in change.details) or "—"
        lines.append(f"| {inline(change.env)} | {inline(change.model)} | {change.status} | {details} |")
    files = sum(line.startswith("+++ ") for line in result.raw_diff.splitlines())
    lines += [
        "",
        f"<details><summary>YAML diff of generated/ ({files} file(s))</summary>",
        "",
        *fence(result.raw_diff.rstrip("\n"), "diff"),
        "</details>",
    ]
    return "\n".join(lines) + "\n"


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
    from rich.markup import escape
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
        # rich reads `[...]` as markup (styles, terminal links): user text is escaped, as in Markdown
        table.add_row(escape(change.env), escape(change.model), change.status,
                      escape("\n".join(change.details)))
    console.print(table)
    if show_diff:
        console.print(Syntax(result.raw_diff, "diff", theme="ansi_dark"))
