"""Deployment targets: each turns a resolved model into Kubernetes objects.

A target module provides `NAME`, `check(model) -> list[Diagnostic]` for what it cannot express,
and `render(model) -> list[dict]` for the objects themselves.
"""

from __future__ import annotations

from types import ModuleType

from compiler.targets import seldon_v1

TARGETS: dict[str, ModuleType] = {seldon_v1.NAME: seldon_v1}


def target_for(name: str) -> ModuleType:
    return TARGETS[name]
