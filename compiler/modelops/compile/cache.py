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
"""

from __future__ import annotations

import hashlib
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

FOLDER = ".modelops-cache"
FILE = "render.json"
FORMAT = 4


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
        self.enabled = enabled and cache_enabled()
        fingerprint = _fingerprint(schemas) if self.enabled else ""
        self.base = hashlib.sha256(f"{fingerprint}\0{config_text}".encode()).hexdigest()
        self.entries: dict[str, Entry] = self._load() if self.enabled else {}
        self.used: dict[str, Entry] = {}

    def key(self, source: str, text: str) -> str:
        return hashlib.sha256(f"{self.base}\0{source}\0{text}".encode()).hexdigest()

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
        if not self.enabled or self.used.keys() == self.entries.keys():
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{FILE}.tmp-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                # json.dumps uses the C encoder; json.dump to a stream does not.
                stream.write(json.dumps({"format": FORMAT, "entries": self.used}, separators=(",", ":")))
            os.replace(temporary, self.path)
        except OSError:
            pass

    def _load(self) -> dict[str, Entry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}


def _fingerprint(schemas: SchemaSet) -> str:
    """Everything besides the inputs that decides output: code, libraries, the schema files used."""
    digest = hashlib.sha256(f"{modelops.__version__} {platform.python_version()} {yaml.__version__}".encode())
    package = Path(modelops.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for path in schemas.files():
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
