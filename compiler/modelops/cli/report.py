"""The one report layer: every command prints its result through here, as text, Markdown or JSON.

JSON is one document on stdout, always the same envelope (documented in the README, "Machine-readable
output"):

    {"ok": bool, "command": "validate", "diagnostics": [{"path", "line", "col", "code", "message"}],
     ...the command's own keys}

`ok` is false exactly when the command exits 1. Text goes to stdout, diagnostics (one line each,
`path:line:col: CODE message`) to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from modelops.diagnostics import Diagnostic
from modelops.masking import mask_data

RESERVED = ("ok", "command", "diagnostics")


def envelope(command: str, diagnostics: Sequence[Diagnostic], data: Mapping[str, Any] | None = None,
             *, ok: bool | None = None) -> dict[str, Any]:
    """The JSON document of one run; `data` may not use the envelope's own keys."""
    clash = set(data or {}) & set(RESERVED)
    assert not clash, f"{command} data overrides the envelope's {sorted(clash)}"
    return {"ok": not diagnostics if ok is None else ok, "command": command,
            "diagnostics": [d.to_json() for d in diagnostics], **(data or {})}


def print_json(document: Mapping[str, Any], *, compact: bool = False) -> None:
    """One JSON document on stdout: indented, or one line (`compact`, for JSON Lines streams).
    Credentials in it are masked (modelops.masking), values of keys named like secrets whole."""
    document = mask_data(document)
    if compact:
        click.echo(json.dumps(document, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    sys.stdout.flush()


def print_diagnostics(diagnostics: Sequence[Diagnostic], *, count: bool = False) -> None:
    """Diagnostics on stderr, one line each; with `count`, a closing `Found N errors.`."""
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)
    if count and diagnostics:
        number = len(diagnostics)
        click.echo(f"Found {number} error{'s' if number != 1 else ''}.", err=True)


def report(command: str, output: str, diagnostics: Sequence[Diagnostic] = (),
           data: Mapping[str, Any] | None = None, *, text: Callable[[], None] | None = None,
           markdown: Callable[[], str] | None = None, ok: bool | None = None, count: bool = False,
           compact: bool = False) -> None:
    """Print a command's result in the chosen format.

    json: the envelope. markdown: what `markdown()` returns. text: `text()` writes the body, then the
    diagnostics follow on stderr.
    """
    if output == "json":
        print_json(envelope(command, diagnostics, data, ok=ok), compact=compact)
        return
    if output == "markdown" and markdown is not None:
        click.echo(markdown(), nl=False)
    elif text is not None:
        text()
    print_diagnostics(diagnostics, count=count)


def print_user_error(command: str, output: str, diagnostics: Sequence[Diagnostic]) -> None:
    """A UserError: the envelope with ok false under JSON, else the diagnostic lines."""
    if output == "json":
        print_json(envelope(command, diagnostics, ok=False))
    else:
        print_diagnostics(diagnostics)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The one text table: a header of `columns`, then `rows`, every column but the last padded to
    its widest cell, two spaces apart; no trailing blanks."""
    lines = [tuple(columns), *(tuple(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns) - 1)]
    text = ["  ".join([*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]])
            for line in lines]
    return "\n".join(line.rstrip() for line in text) + "\n"
