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
    from modelops.compile.emit.tree import (
        GENERATED,
        Staging,
        read_files,
        read_tree,
        replace_tree,
        spare_tree,
        stale_diff,
        write_repo_files,
    )
    from modelops.compile.pipeline import build
    from modelops.compile.unchanged import record

    tree = read_tree(root / GENERATED)
    spare = spare_tree(root)
    # No spare tree to patch (a fresh checkout): build the new tree while the models compile.
    fresh = not check and not (spare and spare.is_dir()) and root.is_dir()
    with Staging(root / GENERATED, tree) if fresh else nullcontext() as staged:
        with progress_bar("Compiling models", output) as on_progress:
            result = build(root, None, resolve_crd_dir(crd_dir, root),
                           on_rendered=staged.add if staged else None, on_progress=on_progress, current=tree)
        if result.diagnostics:
            report("compile", output, result.diagnostics, count=True)
            sys.exit(1)
        wanted = {f"{GENERATED}/{name}": text for name, text in result.files.items()}
        wanted.update(result.repo_files)
        current = {f"{GENERATED}/{name}": text for name, text in tree.items()}
        current.update(read_files(root, list(result.repo_files)))
        changed = sorted(n for n in set(current) | set(wanted) if current.get(n) != wanted.get(n))
        if not check and any(name.startswith(f"{GENERATED}/") for name in changed):
            replace_tree(root / GENERATED, result.files, tree, spare, staged)
    if check:
        diff = stale_diff(current, wanted, prefix="")
        if not changed:
            record(root, crd_dir, started, result.models, wanted, result.digests)
        _report(check, output, result.models, len(wanted), changed, diff)
        return
    write_repo_files(root, result.repo_files)
    record(root, crd_dir, started, result.models, wanted, result.digests)
    _report(check, output, result.models, len(wanted), changed, "")


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
