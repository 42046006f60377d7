"""Reading the compiler's files in tests: one file per model and environment, one document per object."""

from __future__ import annotations

from typing import Any

from modelops.compile.emit.tree import load_documents


def documents(text: str) -> list[dict[str, Any]]:
    """The objects of one generated file, in order; every document is a mapping."""
    found = [obj for _, obj in load_documents(text)]
    assert found and all(isinstance(obj, dict) for obj in found), found
    return found


def by_kind(text: str) -> dict[str, dict[str, Any]]:
    """kind -> object of one generated file whose kinds each appear once."""
    objects = documents(text)
    kinds = {obj["kind"]: obj for obj in objects}
    assert len(kinds) == len(objects), [obj["kind"] for obj in objects]
    return kinds


def of_kind(files: dict[str, str], kind: str) -> dict[str, dict[str, Any]]:
    """Every generated object of one kind, keyed by its file's path without `.yaml`."""
    found = {}
    for name, text in files.items():
        if name.endswith("kustomization.yaml") or name.startswith("_gitops/"):
            continue
        for obj in documents(text):
            if obj["kind"] == kind:
                key = name.removesuffix(".yaml")
                assert key not in found, f"{name} holds two {kind} objects"
                found[key] = obj
    return found
