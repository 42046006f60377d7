"""Block-style YAML text identical to PyYAML's safe dump with modelops' settings, several times faster.

PyYAML spends most of a compile in its pure-Python representer, even with the C emitter. Generated
objects are plain mappings, lists and scalars, so this module writes the block structure itself and
asks PyYAML only how each distinct scalar is written (memoised). Anything outside that subset (a
shared sub-object PyYAML would anchor, a multi-line or very long scalar, a key that is not a short
string, a type PyYAML would reject) goes to PyYAML whole, so the text never differs.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:
    _Base: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeDumper


class _Dumper(_Base):  # type: ignore[misc]
    """modelops' dumper: PyYAML's safe dumper that also writes `Literal` strings, and writes an object
    used twice out twice (no `&id001` anchors in manifests people review)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class Literal(str):
    """A multi-line string a generator wants written as a literal `|` block (Lua, JSON, ignore rules)."""


def _literal(dumper: yaml.SafeDumper, value: Literal) -> yaml.ScalarNode:
    # PyYAML still quotes what a block cannot carry (trailing spaces, control characters).
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(Literal, _literal)

WIDTH = 4096  # PyYAML folds a line only once it is longer than this
_BREAKS = ("\r", "\n", "\x85", "\u2028", "\u2029")  # what PyYAML reads and writes as line breaks
_MAX_KEY = 100  # PyYAML writes keys of 128 characters or more in the complex `? key` form


class _Unsupported(Exception):
    """The object needs something this writer does not do: PyYAML writes it."""


def dump(obj: Any) -> str:
    """`pyyaml_text(obj)`, without PyYAML's representer for the common case."""
    if type(obj) is not dict or not obj:
        return pyyaml_text(obj)
    writer = _Writer()
    try:
        writer.mapping(obj, 0, "")
    except _Unsupported:
        return pyyaml_text(obj)
    return "".join(writer.out)


def pyyaml_text(obj: Any) -> str:
    """PyYAML's text for `obj` with modelops' settings: what `dump` always equals."""
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=WIDTH
    )


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []

    def mapping(self, value: dict[Any, Any], indent: int, first: str) -> None:
        """Every key of a non-empty mapping; `first` replaces the first line's indentation."""
        pad = " " * indent
        lead = first or pad
        for key in value:
            if type(key) is not str:  # PyYAML sorts, or keeps the order of, other keys its own way
                raise _Unsupported
        for key in sorted(value):
            item = value[key]
            head = lead + _key(key) + ":"
            lead = pad
            kind = type(item)
            if kind is dict and item:
                self.out.append(head + "\n")
                self.mapping(item, indent + 2, "")
            elif kind is list and item:
                self.out.append(head + "\n")
                self.sequence(item, indent, "")
            else:
                self.out.append(self._line(head + " ", item))

    def sequence(self, value: list[Any], indent: int, first: str) -> None:
        """Every item of a non-empty list, `- ` at `indent`; `first` replaces the first line's indentation."""
        dash = " " * indent + "- "
        lead = first + "- " if first else dash
        for item in value:
            kind = type(item)
            if kind is dict and item:
                self.mapping(item, indent + 2, lead)
            elif kind is list and item:
                self.sequence(item, indent + 2, lead)
            else:
                self.out.append(self._line(lead, item))
            lead = dash

    def _line(self, head: str, item: Any) -> str:
        kind = type(item)
        # an empty container: PyYAML writes it in flow style
        text = "{}" if kind is dict else "[]" if kind is list else _scalar(item)
        line = head + text
        if len(line) > WIDTH:
            raise _Unsupported
        return line + "\n"


# Written plain by PyYAML: starts with a letter (so no indicator, number or date) and holds no space,
# `:` or `#`; unless it is one of YAML 1.1's booleans or null, which PyYAML quotes.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*").fullmatch
_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null"})
# Scalars as written, memoised: values repeat across models (kinds, policies, label names). Most
# strings are one model's own (its names), so the memo is emptied when it grows past MEMO entries:
# without a bound a worker rendering 5,000 models held every string it ever wrote.
MEMO = 16384
_VALUES: dict[tuple[type, str], str] = {}
_KEYS: dict[str, str] = {}


def _remember(memo: dict[Any, str], key: Any, text: str) -> str:
    if len(memo) >= MEMO:
        memo.clear()
    memo[key] = text
    return text


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        found = _VALUES.get((str, value))
        if found is None:
            if _PLAIN(value) and value.lower() not in _WORDS:
                found = value
            else:
                found = _single_line(pyyaml_text({"k": value}), "k: ", "\n")
            _remember(_VALUES, (str, value), found)
        return found
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is float:  # by repr: 0.0 == -0.0, and nan is not even equal to itself
        found = _VALUES.get((float, repr(value)))
        if found is None:
            found = _single_line(pyyaml_text({"k": value}), "k: ", "\n")
            _remember(_VALUES, (float, repr(value)), found)
        return found
    raise _Unsupported


def _key(key: str) -> str:
    found = _KEYS.get(key)
    if found is None:
        if not key or len(key) > _MAX_KEY:
            raise _Unsupported
        found = _remember(_KEYS, key, _single_line(pyyaml_text({key: 0}), "", ": 0\n"))
    return found


def _single_line(text: str, prefix: str, suffix: str) -> str:
    """The scalar in PyYAML's `prefix<scalar>suffix`, if it is written on one line."""
    if not (text.startswith(prefix) and text.endswith(suffix)):
        raise _Unsupported
    inner = text[len(prefix):len(text) - len(suffix)]
    if any(brk in inner for brk in _BREAKS):
        raise _Unsupported
    return inner
