"""Where a repository keeps what modelops reads: the names every command needs before it loads
anything (kept apart from `project`, which imports the specs, so a run that only needs to find its
root does not pay for pydantic)."""

from __future__ import annotations

from pathlib import Path

CONFIG_FILE = "modelops.yaml"
MODELS_DIR = "models"


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding modelops.yaml (else `start`)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return start
