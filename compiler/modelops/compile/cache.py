"""Rendered, validated files per model, reused while nothing that decides them has changed.

The key of a model is a SHA-256 of: its path and text, modelops.yaml's text, the compiler's own
source, the PyYAML and Python versions, and the schema files output is validated against. An entry
holds the files a full compile renders for the model and its summary (modelops.compile.summary), and is
stored for every model that passed its own checks, also when the run fails on another one. A hit
skips parsing, validating, resolving, rendering and validating the output of that model; checks
across models (name collisions, team caps) run on every compile over the summaries of all models.

The cache is one JSON file in `.modelops-cache/` at the repo root (keep it out of git); a compile of
all models rewrites it with the entries of this run only; a run over a few files (`validate PATH`)
does not use it, since loading it costs more than rendering them. MODELOPS_NO_CACHE=1 switches it off.

The cache is verified before it is used, since anyone who can write the checkout can write it:
every entry carries an HMAC-SHA256 of its files and summary, keyed with a secret kept outside the
repository (`$XDG_CACHE_HOME/modelops/cache-key`, made on first use), and its file names must lie
inside generated/. An entry that fails either check is ignored (its model is rendered again), a
file that is not the expected JSON is ignored whole; without a key there is no cache.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

import yaml

import modelops
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.tree import running, safe_name

FOLDER = ".modelops-cache"
FILE = "render.json"
FORMAT = 5
KEY_FILE = "cache-key"
_TEMPORARY = f".{FILE}.tmp-"


def cache_enabled() -> bool:
    """False when MODELOPS_NO_CACHE is set (to anything but 0)."""
    return os.environ.get("MODELOPS_NO_CACHE", "") in ("", "0")


def spare_tree(root: Path) -> Path | None:
    """Where compile keeps the tree generated/ held before its last run (see output.replace_tree)."""
    return root / FOLDER / "previous-generated" if cache_enabled() else None


@contextmanager
def compile_lock(root: Path) -> Iterator[None]:
    """One compile at a time per repo: it patches generated/ and the spare tree, which two compiles
    would patch over each other. A second compile waits, saying so on stderr. With the cache off
    there is no spare tree and every compile swaps in a whole tree of its own, so no lock; nor
    without a writable `.modelops-cache/` (a read-only checkout) or without flock (Windows)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    if not cache_enabled():
        yield
        return
    try:
        (root / FOLDER).mkdir(exist_ok=True)
        handle = os.open(root / FOLDER / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another modelops compile in {root} to finish ...",
                  file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock, as does the process ending


class Entry(TypedDict):
    files: dict[str, str]  # path under generated/ -> text
    summary: dict[str, Any]  # ModelSummary.to_json()


class RenderCache:
    """model key -> Entry; loaded once, saved once per compile."""

    def __init__(self, root: Path, config_text: str, schemas: SchemaSet, *, enabled: bool = True) -> None:
        self.path = root / FOLDER / FILE
        self.secret = _secret() if enabled and cache_enabled() else None
        self.enabled = self.secret is not None
        fingerprint = _fingerprint(schemas) if self.enabled else ""
        self.base = hashlib.sha256(f"{fingerprint}\0{config_text}".encode()).hexdigest()
        self.entries: dict[str, Entry] = self._load() if self.enabled else {}
        self.used: dict[str, Entry] = {}

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

    def put(self, key: str, files: dict[str, str], summary: dict[str, Any]) -> None:
        self.used[key] = {"files": files, "summary": summary}

    def save(self) -> None:
        """Keep this run's entries only; best effort (a read-only checkout still compiles)."""
        if self.secret is None or self.used.keys() == self.entries.keys():
            return
        secret = self.secret
        stored = {key: {**entry, "digest": _digest(secret, entry)} for key, entry in self.used.items()}
        try:
            self.path.parent.mkdir(exist_ok=True)
            _remove_leftovers(self.path.parent)
            handle, temporary = tempfile.mkstemp(prefix=f"{_TEMPORARY}{os.getpid()}-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                # json.dumps uses the C encoder; json.dump to a stream does not.
                stream.write(json.dumps({"format": FORMAT, "entries": stored}, separators=(",", ":")))
            os.replace(temporary, self.path)
        except OSError:
            pass

    def _load(self) -> dict[str, Entry]:
        """The entries that pass verification (see the module's docstring)."""
        try:  # never read through a symlink
            handle = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(handle, "rb") as stream:
                data = json.loads(stream.read())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict) or self.secret is None:
            return {}
        secret = self.secret
        return {key: {"files": entry["files"], "summary": entry["summary"]}
                for key, entry in entries.items() if _verified(secret, entry)}


def _verified(secret: bytes, entry: object) -> bool:
    """Whether a stored entry is well formed, names files inside generated/ only, and is unaltered."""
    if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
        return False
    files, summary = entry.get("files"), entry.get("summary")
    if not isinstance(files, dict) or not isinstance(summary, dict):
        return False
    if not all(isinstance(text, str) and safe_name(name) for name, text in files.items()):
        return False
    try:
        wanted = _digest(secret, {"files": files, "summary": summary})
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(wanted, entry["digest"])


def _digest(secret: bytes, entry: Entry) -> str:
    """HMAC-SHA256 of an entry's file names and texts (in order) and its summary."""
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for name in sorted(entry["files"]):
        mac.update(f"{len(name)}:{name}\0{len(entry['files'][name])}:".encode())
        mac.update(entry["files"][name].encode("utf-8", "surrogatepass"))
    mac.update(json.dumps(entry["summary"], sort_keys=True).encode())
    return mac.hexdigest()


def _secret() -> bytes | None:
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


def _fingerprint(schemas: SchemaSet) -> str:
    """Everything besides the inputs that decides output: code, libraries, the schema files used."""
    digest = hashlib.sha256(f"{modelops.__version__} {platform.python_version()} {yaml.__version__}".encode())
    package = Path(modelops.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for path in schemas.files():
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
