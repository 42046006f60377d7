"""`modelops validate [PATHS]`: check model files without writing anything."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli.options import crd_dir_option, output_option, repo_option, repo_root, resolve_crd_dir
from modelops.cli.report import report

if TYPE_CHECKING:
    from modelops.compile.project import Project


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--base", default=None, metavar="REF",
              help="Branch the change goes into: the rollout gate judges by its history (default: "
                   "$BASE_REF, $GITHUB_BASE_REF, else <git.remote>/<git.base> of modelops.yaml).")
@repo_option
@crd_dir_option
@output_option
def validate(paths: tuple[Path, ...], base: str | None, repo: Path | None, crd_dir: Path | None,
             output: str) -> None:
    """Check model files (default: all of models/) without writing anything."""
    from modelops.cli.progress import progress_bar
    from modelops.compile.pipeline import build
    from modelops.compile.project import Project

    root = repo_root(repo)
    project = Project.load(root)
    with progress_bar("Validating models", output) as on_progress:
        result = build(root, list(paths) or None, resolve_crd_dir(crd_dir, root),
                       history=_history(project, base), on_progress=on_progress, project=project)

    def text() -> None:
        if not result.diagnostics:
            click.echo(f"{len(result.models)} model(s) valid.")

    report("validate", output, result.diagnostics, {"models": result.models}, text=text, count=True)
    sys.exit(1 if result.diagnostics else 0)



def _history(project: Project, base: str | None) -> Callable[[str], list[str]]:
    """The rollout gate's history reader at the review base, found when a rollout rule first asks
    (so repositories without one never need a base)."""
    from modelops.git.history import past_texts, review_base

    @functools.cache
    def reader() -> Callable[[str], list[str]]:
        at = review_base(project.root, _named_base(base), _default_base(project),
                         lambda line: click.echo(f"note: {line}", err=True))
        return past_texts(project.root, at) if at else lambda _: []

    return lambda path: reader()(path)


def _named_base(option: str | None) -> str | None:
    """--base, else $BASE_REF, else $GITHUB_BASE_REF (set by GitHub Actions on pull requests only)."""
    return option or os.environ.get("BASE_REF") or os.environ.get("GITHUB_BASE_REF") or None


def _default_base(project: Project) -> str:
    from modelops.compile.spec import GitSettings

    config = project.config  # its errors are reported by the build
    settings = config.git if config is not None else GitSettings()
    return f"{settings.remote}/{settings.base}"
