"""What the JSON Schemas of `modelops schema` say of a key: its description, type, default, the keys
a mapping takes and the values an enum allows (the schemas come from the pydantic specs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelops.compile.project import CONFIG_FILE
from modelops.compile.schema import json_schema
from modelops.compile.spec import ModelSpec, RepoConfig
from modelops.lsp.context import ITEM

Node = dict[str, Any]


@cache
def schema_for(shown: str) -> Node:
    """The schema of the file `shown` (modelops.yaml, else a model file)."""
    if shown == CONFIG_FILE:
        return json_schema(RepoConfig, "modelops.schema.json")
    return json_schema(ModelSpec, "model.schema.json")


@dataclass(frozen=True)
class Key:
    """A key as the schema has it."""

    name: str
    node: Node
    definitions: Node

    @property
    def description(self) -> str:
        text = self.node.get("description")
        if not text:
            text = next((t["description"] for t in _targets(self.node, self.definitions)
                         if t.get("description")), "")
        return str(text)

    @property
    def type(self) -> str:
        values = self.values
        if values:
            return " | ".join(values)
        kinds: list[str] = []
        for target in (self.node, *_targets(self.node, self.definitions)):
            kind = target.get("type")
            for each in [kind] if isinstance(kind, str) else kind or []:
                if each != "null" and each not in kinds:
                    kinds.append(each)
            if "patternProperties" in target and "map" not in kinds:
                kinds = [k for k in kinds if k != "object"] + ["map"]
        return ", ".join("list" if k == "array" else k for k in kinds) or "any"

    @property
    def default(self) -> str | None:
        value = self.node.get("default")
        return None if value is None else json.dumps(value, sort_keys=True)

    @property
    def values(self) -> list[str]:
        """The values an enum (or a boolean) allows."""
        found: list[str] = []
        for target in (self.node, *_targets(self.node, self.definitions)):
            found += [str(v) for v in target.get("enum", []) if v is not None and str(v) not in found]
            kind = target.get("type")
            if (kind == "boolean" or (isinstance(kind, list) and "boolean" in kind)) and not found:
                found = ["true", "false"]
        return found

    def markdown(self) -> str:
        """The hover text: the key, its type and default, then its description."""
        head = f"**{self.name}**: `{self.type}`"
        if self.default is not None:
            head += f" (default `{self.default}`)"
        return f"{head}\n\n{self.description}".rstrip()


def key_at(shown: str, path: tuple[str, ...]) -> Key | None:
    """The key at `path` (keys, ITEM for a list item) in the file `shown`; None when the schema has
    no such key."""
    schema = schema_for(shown)
    definitions = schema.get("definitions", {})
    node: Node | None = schema
    for step in path:
        node = _child(node, step, definitions) if node is not None else None
    if node is None or not path or path[-1] == ITEM:
        return None
    return Key(path[-1], node, definitions)


def keys_under(shown: str, path: tuple[str, ...]) -> list[Key]:
    """The keys the mapping at `path` takes (its named properties), in order."""
    schema = schema_for(shown)
    definitions = schema.get("definitions", {})
    node: Node | None = schema
    for step in path:
        node = _child(node, step, definitions) if node is not None else None
    if node is None:
        return []
    found: dict[str, Key] = {}
    for target in (node, *_targets(node, definitions)):
        for name, child in sorted(target.get("properties", {}).items()):
            found.setdefault(name, Key(name, child, definitions))
    return list(found.values())


def _child(node: Node, step: str, definitions: Node) -> Node | None:
    for target in (node, *_targets(node, definitions)):
        if step == ITEM:
            items = target.get("items")
            if isinstance(items, dict):
                return items
            continue
        properties = target.get("properties", {})
        if step in properties:
            return dict(properties[step])
        patterns = target.get("patternProperties")
        if isinstance(patterns, dict) and patterns:
            return dict(next(iter(patterns.values())))
        extra = target.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
    return None


def _targets(node: Node, definitions: Node, depth: int = 0) -> Iterator[Node]:
    """The schemas `node` stands for besides itself: through $ref, if/then and the branches of
    anyOf / oneOf / allOf."""
    if depth > 8:
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        target = definitions.get(ref.rsplit("/", 1)[1])
        if isinstance(target, dict):
            yield target
            yield from _targets(target, definitions, depth + 1)
    for key in ("then", "anyOf", "oneOf", "allOf"):
        branches = node.get(key)
        for branch in [branches] if isinstance(branches, dict) else branches or []:
            if isinstance(branch, dict):
                yield branch
                yield from _targets(branch, definitions, depth + 1)
