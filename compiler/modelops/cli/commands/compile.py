"""`modelops compile [--check]`: write generated/ (atomically), or say whether it is stale."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import click

from modelops.cli.options import crd_dir_option, output_option, repo_option, repo_root, resolve_crd_dir
from modelops.cli.report import report


@click.command(name="compile")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if generated/ is stale.")
@repo_option
@crd_dir_option
@output_option
def compile_command(check: bool, repo: Path | None, crd_dir: Path | None, output: str) -> None:
    """Compile every model into generated/<env>/<namespace>/<model>.yaml."""
    from modelops.compile.emit.tree import compile_lock

    root = repo_root(repo)
    with nullcontext() if check else compile_lock(root):
        _compile(root, check, crd_dir, output)


def _compile(root: Path, check: bool, crd_dir: Path | None, output: str) -> None:
    import time

    from modelops.compile.unchanged import Verdict, since_last

    started = time.time_ns()
    since = since_last(root, crd_dir)
    if isinstance(since, Verdict):  # nothing changed since the last clean run: its answer, from stat data
        _report(check, output, since.models, since.files, [], "")
        return
    if since is not None:  # a few model files edited: compiled alone when that answers for the whole run
        from modelops.compile.incremental import compile_changed

        answer = compile_changed(root, since, resolve_crd_dir(crd_dir, root), check, started)
        if answer is not None:
            _report(check, output, answer.models, answer.files, answer.changed, answer.diff)
            return
    _compile_all(root, check, crd_dir, output, started)


def _compile_all(root: Path, check: bool, crd_dir: Path | None, output: str, started: int) -> None:
    from modelops.cli.progress import progress_bar
    from modelops.compile.run import compile_all

    with progress_bar("Compiling models", output) as on_progress:
        answer = compile_all(root, resolve_crd_dir(crd_dir, root), check, started, on_progress)
    if isinstance(answer, list):
        report("compile", output, answer, count=True)
        sys.exit(1)
    _report(check, output, answer.models, answer.files, answer.changed, answer.diff)


def _report(check: bool, output: str, models: list[str], files: int, changed: list[str], diff: str) -> None:
    """What compile says (and, with --check, its exit: 1 when generated/ is stale)."""
    from modelops.compile.emit.tree import GENERATED

    summary = {"models": models, "files": files, "changed": changed}
    if check:
        def stale_text() -> None:
            if changed:
                click.echo(diff, nl=False)
                click.echo(f"{len(changed)} generated file(s) are stale or hand-edited: "
                           "run `modelops compile` and commit the result.", err=True)
            else:
                click.echo(f"{GENERATED}/ is up to date ({files} files).")

        report("compile", output, [], {**summary, "stale": bool(changed), "diff": diff},
               text=stale_text, ok=not changed)
        sys.exit(1 if changed else 0)
    report("compile", output, [], summary, text=lambda: click.echo(
        f"Compiled {len(models)} model(s) into {files} files; {len(changed)} changed."))
