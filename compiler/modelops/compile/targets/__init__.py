"""Deployment targets: each turns a resolved model into Kubernetes objects.

Every target module implements `contract.Target` (render, check, derived names, and `describe` for
reviewers). The target of a model in an environment is `ResolvedModel.target` (model
`environments.<env>.target` > model `target` > `modelops.yaml`); the target of rendered objects is
the one that `recognises` them by apiVersion and kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.compile.targets import kserve, seldon_v1, seldon_v2
from modelops.compile.targets.contract import Target

_MODULES: tuple[Target, ...] = (seldon_v1, seldon_v2, kserve)
TARGETS: dict[str, Target] = {m.NAME: m for m in _MODULES}


def target_for(name: str) -> Target:
    return TARGETS[name]


def target_of(objects: Sequence[Mapping[str, Any]]) -> Target | None:
    """The target that rendered these objects of one model and environment, if any did."""
    return next((t for t in _MODULES if t.recognises(objects)), None)
