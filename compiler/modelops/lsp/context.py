"""Where the cursor is in a block-style YAML text, read from the lines alone (a buffer being typed
is seldom valid YAML): the keys above it, the key it is on, whether it is on the key or its value.

A path is a tuple of keys, with ITEM for "an item of a list": `traffic.main.weight` is
("traffic", "main", "weight"), a pipeline's step ("pipelines", "p", "steps", ITEM, "model").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ITEM = "[]"

# indentation, an optional "- ", then a key (plain or quoted) and a colon ending it, then the rest
_LINE = re.compile(
    r"""^(?P<indent>\s*)(?P<dash>-(?:\s+|$))?"""
    r"""(?:(?P<key>"[^"]*"|'[^']*'|[^\s#'"\-?:,\[\]{}][^#:]*?|-[^\s#:][^#:]*?)\s*:(?=\s|$))?"""
)


@dataclass(frozen=True)
class Line:
    """One line's structure: where its content starts, a list item's dash, its key."""

    content: int  # column of the first character that is no space (-1: blank or comment)
    dash: int | None  # column of "- " starting a list item
    key: str | None
    key_col: int  # column of the key (or of the item's content without one)
    key_end: int
    value_col: int  # column after the key's colon (-1 without a key)


def parse_line(text: str) -> Line:
    stripped = text.lstrip()
    if not stripped or stripped.startswith("#"):
        return Line(-1, None, None, -1, -1, -1)
    match = _LINE.match(text)
    assert match is not None  # every group is optional
    dash = match.start("dash") if match.group("dash") else None
    content = len(text) - len(stripped)
    if match.group("key") is None:
        col = match.end("dash") if dash is not None else content
        return Line(content, dash, None, col, col, -1)
    key = match.group("key")
    col = match.start("key")
    name = key[1:-1] if key[:1] in "'\"" and len(key) > 1 else key
    return Line(content, dash, name, col, col + len(key), match.end())


@dataclass(frozen=True)
class Cursor:
    """The cursor's place: `parents` hold the mapping it types in; `key` is the key on its line
    (None: none yet); `on_key` when the cursor is on that key (or where a key would go)."""

    parents: tuple[str, ...]
    key: str | None
    on_key: bool
    prefix: str  # what is typed before the cursor in the key or value


def cursor_at(lines: list[str], line: int, character: int) -> Cursor:
    """The cursor at 0-based (`line`, `character`) (code points) of `lines`."""
    text = lines[line] if line < len(lines) else ""
    before = text[:character]
    parsed = parse_line(text)
    if parsed.key is not None and character > parsed.key_end:
        value = before[parsed.value_col:].strip() if character >= parsed.value_col else ""
        return Cursor(parents_of(lines, line, parsed), parsed.key, False, value)
    col = parsed.key_col if parsed.content >= 0 else len(before)
    if parsed.content < 0 or character < col:  # a blank line: the cursor's column is the indentation
        col = len(before) - len(before.lstrip()) if before.strip() else len(before)
        parsed = Line(col, None, None, col, col, -1)
    prefix = before[col:].lstrip("-").strip() if parsed.key is None else before[parsed.key_col:]
    return Cursor(parents_of(lines, line, parsed), parsed.key, True, prefix.strip("'\""))


def parents_of(lines: list[str], line: int, parsed: Line) -> tuple[str, ...]:
    """The keys (and list items) above the key of `parsed`, on line `line`, outermost first."""
    path: list[str] = []
    col = parsed.key_col
    if parsed.dash is not None:
        path.append(ITEM)
        col = parsed.dash
    for above in range(line - 1, -1, -1):
        if col <= 0:
            break
        other = parse_line(lines[above])
        if other.content < 0:
            continue
        if other.key is not None and other.key_col < col:
            path.append(other.key)
            col = other.key_col
            if other.dash is not None:
                path.append(ITEM)
                col = other.dash
        elif other.dash is not None and other.dash < col:  # the list item this line is in
            path.append(ITEM)
            col = other.dash
    return tuple(reversed(path))


def siblings(lines: list[str], line: int, col: int) -> set[str]:
    """The keys written at column `col` in the mapping that line `line` is in (the same block, the
    same list item), that line's own aside."""
    found: set[str] = set()
    for above in range(line - 1, -1, -1):
        other = parse_line(lines[above])
        if other.content < 0:
            continue
        if other.key is not None and other.key_col == col:
            found.add(other.key)
        if other.key_col < col or (other.dash is not None and other.dash < col):
            break  # the parent, or the first line of this list item
    for below in range(line + 1, len(lines)):
        other = parse_line(lines[below])
        if other.content < 0:
            continue
        if other.content < col or (other.dash is not None and other.dash < col):
            break  # the mapping ends, or the next list item starts
        if other.key is not None and other.key_col == col:
            found.add(other.key)
    return found


_KEY_AT = re.compile(r"""("[^"]*"|'[^']*'|[^\s#:][^#:]*?)\s*:(?=\s|$)""")
_COMMENT = re.compile(r"\s+#.*$")


def token_end(text: str, col: int) -> int:
    """Where what starts at column `col` of the line `text` ends: a key up to its colon, a value up
    to the end of the line (a comment aside); the line's end when nothing starts there."""
    rest = text[col:].rstrip("\r\n")
    key = _KEY_AT.match(rest)
    if key is not None:
        return col + key.end(1)
    value = _COMMENT.sub("", rest).rstrip()
    return col + len(value) if value else max(col, len(text.rstrip("\r\n")))
