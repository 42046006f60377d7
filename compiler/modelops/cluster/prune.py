"""Which live objects `modelops sync --prune` may delete: a pure decision, whatever the cluster holds.

An object is prunable only if it carries both ownership labels for this environment, lies in a
namespace the environment owns (its default namespace and every namespace its generated/ENV holds),
or is of a cluster-scoped kind the environment emits, and no environment's `generated/` contains it
any more: an object another environment still generates is never deleted, whatever its labels say,
and labels copied onto an object in `kube-system` or another team's namespace delete nothing. The
label selector sent to the API server is a first filter; this function decides again, so a server
that ignores selectors cannot widen what is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modelops.labels import LABEL_ENV, LABEL_MANAGED_BY, MANAGED_BY

Key = tuple[str, str, str, str]  # (group, kind, namespace, name)


def ownership_selector(env: str) -> str:
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_ENV}={env}"


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def owned(obj: dict[str, Any], env: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(LABEL_MANAGED_BY) == MANAGED_BY and labels.get(LABEL_ENV) == env


@dataclass(frozen=True)
class PruneDecision:
    delete: list[dict[str, Any]]  # sorted by key
    owned: int  # live objects in scope carrying the ownership labels
    share: float  # len(delete) / owned (0 when nothing is owned)
    allowed: bool  # share within the limit, or the limit lifted

    def __post_init__(self) -> None:
        assert len(self.delete) <= self.owned


def decide(live: Iterable[dict[str, Any]], desired: Iterable[Key], env: str,
           namespaces: Iterable[str], max_share: float, allow_all: bool = False,
           cluster_kinds: Iterable[tuple[str, str]] = ()) -> PruneDecision:
    """The live objects to delete, and whether their share of the owned objects is within `max_share`.

    `desired` holds what every environment generates; `namespaces` are the ones the environment
    owns, `cluster_kinds` the (API group, kind) of the cluster-scoped objects it emits.

    Live objects are compared by (API group, kind, namespace, name), so a version bump of a kind does
    not prune it. Objects being deleted already (deletionTimestamp) are not deleted again.
    """
    scope, cluster = set(namespaces) - {""}, set(cluster_kinds)
    wanted = set(desired)
    in_scope: dict[Key, dict[str, Any]] = {}
    for obj in live:
        key = key_of(obj)
        fenced = key[2] in scope if key[2] else key[:2] in cluster
        if owned(obj, env) and fenced and key[3]:
            in_scope.setdefault(key, obj)
    delete = [
        in_scope[key] for key in sorted(in_scope)
        if key not in wanted and not (in_scope[key].get("metadata") or {}).get("deletionTimestamp")
    ]
    share = len(delete) / len(in_scope) if in_scope else 0.0
    return PruneDecision(delete, len(in_scope), share, allow_all or share <= max_share)
