"""Rendered, validated files per model, reused while nothing that decides them has changed.

The key of a model is a SHA-256 of: its path and text, modelops.yaml's text, the compiler's own
source, the PyYAML and Python versions, and the schema files output is validated against. An entry
holds the SHA-256 of each file a full compile renders for the model, and its summary
(modelops.compile.summary), and is stored for every model that passed its own checks, also when the
run fails on another one. A hit takes the files' texts from generated/, when they are there as
rendered (else the model is rendered again): the texts are not kept twice, so the cache stays small
(10,000 models: 15 MB, not 74) and quick to load. A hit skips parsing, validating, resolving,
rendering and validating the output of that model; checks across models (name collisions, team
caps) run on every compile over the summaries of all models.

The cache is one JSON file in `.modelops-cache/` at the repo root (keep it out of git; never read or
written through a symlink: the output writer, modelops.compile.emit.tree, writes it); a compile of
all models rewrites it with the entries of this run only; a run over a few files (`validate PATH`)
does not use it, since loading it costs more than rendering them. MODELOPS_NO_CACHE=1 switches it off.

The cache is verified before it is used, since anyone who can write the checkout can write it:
its last line is an HMAC-SHA256 of the rest of the file (written in chunks as it is made), keyed
with a secret kept outside the repository (`$XDG_CACHE_HOME/modelops/cache-key`, made on first
use), and every cached file name must lie inside generated/. A file that fails the HMAC or is not
the expected JSON is ignored whole (every model is rendered again), an entry naming a file outside
generated/ is ignored; without a key there is no cache. One HMAC over the file costs a few
milliseconds for 1,000 models, where one per entry cost ten times as much on every compile.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

import yaml

import modelops
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.tree import (
    CACHE_FOLDER,
    GENERATED,
    UnsafeTree,
    cache_enabled,
    confined,
    read_tree,
    replace_beneath,
    running,
    safe_name,
)

FOLDER = CACHE_FOLDER
FILE = "render.json"
FORMAT = 9
KEY_FILE = "cache-key"
_TEMPORARY = f".{FILE}.tmp-"


class Entry(TypedDict):
    files: dict[str, str]  # path under generated/ -> SHA-256 of its text (the text is read from there)
    summary: dict[str, Any]  # ModelSummary.to_json()
    digest: str  # ModelSummary.shared_digest()


class RenderCache:
    """model key -> Entry; loaded once, saved once per compile."""

    def __init__(self, root: Path, config_text: str, schemas: SchemaSet, *, enabled: bool = True) -> None:
        self.root, self.path = root, root / FOLDER / FILE
        if enabled and cache_enabled():
            confined(root, FOLDER)  # never read or write the cache through a symlink (MO009)
        self.secret = secret() if enabled and cache_enabled() else None
        self.enabled = self.secret is not None
        code = fingerprint(schemas) if self.enabled else ""
        self.base = hashlib.sha256(f"{code}\0{config_text}".encode()).hexdigest()
        self.entries: dict[str, Entry] = self._load() if self.enabled else {}
        self.used: dict[str, Entry | bytes] = {}  # this run's entries; bytes: put, already as JSON
        self._tree: Mapping[str, str] | None = None

    def key(self, source: str, text: str) -> str:
        data = f"{self.base}\0{source}\0{text}".encode("utf-8", "surrogateescape")
        return hashlib.sha256(data).hexdigest()

    def get(self, key: str) -> Entry | None:
        if not self.enabled:
            return None
        entry = self.entries.get(key)
        if entry is not None:
            self.used[key] = entry
        return entry

    def put(self, key: str, files: dict[str, str], summary: dict[str, Any], digest: str) -> None:
        """Keep a model's rendered `files` (path -> text) by their hashes, with its summary (as the
        JSON the cache file holds: a tenth of the memory of the dicts, for 10,000 models)."""
        entry: Entry = {"files": {name: text_hash(text) for name, text in files.items()},
                        "summary": summary, "digest": digest}
        self.used[key] = _json(entry)

    def texts(self, entry: Entry, current: Mapping[str, str] | None) -> dict[str, str] | None:
        """The texts of an entry's files as generated/ holds them (`current`, else read from disk),
        or None when one is missing or other than what was rendered (then the model is rendered)."""
        if current is None:
            current = self._generated()
        found = {name: current[name] for name in entry["files"] if name in current}
        if found.keys() != entry["files"].keys():
            return None
        if any(text_hash(text) != entry["files"][name] for name, text in found.items()):
            return None
        return found

    def _generated(self) -> Mapping[str, str]:
        """generated/ as it is, read once (in one walk) when a caller did not pass it; {} when it holds
        a symlink or special file (the writer refuses those)."""
        if self._tree is None:
            try:
                self._tree = read_tree(self.root / GENERATED)
            except UnsafeTree:
                self._tree = {}
        return self._tree

    def save(self) -> None:
        """Keep this run's entries only; best effort (a read-only checkout still compiles)."""
        if self.secret is None or self.used.keys() == self.entries.keys():
            return
        try:
            replace_beneath(self.root, f"{FOLDER}/{FILE}", _signed(self.secret, self.used))
            _remove_leftovers(self.path.parent)
        except OSError:
            pass

    def _load(self) -> dict[str, Entry]:
        """The entries, if the file passes verification (see the module's docstring)."""
        if self.secret is None:
            return {}
        try:  # never read through a symlink
            handle = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(handle, "rb") as stream:
                body, _, mac = stream.read().rpartition(b"\n")
            if not hmac.compare_digest(mac, digest(self.secret, body).encode()):
                return {}
            data = json.loads(body)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        return {key: {"files": entry["files"], "summary": entry["summary"], "digest": entry["digest"]}
                for key, entry in entries.items() if _well_formed(entry)}


def _json(entry: Entry) -> bytes:
    # json.dumps uses the C encoder; json.dump to a stream does not.
    return json.dumps(entry, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _signed(key: bytes, entries: dict[str, Entry | bytes]) -> Iterator[bytes]:
    """The cache file in chunks, one entry each (the whole file at once would double a large
    compile's peak memory): the JSON, a newline, its HMAC."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    head = f'{{"format":{FORMAT},"entries":{{'.encode()
    chunks = itertools.chain([head], (
        b"," * (index > 0) + json.dumps(name).encode() + b":" + (
            entry if isinstance(entry, bytes) else _json(entry))
        for index, (name, entry) in enumerate(entries.items())), [b"}}"])
    for chunk in chunks:
        mac.update(chunk)
        yield chunk
    yield b"\n" + mac.hexdigest().encode()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _well_formed(entry: object) -> bool:
    """Whether a stored entry has its files and summary and names files inside generated/ only."""
    if not isinstance(entry, dict):
        return False
    files, summary = entry.get("files"), entry.get("summary")
    if not isinstance(files, dict) or not isinstance(summary, dict):
        return False
    if not isinstance(entry.get("digest"), str):
        return False
    return all(isinstance(text, str) and safe_name(name) for name, text in files.items())


def digest(key: bytes, body: bytes) -> str:
    """HMAC-SHA256 of the cache file's body."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def secret() -> bytes | None:
    """This user's cache key (made on first use), kept outside every repository; None without one."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelops"
    path = base / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        base.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{KEY_FILE}.tmp-", dir=base)
        with os.fdopen(handle, "wb") as stream:
            stream.write(os.urandom(32))
        os.link(temporary, path)  # the first of two racing compiles wins; both use its key
        os.unlink(temporary)
    except FileExistsError:
        os.unlink(temporary)
    except OSError:
        return None
    try:
        return _read_key(path)
    except OSError:
        return None


def _read_key(path: Path) -> bytes | None:
    key = path.read_bytes()
    return key if len(key) >= 32 else None


def _remove_leftovers(folder: Path) -> None:
    """Temporary cache files of compiles killed while saving (never of one still running)."""
    for leftover in folder.glob(f"{_TEMPORARY}*"):
        if not running(leftover.name[len(_TEMPORARY):].split("-", 1)[0]):
            leftover.unlink(missing_ok=True)


@functools.cache
def _code() -> bytes:
    """The digest of the compiler's own source and library versions, read once per process (the
    unchanged-tree check, the render cache and the record each ask)."""
    hashed = hashlib.sha256(f"{modelops.__version__} {platform.python_version()} {yaml.__version__}".encode())
    package = Path(modelops.__file__).parent
    for path in sorted(package.rglob("*.py")):
        hashed.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return hashed.digest()


def fingerprint(schemas: SchemaSet) -> str:
    """Everything besides the inputs that decides output: code, libraries, the schema files used."""
    hashed = hashlib.sha256(_code())
    for path in schemas.files():
        hashed.update(str(path).encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()
