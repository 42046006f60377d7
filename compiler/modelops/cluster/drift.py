"""`modelops drift --env ENV`: where the cluster differs from generated/ENV (someone edited a live object).

Same comparison as `modelops sync`'s plan (fields modelops sets only; server-filled fields and fields an
autoscaler owns are ignored), shown with both values. A separate command from `modelops diff`, which
compares git revisions.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from modelops.cluster.sync import cluster_options


def drift_lines(change: Any) -> list[str]:
    """`path: live X, generated Y` for each drifted field of an update."""
    from modelops.cluster.fields import lookup

    lines = []
    for name in change.fields:
        path = _parse(name.removesuffix(" (removed)"))
        _, live = lookup(change.live or {}, path)
        _, wanted = lookup(change.obj, path)
        if name.endswith(" (removed)"):
            lines.append(f"{name}: live {_short(live)}, no longer generated")
        else:
            lines.append(f"{name}: live {_short(live)}, generated {_short(wanted)}")
    return lines


def _parse(dotted: str) -> tuple[str | int, ...]:
    import re

    parts: list[str | int] = []
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", dotted):
        parts.append(int(index) if index else key)
    return tuple(parts)


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True) if value is not None else "(unset)"
    return text if len(text) <= 80 else text[:77] + "..."


@click.command(name="drift")
@click.option("--env", "env", required=True, help="The environment to compare with the cluster.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the cluster drifted, like `git diff`.")
@cluster_options
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
def drift_command(env: str, exit_code: bool, repo: Path | None, kubeconfig: Path | None, context: str | None,
                  max_retries: int, output: str) -> None:
    """Show live objects that differ from generated/ENV, are missing, or are owned but no longer generated."""
    from modelops.cli.main import _root
    from modelops.cluster.sync import SyncAbort, connect, emit, environment_namespaces, load_desired, plan

    root = _root(repo)
    try:
        desired = load_desired(root, env)
        namespaces = environment_namespaces(root, env, desired)
        cluster = connect(kubeconfig, context, max_retries)
        try:
            result = plan(cluster, env, desired, namespaces, prune=True, allow_all=True)
        finally:
            cluster.close()
    except SyncAbort as abort:
        emit([abort.diagnostic], output, {})
        sys.exit(1)
    drifted = [c for c in result.changes if c.action != "unchanged"]
    if output == "text":
        for change in drifted:
            what = {"create": "missing in the cluster", "update": "differs",
                    "prune": "owned by modelops but no longer generated"}[change.action]
            click.echo(f"{change.label}: {what}")
            for line in drift_lines(change) if change.action == "update" else []:
                click.echo(f"    {line}")
        click.echo(f"{len(drifted)} of {len(result.changes)} object(s) drifted from generated/{env}.")
    emit(result.diagnostics, output, {
        "env": env, "drift": [{**c.to_json(), "details": drift_lines(c)} for c in drifted],
    })
    if result.diagnostics or (exit_code and drifted):
        sys.exit(1)
