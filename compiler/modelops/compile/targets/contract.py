"""What every deployment target provides, and what it tells reviewers about its rendered objects.

A target turns a resolved model into Kubernetes objects (`render`), refuses what it cannot express
(`check`: MO301, never a silent drop), names the objects it and its platform derive (`derived_names`,
for MO210's name budget and MO211's collisions), and reads its own objects back (`describe`): from
plain dicts as committed in `generated/`, per variant its role, version, artifact, share of traffic,
replicas, resources and logging, normalised the way the platform splits traffic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from modelops.compile.resolve import ResolvedModel
from modelops.diagnostics import Diagnostic

Role = Literal["main", "canary", "arm", "shadow"]  # arm: an A/B arm taking as much traffic as main


@dataclass(frozen=True)
class Replicas:
    """Fixed (`min == max`), autoscaled between `min` and `max`, or left to the platform (both None)."""

    min: int | None
    max: int | None
    autoscaled: bool = False

    def __str__(self) -> str:
        if self.autoscaled:
            high = "unbounded" if self.max is None else self.max
            return f"{1 if self.min is None else self.min}-{high} (autoscaled)"
        if self.min is None and self.max is None:
            return "derived from main"
        return str(self.min if self.min is not None else self.max)


@dataclass(frozen=True)
class VariantDescription:
    name: str
    role: Role
    version: str | None  # the modelops.io/version label
    artifact: str | None  # the model URI the platform loads
    traffic: float | None  # percent of the live traffic (None for a shadow)
    mirror: float | None = None  # a shadow: percent of the traffic copied to it
    replicas: Replicas | None = None
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # section -> name -> amount
    logging: str = "off"
    spec: Any = None  # the rendered part behind this variant: when it changes, something changed
    partial: bool = False  # only name, role, version and traffic are known (KServe's rolled-out revision)


@dataclass(frozen=True)
class Description:
    """A model's variants in one environment, and the objects (kind, name) they account for."""

    target: str
    variants: list[VariantDescription]
    described: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str


class Target(Protocol):
    """A target module: `seldon_v1`, `seldon_v2`, `kserve`."""

    NAME: str

    def check(self, model: ResolvedModel) -> list[Diagnostic]: ...

    def render(self, model: ResolvedModel) -> list[dict[str, Any]]: ...

    def derived_names(self, model: ResolvedModel) -> list[tuple[str, str]]: ...

    def observed(self, model: ResolvedModel) -> dict[str, str]:
        """Per variant, the object whose metrics identify it (the observability pack's join key)."""
        ...

    def health_checked(self, model_name: str) -> list[ObjectRef]:
        """The objects a GitOps controller waits on, told how to read their health by modelops."""
        ...

    def recognises(self, objects: Sequence[Mapping[str, Any]]) -> bool:
        """Whether these objects of one model and environment were rendered by this target."""
        ...

    def describe(self, objects: Sequence[Mapping[str, Any]]) -> Description: ...


def role_of(share: float, main_share: float) -> Role:
    """A serving variant besides main: a canary when it takes less traffic than main, else an A/B arm."""
    return "canary" if share < main_share else "arm"


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))
