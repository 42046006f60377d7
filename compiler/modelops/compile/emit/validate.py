"""Validate every emitted object before it is written.

Custom resources are checked against CRD schemas (found per kind by modelops.compile.emit.schemas:
given, pulled from the cluster, else bundled), closed so that unknown fields are rejected as a
strict API server would. Core objects are checked against the bundled strict Kubernetes
definitions. Validators are built once per run, with jsonschema-rs: the pure-Python jsonschema
took most of a 1,000-model compile.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema_rs

from modelops.compile.emit.schemas import (
    ALL_CRD_FILES,
    BUNDLED,
    CORE_DEFINITIONS,
    CORE_FILES,
    SchemaSet,
    read_schema,
)


class NoSchema(Exception):
    """No folder has a schema for an emitted kind: reported once per kind (MO901), never skipped."""

    def __init__(self, key: tuple[str, str]) -> None:
        api_version, kind = key
        name = ALL_CRD_FILES.get(key, f"{kind.lower()}.json")
        super().__init__(
            f"no schema to validate generated {kind} ({api_version}) against: run `modelops schemas pull` "
            f"against a cluster that serves it, or pass --crd-dir with a folder holding {name}"
        )
        self.key = key


class ManifestValidator:
    """Checks objects by (apiVersion, kind); returns readable problems, never raises on bad data
    (only NoSchema for a kind without a schema)."""

    def __init__(self, schemas: SchemaSet | None = None) -> None:
        self.schemas = schemas or SchemaSet()
        self._validators: dict[tuple[str, str], Any] = {}

    def problems(self, obj: dict[str, Any]) -> list[str]:
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        validator = self._validator(key)
        if validator is None:
            raise NoSchema(key)
        try:
            found = list(validator.iter_errors(obj))
        except ValueError:  # a str subclass (a YAML literal block): the validator takes plain str only
            found = list(validator.iter_errors(_plain(obj)))
        errors = [(_json_path(e.instance_path), e.message) for e in found]
        return [f"{path}: {message}" for path, message in sorted(errors)]

    def covers(self, key: tuple[str, str]) -> bool:
        return self._validator(key) is not None

    def _validator(self, key: tuple[str, str]) -> Any:
        if key not in self._validators:
            self._validators[key] = self._build(key)
        return self._validators[key]

    def _build(self, key: tuple[str, str]) -> Any:
        source = self.schemas.source(key)
        if source is None:
            return None
        schema = read_schema(source.path)
        if key in CORE_FILES:
            return jsonschema_rs.Draft202012Validator(
                schema, validate_formats=False, registry=_core_registry(), retriever=_offline
            )
        if not source.closed:
            _close(schema)  # a fresh copy: no need for close_objects' deep copy
        return jsonschema_rs.Draft7Validator(schema, validate_formats=False, retriever=_offline)


def close_objects(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI schema where every object with `properties` rejects unknown keys."""
    schema = copy.deepcopy(schema)
    _close(schema)
    return schema


def _ecma_case_insensitive(pattern: str) -> str:
    """`(?i)abort` -> `[aA][bB]...`: JSON Schema patterns are ECMA-262, which has no inline flags
    (PrometheusRule's `partial_response_strategy` uses one)."""
    out, in_class, escaped = [], False, False
    for char in pattern.replace("(?i)", ""):
        if escaped or char == "\\":
            escaped = not escaped and char == "\\"
            out.append(char)
            continue
        in_class = (in_class or char == "[") and char != "]"
        out.append(f"[{char.lower()}{char.upper()}]" if char.isascii() and char.isalpha() and not in_class
                   else char)
    return "".join(out)


def _close(node: Any) -> None:
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        if isinstance(node.get("pattern"), str) and "(?i)" in node["pattern"]:
            node["pattern"] = _ecma_case_insensitive(node["pattern"])
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)


@cache
def _core_registry() -> Any:
    """The Kubernetes definitions the core kinds reference (a bundled subset: see bundle_schemas.py)."""
    definitions = read_schema(BUNDLED / "kubernetes" / CORE_DEFINITIONS)
    return jsonschema_rs.Registry([(definitions["$id"], definitions)], retriever=_offline)


def _offline(uri: str) -> Any:
    """Every schema comes from disk: a reference to anything else is a bug, never a download."""
    raise ValueError(f"schema reference {uri} is not available offline")


def _plain(value: Any) -> Any:
    """A copy with every str subclass turned into str."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    return value


def _json_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(root)"
