"""`modelops validate [PATHS]`: check model files without writing anything."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.options import crd_dir_option, output_option, repo_option, repo_root, resolve_crd_dir
from modelops.cli.report import report


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@repo_option
@crd_dir_option
@output_option
def validate(paths: tuple[Path, ...], repo: Path | None, crd_dir: Path | None, output: str) -> None:
    """Check model files (default: all of models/) without writing anything."""
    from modelops.compile.pipeline import build
    from modelops.git.history import past_texts

    root = repo_root(repo)
    result = build(root, list(paths) or None, resolve_crd_dir(crd_dir, root), history=past_texts(root))

    def text() -> None:
        if not result.diagnostics:
            click.echo(f"{len(result.models)} model(s) valid.")

    report("validate", output, result.diagnostics, {"models": result.models}, text=text, count=True)
    sys.exit(1 if result.diagnostics else 0)

