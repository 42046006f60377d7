"""Which keys a spec class accepts at a position, and where else a key is valid: for MO101's hints."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from functools import cache

from pydantic import BaseModel

# How a mapping of names reads in a hint: `traffic.<variant>`, `environments.<env>`.
_PLACEHOLDERS = {"traffic": "<variant>", "environments": "<env>", "teams": "<team>"}


def _branches(annotation: object) -> list[object]:
    """The non-None members of an optional/union annotation (the annotation itself otherwise)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _branches(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [arg for branch in typing.get_args(annotation) for arg in _branches(branch)]
    return [] if annotation is type(None) else [annotation]


def _step(annotation: object, part: object) -> object | None:
    """The annotation one `loc` step below `annotation` (a field, a mapping value, a list item)."""
    for branch in _branches(annotation):
        origin = typing.get_origin(branch)
        if isinstance(branch, type) and issubclass(branch, BaseModel):
            for name, info in branch.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
        elif origin is dict:
            value: object = typing.get_args(branch)[1]
            return value
        elif origin is list and isinstance(part, int):
            item: object = typing.get_args(branch)[0]
            return item
    return None


def model_at(root: type[BaseModel], loc: tuple[object, ...]) -> type[BaseModel] | None:
    """The spec class whose keys are valid at `loc` (a pydantic error location), if any."""
    annotation: object = root
    for part in loc:
        found = _step(annotation, part)
        if found is None:
            return None
        annotation = found
    for branch in _branches(annotation):
        if isinstance(branch, type) and issubclass(branch, BaseModel):
            return branch
    return None


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a file writes for `model`: each field's alias, else its name."""
    return sorted(info.alias or name for name, info in model.model_fields.items())


@cache
def places(root: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Every key under `root` -> the dotted places it is valid at ("" is the top level), shortest first."""
    found: dict[str, list[str]] = {}
    for key, where in _walk(root, "", frozenset()):
        found.setdefault(key, []).append(where)
    return {key: tuple(sorted(set(paths), key=lambda p: (p.count("."), p))) for key, paths in found.items()}


def _walk(model: type[BaseModel], where: str, seen: frozenset[type]) -> Iterator[tuple[str, str]]:
    for name, info in model.model_fields.items():
        key = info.alias or name
        yield key, where
        below = f"{where}.{key}" if where else key
        for branch in _branches(info.annotation):
            if typing.get_origin(branch) is dict:
                below = f"{below}.{_PLACEHOLDERS.get(key, '<name>')}"
                branch = typing.get_args(branch)[1]
            if isinstance(branch, type) and issubclass(branch, BaseModel) and branch not in seen:
                yield from _walk(branch, below, seen | {model})


def unknown_key_hint(
    root: type[BaseModel], loc: tuple[object, ...], other: tuple[str, type[BaseModel]] | None = None
) -> str:
    """' (did you mean ...?)' from the keys valid at `loc`'s parent, or where the key belongs instead:
    under `root`, else in the `other` (file description, root) kind of file."""
    key = str(loc[-1])
    parent = model_at(root, loc[:-1])
    valid = [k for k in keys_of(parent) if k != key] if parent is not None else []
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    elsewhere = places(root).get(key, ())[:2]
    if not elsewhere:
        if other is None or not places(other[1]).get(key):
            return ""
        spot = places(other[1])[key][0] or "the top level"
        return f" ({key!r} belongs in {other[0]}, at {spot})"
    here = _placeholder_path(loc[:-1]) or "the top level"
    spots = " or ".join("the top level" if p == "" else p for p in elsewhere)
    return f" ({key!r} is valid at {spots}, not under {here})"


def _placeholder_path(loc: tuple[object, ...]) -> str:
    """`traffic.canary` -> `traffic.<variant>`: the place, not the instance."""
    parts: list[str] = []
    previous = ""
    for part in loc:
        text = str(part)
        parts.append(_PLACEHOLDERS.get(previous, text))
        previous = text if previous not in _PLACEHOLDERS else ""
    return ".".join(parts)
