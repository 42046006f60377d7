"""`modelops rule [CODE]`: what a diagnostic code means and how to fix it."""

from __future__ import annotations

import sys

import click

from modelops.cli import complete


@click.command(name="rule")
@click.argument("code", required=False, shell_complete=complete.codes)
@click.option("--markdown", is_flag=True, help="Print the README's table of checks instead.")
def rule_command(code: str | None, markdown: bool) -> None:
    """Explain a diagnostic code such as MO224; without one, list every code."""
    from modelops.codes import BY_CODE, RULES, markdown_table

    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    if code is None:
        width = max(len(rule.family) for rule in RULES)
        for rule in RULES:
            click.echo(f"{rule.code}  {rule.family:<{width}}  {rule.title}")
        return
    found = BY_CODE.get(code.upper())
    if found is None:
        click.echo(f"modelops: unknown rule {code!r}: `modelops rule` lists them all", err=True)
        sys.exit(1)
    click.echo(f"{found.code} ({found.family}): {found.title}\n\n{found.explanation}")
