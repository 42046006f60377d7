"""Safe YAML loading that remembers where every key and value came from.

Only plain YAML types are accepted (no Python or custom tags), duplicate keys are errors,
and aliases are expanded under a size budget so an "billion laughs" file cannot blow up.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelops.diagnostics import Diagnostic

try:
    LOADER: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    LOADER = yaml.SafeLoader

MAX_NODES = 100_000
MAX_BYTES = 1 << 20  # per source file; checked before reading
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_scalar_constructor = yaml.constructor.SafeConstructor()

Loc = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed YAML file: its data and the 1-based (line, col) of every key and value."""

    path: str
    data: Any
    text: str = ""
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def position(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Where `loc` is written; falls back to the nearest enclosing node that exists."""
        loc = tuple(loc)
        while True:
            table = self.keys if key else self.values
            if loc in table:
                return table[loc]
            if key and loc in self.values:
                return self.values[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]
            key = True

    def diagnostic(self, loc: Loc, code: str, message: str, *, key: bool = False) -> Diagnostic:
        line, col = self.position(loc, key=key)
        return Diagnostic(self.path, line, col, code, message)

    def has(self, loc: Loc) -> bool:
        return tuple(loc) in self.values


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.errors: list[Diagnostic] = []

    def _error(self, node: yaml.Node, code: str, message: str) -> None:
        mark = node.start_mark
        self.errors.append(
            Diagnostic(self.doc.path, mark.line + 1, mark.column + 1, code, message)
        )

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node)
        self.doc.values[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self._error(node, "MO002", f"unsupported YAML tag {node.tag!r}: use plain YAML")
                return None
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._error(node, "MO002", f"unsupported YAML tag {node.tag!r}: use plain YAML")
            return None
        return _scalar_constructor.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            self._error(node, "MO002", f"unsupported YAML tag {node.tag!r}: use plain YAML")
            return {}
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._error(key_node, "MO003", "merge keys (<<) are not supported: write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                self._error(key_node, "MO004", "mapping keys must be plain scalars")
                continue
            key = _scalar_constructor.construct_object(key_node)
            if not isinstance(key, str):
                self._error(key_node, "MO004", f"key {key_node.value!r} must be a string: quote it")
                continue
            if key in result:
                self._error(key_node, "MO005", f"duplicate key {key!r}")
                continue
            self.doc.keys[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*loc, key))
        return result


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def parse(text: str, path: str) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML document; return it with its positions, or the diagnostics."""
    doc = Document(path=path, data=None, text=text)
    try:
        nodes = list(yaml.compose_all(text, Loader=LOADER))
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return None, [Diagnostic(path, line, col, "MO001",
                                 f"invalid YAML: character #x{exc.character:04x} is not allowed")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Diagnostic(path, line, col, "MO001", f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(path, 1, 1, "MO001", f"invalid YAML: {exc}")]
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        return None, [
            Diagnostic(path, mark.line + 1, mark.column + 1, "MO001", "one YAML document per file")
        ]
    if not nodes:
        return doc, []
    builder = _Builder(doc)
    try:
        doc.data = builder.build(nodes[0], ())
    except _TooLarge as exc:
        mark = exc.node.start_mark
        return None, [
            Diagnostic(
                path, mark.line + 1, mark.column + 1, "MO006",
                f"document expands to more than {MAX_NODES} nodes (aliases?): simplify it",
            )
        ]
    except RecursionError:
        return None, [Diagnostic(path, 1, 1, "MO006", "document is nested too deeply")]
    finally:  # the constructor memoises every node it built: keep no file's nodes past its parse
        _scalar_constructor.constructed_objects.clear()
        _scalar_constructor.recursive_objects.clear()
    if builder.errors:
        return None, builder.errors
    return doc, []


def read_source(path: Path, display: str, root: Path | None = None) -> tuple[str | None, list[Diagnostic]]:
    """A file's text, read in bounded memory; unreadable, oversized or non-UTF-8 files are
    diagnostics. With `root`, a symlink is only followed to a regular file inside `root`."""
    try:
        data = _read_bounded(path, root)
    except _Refused as refused:
        return None, [Diagnostic(display, 1, 1, refused.code, refused.message)]
    except OSError as exc:
        return None, [Diagnostic(display, 1, 1, "MO001", f"cannot read file: {exc.strerror}")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [Diagnostic(display, 1, 1, "MO001", f"file is not UTF-8 text ({exc.reason})")]


def buffer_source(text: str, display: str) -> tuple[str | None, list[Diagnostic]]:
    """An editor's unsaved `text` of a file, refused as `read_source` refuses the file (MO006 over the
    size limit)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return None, [Diagnostic(display, 1, 1, "MO006",
                                 f"file is larger than the limit of {MAX_BYTES} bytes: split it")]
    return text, []


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


def _read_bounded(path: Path, root: Path | None) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES (checked before reading, read bounded)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if root is None:
        fd = os.open(path, flags)
    else:
        if not _NOFOLLOW and os.path.islink(path):  # no O_NOFOLLOW here: look first
            path = _inside(path, root)
        try:  # a plain file, the common case, in one call; a symlink fails with ELOOP
            fd = os.open(path, flags | _NOFOLLOW)
        except OSError as exc:
            if exc.errno != errno.ELOOP or not os.path.islink(path):
                raise
            fd = os.open(_inside(path, root), flags | _NOFOLLOW)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise _Refused("MO007", "not a regular file: modelops reads plain files only")
        if status.st_size > MAX_BYTES:
            raise _Refused("MO006", f"file is larger than the limit of {MAX_BYTES} bytes: split it")
        chunks, size = [], 0
        while chunk := os.read(fd, MAX_BYTES + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BYTES:  # grew while being read
                raise _Refused("MO006", f"file is larger than the limit of {MAX_BYTES} bytes: split it")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _inside(link: Path, root: Path) -> Path:
    """Where the symlink `link` leads, when that exists inside `root` (else MO007)."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        raise _Refused("MO007", "dangling symlink: its target does not exist") from None
    except (OSError, RuntimeError):
        raise _Refused("MO007", "symlink that cannot be resolved (a loop?)") from None
    if not target.is_relative_to(root.resolve()):
        raise _Refused("MO007", "symlink leads outside the repository: modelops does not follow it")
    return target


def load(path: Path, display: str, root: Path | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse a YAML file; unreadable or non-UTF-8 files are diagnostics too."""
    text, errors = read_source(path, display, root)
    if text is None:
        return None, errors
    return parse(text, display)
