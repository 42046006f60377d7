"""Compile one model file on one target, in a throwaway repo, for the expressivity tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml
from modelops.compile.pipeline import build

from support import fixtures
from support.generated_files import documents


def config(target: str, mode: str = "Standard", max_replicas: int | None = 20) -> str:
    """One environment, `staging`, on `target` (and `kserve_mode`), artifacts from s3 only."""
    return yaml.safe_dump({
        "environments": {"staging": {"namespace": "models-staging", "target": target,
                                     "kserve_mode": mode}},
        "teams": {"risk": {"reviewers": ["@acme/risk-ds"]}},
        "policy": {"allowed_schemes": ["s3"], "max_replicas": max_replicas},
    }, sort_keys=False)


def compile_models(tmp: Path, repo_config: str, models: dict[str, str]) -> Any:
    texts = {f"{name}.yaml": textwrap.dedent(text) for name, text in models.items()}
    return build(fixtures.make_repo(tmp, texts, repo_config), crd_dir=fixtures.CRD_DIR)


def messages(result: Any) -> list[str]:
    return [str(d) for d in result.diagnostics]


def objects(result: Any, model: str, kind: str) -> list[dict[str, Any]]:
    """The objects of `kind` the model rendered into staging."""
    return [obj for obj in documents(result.files[f"staging/models-staging/{model}.yaml"])
            if obj["kind"] == kind]


def one(result: Any, model: str, kind: str) -> dict[str, Any]:
    [found] = objects(result, model, kind)
    return found
