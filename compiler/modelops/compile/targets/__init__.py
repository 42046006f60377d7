"""Deployment targets: each turns a resolved model into Kubernetes objects.

A target module provides `NAME`, `check(model) -> list[Diagnostic]` for what it cannot express
(MO301, never a silent drop), `render(model) -> list[dict]` for the objects themselves, and
`derived_names(model)` for the name budget and cross-model collisions. The target of a model in an
environment is `ResolvedModel.target` (model `environments.<env>.target` > model `target` >
`modelops.yaml`).
"""

from __future__ import annotations

from types import ModuleType

from modelops.compile.targets import kserve, seldon_v1, seldon_v2

TARGETS: dict[str, ModuleType] = {m.NAME: m for m in (seldon_v1, seldon_v2, kserve)}


def target_for(name: str) -> ModuleType:
    return TARGETS[name]
