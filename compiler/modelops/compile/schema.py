"""JSON Schema (draft-07) export of the model spec and repo config, for editors and check-jsonschema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from modelops.compile.spec import ModelSpec, RepoConfig

# A name, not (yet) a download address: editors read the file the modeline names. It carries the
# release line, so tools can tell schema lines apart; an https name, unlike a URN, can later be
# served at that address (SchemaStore) without changing. A constant, not the build's version: a
# development build (0.4.1.dev3+g...) must write the same schemas as the tag it follows. Raise it
# with the minor version when the spec changes.
SCHEMA_LINE = "0.4"
ID_BASE = f"https://modelops-gitops.dev/schemas/{SCHEMA_LINE}/"

SCHEMAS: dict[str, type[BaseModel]] = {
    "model.schema.json": ModelSpec,
    "modelops.schema.json": RepoConfig,
}


def json_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", {})
    schema = _without_titles(_without_null_branches(schema, definitions))
    definitions = {
        key: _without_titles(_without_null_branches(value, definitions))
        for key, value in definitions.items()
    }
    result: dict[str, Any] = {"$id": ID_BASE + name, "$schema": "http://json-schema.org/draft-07/schema#"}
    result.update(schema)
    if definitions:
        result["definitions"] = dict(sorted(definitions.items()))
    return result


def schema_texts() -> dict[str, str]:
    return {
        name: json.dumps(json_schema(model, name), indent=2, sort_keys=True) + "\n"
        for name, model in SCHEMAS.items()
    }


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_texts().items():
        path = directory / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def _without_null_branches(node: Any, definitions: dict[str, Any]) -> Any:
    """`anyOf: [X, {type: null}]` (pydantic's `X | None`) as one schema allowing null.

    `null` stays valid (in a layer it removes what a lower layer set), but an editor then reports
    the real expected type of a wrong value, not "is not of type 'null'" from the second branch.
    """
    if isinstance(node, list):
        return [_without_null_branches(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _without_null_branches(value, definitions) for key, value in node.items()}
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
        # A key outside the pattern (`Main` for a variant name) is refused, as the CLI refuses it.
        node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": next(iter(patterns))}
    branches = node.get("anyOf")
    if not (isinstance(branches, list) and len(branches) == 2 and branches[1] == {"type": "null"}):
        return node
    inner = branches[0]
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    if "$ref" in inner and len(inner) == 1:
        target = definitions.get(inner["$ref"].rsplit("/", 1)[-1], {})
        if target.get("type") != "object":
            return node
        # draft-07 ignores keywords beside $ref: the object is checked through if/then.
        return {**rest, "type": ["object", "null"], "if": {"type": "object"}, "then": inner}
    kind = inner.get("type")
    if isinstance(kind, str | list):
        merged = {**inner, **rest, "type": [*([kind] if isinstance(kind, str) else kind), "null"]}
        if "enum" in inner:
            merged["enum"] = [*inner["enum"], None]
        return merged
    return node


def _without_titles(node: Any) -> Any:
    """Drop pydantic's titles (the class or field name again): editors offered `ModelSpec` as a
    completion and showed "Team" above a description; the descriptions say what each key is."""
    if isinstance(node, list):
        return [_without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: ({name: _without_titles(sub) for name, sub in value.items()}
              if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict)
              else _without_titles(value))
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }
