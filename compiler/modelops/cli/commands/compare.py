"""`modelops compare MODEL --env ENV`: main against its shadow or canary on stored predictions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli import complete
from modelops.cli.options import DurationType, repo_option, repo_root
from modelops.cli.report import report

if TYPE_CHECKING:
    from modelops.compile.duration import Duration


@click.command()
@click.argument("model", shell_complete=complete.models)
@click.option("--env", "env", required=True, shell_complete=complete.environments,
              help="The environment whose traffic to compare.")
@click.option("--since", type=DurationType(positive=True), default="24h", show_default=True,
              help="How far back: 30m, 24h, ...")
@click.option("--trial", default=None, help="The variant to compare with main (default: its one trial).")
@click.option("--store", "store", default=None, help="Read this store URI instead of modelops.yaml's.")
@click.option("--plot", "plot_to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.png", help="Also draw both variants' outputs and the flip matrix (or joint "
              "histogram) into this PNG (needs the plot extra).")
@click.option("--print-sql", is_flag=True, help="Print the pairing query (DuckDB, Trino, Spark) and stop.")
@click.option("--output", "-o", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="A table, Markdown for a pull request, or JSON.")
@repo_option
def compare_command(model: str, env: str, since: Duration, trial: str | None, store: str | None,
                    plot_to: Path | None, print_sql: bool, output: str, repo: Path | None) -> None:
    """Compare a model's trial variant with main on the predictions the collector stored."""
    from modelops.compare.run import for_model, rows
    from modelops.compare.run import markdown as to_markdown
    from modelops.compile.project import Project

    project = Project.load(repo_root(repo))
    project.require()
    comparison = for_model(project.resolved(), model, env, trial, since.seconds, store)
    if print_sql:
        click.echo(comparison.sql)
        return
    if plot_to is not None:
        from modelops.compare.plot import plot

        plot(comparison, plot_to)

    def text() -> None:
        width = max(len(what) for what, _ in rows(comparison))
        for what, value in rows(comparison):
            click.echo(f"{what.ljust(width)}  {value}")

    report("compare", output, data={"comparison": comparison.to_json()}, text=text,
           markdown=lambda: to_markdown(comparison), ok=comparison.verdict != "fail")
    sys.exit(1 if comparison.verdict == "fail" else 0)
