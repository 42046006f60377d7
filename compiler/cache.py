"""Rendered, validated files per model, reused while nothing that decides them has changed.

The key of a model is a SHA-256 of: its path and text, modelops.yaml's text, the compiler's own
source, the PyYAML and Python versions, and the schema files output is validated against. A hit
gives exactly the files a full compile would render, so only changed models are rendered and
validated again. Checks across models (name collisions, team caps) run on every compile regardless.

The cache is one JSON file in `.modelops-cache/` at the repo root (keep it out of git); a compile of
all models rewrites it with the entries of this run only; a run over a few files (`validate PATH`)
does not use it, since loading it costs more than rendering them. MODELOPS_NO_CACHE=1 switches it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

import yaml

import compiler
from compiler.manifests import CORE_FILES, CRD_FILES, _core_definitions_dir

FOLDER = ".modelops-cache"
FILE = "render.json"
FORMAT = 1


class RenderCache:
    """model key -> {path under generated/: text}; loaded once, saved once per compile."""

    def __init__(self, root: Path, config_text: str, crd_dir: Path | None, *, enabled: bool = True) -> None:
        self.path = root / FOLDER / FILE
        self.enabled = enabled and os.environ.get("MODELOPS_NO_CACHE", "") in ("", "0")
        fingerprint = _fingerprint(crd_dir) if self.enabled else ""
        self.base = hashlib.sha256(f"{fingerprint}\0{config_text}".encode()).hexdigest()
        self.entries: dict[str, dict[str, str]] = self._load() if self.enabled else {}
        self.used: dict[str, dict[str, str]] = {}

    def key(self, source: str, text: str) -> str:
        return hashlib.sha256(f"{self.base}\0{source}\0{text}".encode()).hexdigest()

    def get(self, key: str) -> dict[str, str] | None:
        if not self.enabled:
            return None
        files = self.entries.get(key)
        if files is not None:
            self.used[key] = files
        return files

    def put(self, key: str, files: dict[str, str]) -> None:
        self.used[key] = files

    def save(self) -> None:
        """Keep this run's entries only; best effort (a read-only checkout still compiles)."""
        if not self.enabled or self.used.keys() == self.entries.keys():
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{FILE}.tmp-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"format": FORMAT, "entries": self.used}, stream, separators=(",", ":"))
            os.replace(temporary, self.path)
        except OSError:
            pass

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}


def _fingerprint(crd_dir: Path | None) -> str:
    """Everything besides the inputs that decides output: code, libraries, schemas."""
    digest = hashlib.sha256(f"{compiler.__version__} {platform.python_version()} {yaml.__version__}".encode())
    package = Path(compiler.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    schemas = [crd_dir / name for name in sorted(CRD_FILES.values())] if crd_dir else []
    core = sorted({*CORE_FILES.values(), "_definitions.json"})
    schemas += [_core_definitions_dir() / name for name in core]
    for path in schemas:
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
