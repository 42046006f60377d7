"""`modelops drift --env ENV`: where the cluster differs from generated/ENV (someone edited a live object).

Same comparison as `modelops sync`'s plan (fields modelops sets only; server-filled fields and fields an
autoscaler owns are ignored), shown with both values. A separate command from `modelops diff`, which
compares git revisions.
"""

from __future__ import annotations

from typing import Any


def drift_lines(change: Any) -> list[str]:
    """`path: live X, generated Y` for each drifted field of an update."""
    from modelops.cluster.fields import lookup, undotted

    lines = []
    for name in change.fields:
        path = undotted(name.removesuffix(" (removed)"))
        _, live = lookup(change.live or {}, path)
        _, wanted = lookup(change.obj, path)
        if name.endswith(" (removed)"):
            lines.append(f"{name}: live {_short(live)}, no longer generated")
        else:
            lines.append(f"{name}: live {_short(live)}, generated {_short(wanted)}")
    return lines


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True) if value is not None else "(unset)"
    return text if len(text) <= 80 else text[:77] + "..."
