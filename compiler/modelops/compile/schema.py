"""JSON Schema (draft-07) export of the model spec and repo config, for editors and check-jsonschema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from modelops import __version__
from modelops.compile.spec import ModelSpec, RepoConfig

# A name, not (yet) a download address: editors read the file the modeline names. It carries the
# minor version, so tools can tell schema lines apart; an https name, unlike a URN, can later be
# served at that address (SchemaStore) without changing.
ID_BASE = "https://modelops-gitops.dev/schemas/" + ".".join(__version__.split(".")[:2]) + "/"

SCHEMAS: dict[str, type[BaseModel]] = {
    "model.schema.json": ModelSpec,
    "modelops.schema.json": RepoConfig,
}


def json_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", {})
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
