"""`sync --wait`: poll the synced serving objects with GETs until each is ready, failed or out of time.

Readiness per kind is `modelops.cluster.readiness`. One progress line per object as it settles, and a
line every `remind` seconds naming what is still pending. A failed object (MO710) or the timeout (MO711)
is one diagnostic at the object's line in its generated file, quoting the object's own status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelops.cluster.kube import ApiError, Cluster
from modelops.cluster.readiness import FAILED, READY, Readiness, awaited, readiness
from modelops.cluster.sync import object_label
from modelops.diagnostics import Diagnostic

if TYPE_CHECKING:
    from modelops.cluster.sync import Desired


@dataclass
class Waited:
    ready: list[Desired] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # label -> the object's own status message
    diagnostics: list[Diagnostic] = field(default_factory=list)


def label(item: Desired) -> str:
    return object_label(item.obj)


def _look(cluster: Cluster, item: Desired) -> Readiness:
    meta = item.obj["metadata"]
    try:
        live = cluster.get(item.obj["apiVersion"], item.obj["kind"], meta.get("namespace"), meta["name"])
    except ApiError as exc:
        return Readiness("pending", f"cannot read it: {exc}")
    if live is None:
        return Readiness("pending", "not found in the cluster")
    return readiness(live)


def wait(cluster: Cluster, desired: list[Desired], *, timeout: float, interval: float = 2.0,
         remind: float = 10.0, progress: Callable[[str], None] = print,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Waited:
    """Wait for every awaited object in `desired` (SeldonDeployments, Core 2 Models/Experiments,
    InferenceServices); the others need no waiting."""
    result = Waited()
    pending = [item for item in desired if awaited(item.obj)]
    last: dict[int, Readiness] = {}
    start = clock()
    reminded = start
    if pending:
        progress(f"Waiting up to {timeout:g}s for {len(pending)} object(s) to become ready")
    while pending:
        for item in list(pending):
            seen = last[id(item)] = _look(cluster, item)
            if seen.state == READY:
                pending.remove(item)
                result.ready.append(item)
                progress(f"ready    {label(item)} ({clock() - start:.0f}s)")
            elif seen.state == FAILED:
                pending.remove(item)
                progress(f"failed   {label(item)}: {seen.message}")
                result.failures[label(item)] = seen.message
                result.diagnostics.append(Diagnostic(item.file, item.line, 1, "MO710",
                                                     f"{label(item)} failed: {seen.message}"))
        if not pending:
            break
        now = clock()
        if now - start >= timeout:
            for item in pending:
                result.failures[label(item)] = f"not ready after {timeout:g}s: {last[id(item)].message}"
                result.diagnostics.append(Diagnostic(
                    item.file, item.line, 1, "MO711",
                    f"{label(item)} not ready after {timeout:g}s: {last[id(item)].message}"))
            break
        if now - reminded >= remind:
            reminded = now
            names = ", ".join(label(item) for item in pending[:3]) + (", ..." if len(pending) > 3 else "")
            progress(f"still waiting ({now - start:.0f}s of {timeout:g}s) for {len(pending)}: {names}")
        sleep(min(interval, max(0.0, timeout - (now - start))))
    return result
