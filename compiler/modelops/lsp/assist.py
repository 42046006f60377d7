"""Hovers and completions for a buffer: what the schema says of the key under the cursor, and what
may be written where the cursor is (keys of the mapping, enum values, teams and environments of
modelops.yaml). Plain data: `server` turns it into the protocol's types."""

from __future__ import annotations

from dataclasses import dataclass

from modelops.compile.project import CONFIG_FILE
from modelops.compile.spec import RepoConfig
from modelops.lsp.context import cursor_at, parents_of, parse_line, siblings
from modelops.lsp.schema import Key, key_at, keys_under


@dataclass(frozen=True)
class Hover:
    markdown: str
    line: int  # 0-based, code points
    start: int
    end: int


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # "key" or "value"
    detail: str = ""
    documentation: str = ""
    insert: str = ""


def hover(shown: str, lines: list[str], line: int, character: int) -> Hover | None:
    """The schema's word on the key under the cursor (None off a key, or for a key it lacks)."""
    if line >= len(lines):
        return None
    parsed = parse_line(lines[line])
    if parsed.key is None or not parsed.key_col <= character <= parsed.key_end:
        return None
    found = key_at(shown, (*parents_of(lines, line, parsed), parsed.key))
    if found is None:
        return None
    return Hover(found.markdown(), line, parsed.key_col, parsed.key_end)


def completions(shown: str, lines: list[str], line: int, character: int,
                config: RepoConfig | None) -> list[Completion]:
    """What may be written at the cursor: a value of the key on its line, or a key of its mapping."""
    cursor = cursor_at(lines, line, character)
    if not cursor.on_key and cursor.key is not None:
        return _values(shown, (*cursor.parents, cursor.key), config)
    text = lines[line] if line < len(lines) else ""
    parsed = parse_line(text)
    col = parsed.key_col if parsed.content >= 0 else len(text[:character])
    present = siblings(lines, line, col)
    if shown != CONFIG_FILE and cursor.parents == ("environments",) and config is not None:
        return [Completion(name, "key", f"environment (namespace {env.namespace})", insert=f"{name}:")
                for name, env in config.environments.items() if name not in present]
    return [_key(k) for k in keys_under(shown, cursor.parents) if k.name not in present]


def _values(shown: str, path: tuple[str, ...], config: RepoConfig | None) -> list[Completion]:
    if shown != CONFIG_FILE and path == ("team",):
        teams = config.teams if config is not None else {}
        return [Completion(name, "value", "team of modelops.yaml",
                           ", ".join(team.reviewers)) for name, team in teams.items()]
    found = key_at(shown, path)
    if found is None:
        return []
    return [Completion(value, "value", found.type, found.description) for value in found.values]


def _key(key: Key) -> Completion:
    return Completion(key.name, "key", key.type, key.description, insert=f"{key.name}: ")
