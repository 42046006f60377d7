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

The cache is one file in `.modelops-cache/` at the repo root: a JSON header line, then one line
per entry (its key, a tab, its JSON), then the HMAC line. Entries stay bytes until a model asks
for its own (a warm run over 10,000 models holds 15 MB of them, not the 100 MB of parsed JSON),
and are written back as the bytes they were read as. Keep it out of git; it is never read or
written through a symlink (the output writer, modelops.compile.emit.tree, writes it). A compile of
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
from typing import IO, Any, TypedDict

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
    text_hash,
)

FOLDER = CACHE_FOLDER
FILE = "render.json"
FORMAT = 10
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
        self.entries: dict[str, bytes] = self._load() if self.enabled else {}  # key -> the entry's JSON
        self._loaded = len(self.entries)
        self.used: set[str] = set()  # this run's hits (saving copies their lines from the file again)
        self._new: IO[bytes] | None = None  # this run's new entries, as the file's lines, until saved
        self._tree: tuple[Mapping[str, str], Mapping[str, str]] | None = None

    def key(self, source: str, text: str) -> str:
        data = f"{self.base}\0{source}\0{text}".encode("utf-8", "surrogateescape")
        return hashlib.sha256(data).hexdigest()

    def get(self, key: str) -> Entry | None:
        if not self.enabled:
            return None
        raw = self.entries.pop(key, None)  # asked for once: 10,000 models need not keep 15 MB
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            return None
        if not _well_formed(entry):  # e.g. a name outside generated/: ignored
            return None
        self.used.add(key)
        return {"files": entry["files"], "summary": entry["summary"], "digest": entry["digest"]}

    def put(self, key: str, entry: bytes) -> None:
        """Keep a model's entry (`entry_json`: made where the model was rendered, in a worker); new
        entries wait in a temporary file (10,000 of them are 15 MB), not in memory."""
        if self._new is None:
            self._new = tempfile.TemporaryFile()  # noqa: SIM115 - open until save() closes it
        self._new.write(_line(key, entry))

    def on_disk(self, entry: Entry, current: Mapping[str, str] | None) -> bool:
        """Whether generated/ holds an entry's files as they were rendered (`current`: the SHA-256 of
        each file it holds, else it is read); when not, the model is rendered again."""
        hashes = current if current is not None else self._generated()[1]
        return all(hashes.get(name) == hashed for name, hashed in entry["files"].items())

    def texts(self, entry: Entry) -> dict[str, str]:
        """The texts of an entry's files, as generated/ holds them (read once, for callers that want
        every text: `on_disk` first)."""
        tree = self._generated()[0]
        return {name: tree[name] for name in entry["files"]}

    def _generated(self) -> tuple[Mapping[str, str], Mapping[str, str]]:
        """generated/ as it is, read once (in one walk): texts and their hashes; empty when it holds
        a symlink or special file (the writer refuses those)."""
        if self._tree is None:
            try:
                texts = read_tree(self.root / GENERATED)
            except UnsafeTree:
                texts = {}
            self._tree = (texts, {name: text_hash(text) for name, text in texts.items()})
        return self._tree

    def save(self) -> None:
        """Keep this run's entries only; best effort (a read-only checkout still compiles). Once
        per run: the entries are let go."""
        new, self._new = self._new, None
        hits, self.used, self.entries = self.used, set(), {}  # the rest of a large run needs the memory
        if self.secret is None or (new is None and len(hits) == self._loaded):
            return
        old: Iterator[bytes] = iter(())  # without hits there may be no file to read
        if hits:  # the hits' lines, copied from the file again
            old = (_line(key, raw) for key, raw in _verified(self.path, self.secret) if key in hits)
        try:  # a cache that no longer verifies (replaced meanwhile by someone without the key) aborts
            replace_beneath(self.root, f"{FOLDER}/{FILE}", _signed(self.secret, old, new))
            _remove_leftovers(self.path.parent)
        except (OSError, ValueError):
            pass
        finally:
            if new is not None:
                new.close()

    def _load(self) -> dict[str, bytes]:
        """The entries (key -> JSON), if the file passes verification (see the module's docstring)."""
        if self.secret is None:
            return {}
        try:
            return dict(_verified(self.path, self.secret))
        except (OSError, ValueError):
            return {}


def _verified(path: Path, secret: bytes) -> Iterator[tuple[str, bytes]]:
    """(key, JSON) of each entry of the cache file, a line at a time (the whole file would be a
    second copy); ValueError after the last one when the HMAC line is missing or does not match.
    Never read through a symlink."""
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(handle, "rb") as stream:
        head = stream.readline()
        mac.update(head)
        if json.loads(head) != {"format": FORMAT}:
            raise ValueError("another format")
        for line in stream:
            if not line.endswith(b"\n"):  # the last line: the HMAC of all before it
                if not hmac.compare_digest(line, mac.hexdigest().encode()):
                    raise ValueError("the HMAC does not match")
                return
            mac.update(line)
            key, tab, raw = line[:-1].partition(b"\t")
            if tab:
                yield key.decode("ascii", "replace"), raw
    raise ValueError("no HMAC line")


def entry_json(hashes: dict[str, str], summary: dict[str, Any], digest: str) -> bytes:
    """A model's entry as the cache file holds it: its rendered files by their `hashes` (path ->
    SHA-256), its summary (ModelSummary.to_json()) and shared digest."""
    # json.dumps uses the C encoder; json.dump to a stream does not.
    entry: Entry = {"files": hashes, "summary": summary, "digest": digest}
    return json.dumps(entry, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _chunks(spool: IO[bytes] | None) -> Iterator[bytes]:
    if spool is not None:
        spool.seek(0)
        yield from iter(lambda: spool.read(1 << 20), b"")


def _line(key: str, entry: bytes) -> bytes:
    return b"\n" + key.encode("ascii") + b"\t" + entry


def _signed(key: bytes, old: Iterator[bytes], new: IO[bytes] | None) -> Iterator[bytes]:
    """The cache file in chunks (the whole file at once would double a large compile's peak
    memory): the header, a line per entry (the `old` ones kept, then the `new` ones), its HMAC."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    head = json.dumps({"format": FORMAT}, separators=(",", ":")).encode()
    chunks = itertools.chain([head], old, _chunks(new))
    for chunk in chunks:
        mac.update(chunk)
        yield chunk
    mac.update(b"\n")  # the HMAC line's newline ends the last line it covers
    yield b"\n" + mac.hexdigest().encode()


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
