"""`modelops lsp [--tcp HOST:PORT]`: the language server for model files and modelops.yaml."""

from __future__ import annotations

import click


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, int] | None:
    """HOST:PORT as (host, port)."""
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:2087)")
    return host.strip("[]"), int(port)


@click.command(name="lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin and stdout (the default; some editors pass it).")
@click.option("--tcp", metavar="HOST:PORT", default=None, callback=_address,
              help="Listen on HOST:PORT instead of stdio (one client).")
def lsp_command(stdio: bool, tcp: tuple[str, int] | None) -> None:
    """Serve diagnostics, hovers and completions to an editor (Language Server Protocol, extra lsp)."""
    from modelops.lsp.server import serve

    serve(tcp)
