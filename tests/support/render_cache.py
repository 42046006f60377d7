"""The render cache file as a test reads it, and rewrites it as someone without the key would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelops.compile.cache import FILE, FOLDER


def entries(root: Path) -> dict[str, dict[str, Any]]:
    """The cache's entries, key -> entry (its last line, the HMAC, is not checked)."""
    body = (root / FOLDER / FILE).read_text().rpartition("\n")[0]
    head, *lines = body.split("\n")
    assert json.loads(head)["format"]
    return {key: json.loads(raw) for key, _, raw in (line.partition("\t") for line in lines)}


def rewrite(root: Path, found: dict[str, dict[str, Any]]) -> None:
    """Write `found` as the cache's entries, keeping the old HMAC line (which no longer matches
    unless nothing changed)."""
    path = root / FOLDER / FILE
    body, _, mac = path.read_text().rpartition("\n")
    head = body.split("\n", 1)[0]
    lines = [head, *(f"{key}\t{json.dumps(entry, separators=(',', ':'))}" for key, entry in found.items())]
    path.write_text("\n".join(lines) + "\n" + mac)
