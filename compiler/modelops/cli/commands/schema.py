"""`modelops schema [--check]`: export the JSON Schemas of model files and modelops.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.options import repo_option, repo_root


@click.command()
@repo_option
@click.option("--check", is_flag=True, help="Exit 1 if the files in schemas/ are stale.")
def schema(repo: Path | None, check: bool) -> None:
    """Export the JSON Schemas of model files and modelops.yaml to schemas/."""
    from modelops.compile.schema import schema_texts, write_schemas

    directory = repo_root(repo) / "schemas"
    if check:
        stale = [n for n, t in schema_texts().items()
                 if not (directory / n).is_file() or (directory / n).read_text() != t]
        for name in stale:
            click.echo(f"schemas/{name} is stale: run `modelops schema`", err=True)
        sys.exit(1 if stale else 0)
    for path in write_schemas(directory):
        click.echo(f"wrote {path.relative_to(directory.parent).as_posix()}")
