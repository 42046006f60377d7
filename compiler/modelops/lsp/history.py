"""The rollout gate's history reader for open buffers: the past texts of a model file at the review
base, as `modelops validate` finds it ($BASE_REF, $GITHUB_BASE_REF, else <git.remote>/<git.base>),
each file's read from git once per session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from modelops.compile.rules.policy import HistoryReader
from modelops.compile.spec import GitSettings, RepoConfig
from modelops.diagnostics import UserError
from modelops.git.history import past_texts, review_base
from modelops.lsp.workspace import HistoryFor


def git_history(root: Path, note: Callable[[str], None]) -> HistoryFor:
    """Per config, the reader at its review base (None outside git, or for a base this clone cannot
    place: `note` says why)."""
    bases: dict[str, str | None] = {}
    texts: dict[tuple[str, str], tuple[str, ...]] = {}

    def history_for(config: RepoConfig | None) -> HistoryReader | None:
        settings = config.git if config is not None else GitSettings()
        default = f"{settings.remote}/{settings.base}"
        if default not in bases:
            bases[default] = _base(root, default, note)
        at = bases[default]
        if at is None:
            return None
        read = past_texts(root, at)

        def reader(path: str) -> tuple[str, ...]:
            if (at, path) not in texts:
                texts[(at, path)] = tuple(read(path))
            return texts[(at, path)]

        return reader

    return history_for


def _base(root: Path, default: str, note: Callable[[str], None]) -> str | None:
    named = os.environ.get("BASE_REF") or os.environ.get("GITHUB_BASE_REF") or None
    try:
        return review_base(root, named, default, note)
    except UserError as exc:
        note(f"{exc}; the rollout gate (MO405) is not judged")
        return None
