"""`modelops init`: a working starting point in an empty or existing repository."""

from __future__ import annotations

from pathlib import Path

import click

from modelops.cli.options import output_option
from modelops.cli.report import report


@click.command(name="init")
@click.option("--env", "environments", multiple=True, default=("staging", "production"), show_default=True,
              help="An environment of modelops.yaml (repeatable).")
@click.option("--target", default="seldon-v1", show_default=True,
              type=click.Choice(["seldon-v1", "kserve"]), help="Where the models run.")
@click.option("--force", is_flag=True, help="Overwrite files that exist (.gitignore is only added to).")
@click.option("--repo", "-C", "repo", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The repository to write into (default: the current folder).")
@output_option
def init_command(environments: tuple[str, ...], target: str, force: bool, repo: Path | None,
                 output: str) -> None:
    """Write modelops.yaml, an example model, the editor schemas, .gitignore entries, a pull-request
    workflow using the modelops Action and a .pre-commit-config.yaml; then `modelops validate` and
    `modelops compile` pass as they are."""
    from modelops.compile.scaffold import plan, write

    root = repo or Path.cwd()
    scaffolds = plan(root, list(environments), target, force=force)
    write(root, scaffolds)

    def text() -> None:
        for scaffold in scaffolds:
            click.echo(f"{'replaced' if scaffold.replaces else 'wrote'} {scaffold.path}")
        click.echo("Next: modelops validate && modelops compile, then commit everything.")

    report("init", output, [], {"files": [s.path for s in scaffolds]}, text=text)
