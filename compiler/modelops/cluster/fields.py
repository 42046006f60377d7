"""Compare a desired object with its live copy on the fields modelops sets, and nothing else.

Server-filled fields (status, uid, defaults, clusterIP ...) are not in the desired object, so they are
never compared. Fields another manager owns through a subresource (replicas an HPA sets via `/scale`)
or that a trusted controller owns are yielded: not compared and left out of what modelops applies, so
an autoscaled model does not flap. Fields modelops applied before but no longer sets count as a change
(server-side apply removes them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Set
from typing import Any

from modelops.cluster.kube import FIELD_MANAGER

Path = tuple[str | int, ...]
# Controllers whose field ownership modelops respects (kube-controller-manager runs the HPA).
TRUSTED_MANAGERS = frozenset({"kube-controller-manager"})
_SYSTEM_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp")


def leaves(value: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar (and empty container) of a JSON value with its path."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from leaves(value[key], (*prefix, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*prefix, index))
    else:
        yield prefix, value


def lookup(value: Any, path: Path) -> tuple[bool, Any]:
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return False, None
        elif not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def yielded_paths(desired: dict[str, Any], live: dict[str, Any] | None,
                  trusted: Iterable[str] = TRUSTED_MANAGERS) -> set[Path]:
    """Desired paths another manager owns via a subresource or as a trusted controller."""
    if not live:
        return set()
    trusted = set(trusted)
    result: set[Path] = set()
    for entry in live.get("metadata", {}).get("managedFields") or []:
        manager = entry.get("manager", "")
        if manager == FIELD_MANAGER or not (entry.get("subresource") or manager in trusted):
            continue
        result |= owned_paths(entry.get("fieldsV1") or {}, desired)
    return result


def owned_paths(fields: dict[str, Any], value: Any, prefix: Path = ()) -> set[Path]:
    """Paths of `value` covered by a managedFields `fieldsV1` tree (f: keys and k: list items)."""
    found: set[Path] = set()
    if not fields or "." in fields:
        if prefix:
            found.add(prefix)
        if not fields:
            return found
    for key, sub in fields.items():
        if key.startswith("f:") and isinstance(value, dict) and key[2:] in value:
            found |= owned_paths(sub, value[key[2:]], (*prefix, key[2:]))
        elif key.startswith("k:") and isinstance(value, list):
            try:
                wanted = json.loads(key[2:])
            except ValueError:
                continue
            for index, item in enumerate(value):
                if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items()):
                    found |= owned_paths(sub, item, (*prefix, index))
    return found


def without(obj: dict[str, Any], paths: set[Path]) -> dict[str, Any]:
    """A copy of `obj` without the given paths (list items are kept: only their fields go)."""
    def strip(value: Any, prefix: Path) -> Any:
        if isinstance(value, dict):
            return {k: strip(v, (*prefix, k)) for k, v in value.items() if (*prefix, k) not in paths}
        if isinstance(value, list):
            return [strip(v, (*prefix, i)) for i, v in enumerate(value)]
        return value

    stripped: dict[str, Any] = strip(obj, ())
    return stripped


def differences(desired: dict[str, Any], live: dict[str, Any], ignore: Set[Path] = frozenset(),
                ) -> list[str]:
    """Dotted paths where the live object differs from the desired one (sorted, '' when equal).

    Lists must have the same length; their items are compared field by field, so defaults the server
    adds inside items (ports[].protocol, containers[].imagePullPolicy) do not count.
    """
    changed: list[str] = []
    _compare(desired, live, (), ignore, changed)
    changed += [f"{dotted(path)} (removed)" for path in _dropped(desired, live)]
    return sorted(set(changed))


def _compare(want: Any, have: Any, path: Path, ignore: Set[Path], out: list[str]) -> None:
    if path in ignore or (len(path) >= 2 and path[0] == "metadata" and path[1] in _SYSTEM_METADATA):
        return
    if isinstance(want, dict):
        if not isinstance(have, dict):
            out.append(dotted(path))
            return
        for key, value in want.items():
            if key not in have:
                if value not in (None, {}, []):
                    out.append(dotted((*path, key)))
                continue
            _compare(value, have[key], (*path, key), ignore, out)
    elif isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            out.append(dotted(path))
            return
        for index, (a, b) in enumerate(zip(want, have, strict=True)):
            _compare(a, b, (*path, index), ignore, out)
    elif not _same_scalar(want, have):
        out.append(dotted(path))


def _same_scalar(want: Any, have: Any) -> bool:
    if want == have and type(want) is type(have):
        return True
    # int-or-string fields and quantities come back as the server spells them.
    return not isinstance(want, bool) and not isinstance(have, bool) and str(want) == str(have)


def _dropped(desired: dict[str, Any], live: dict[str, Any]) -> list[Path]:
    """Fields modelops applied before (its own managedFields entry) that the desired object drops."""
    mine = [e for e in live.get("metadata", {}).get("managedFields") or []
            if e.get("manager") == FIELD_MANAGER and e.get("operation") == "Apply"
            and not e.get("subresource")]
    dropped = []
    for entry in mine:
        for path in owned_paths(entry.get("fieldsV1") or {}, live):
            if path[:1] == ("metadata",) and path[1:2] and path[1] in _SYSTEM_METADATA:
                continue
            if not lookup(desired, path)[0]:
                dropped.append(path)
    return dropped


def dotted(path: Path) -> str:
    """`spec.predictors[0].graph`; a key holding a dot or bracket (a label such as
    app.kubernetes.io/name) is written `["app.kubernetes.io/name"]`, so `undotted` reads it back."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "(root)"


def undotted(text: str) -> Path:
    """The path `dotted` wrote."""
    return tuple(int(index) if index else json.loads(quoted) if quoted else key
                 for key, index, quoted in _PART.findall(text))


_PLAIN_KEY = re.compile(r"[^.\[\]\"]+")
_PART = re.compile(r'([^.\[\]"]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
