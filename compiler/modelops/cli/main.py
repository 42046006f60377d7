"""The `modelops` command line: validate, compile, schema.

Exit codes: 0 success, 1 user errors or a stale tree, 2 usage errors.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from modelops import __version__
from modelops.diagnostics import Diagnostic, UserError

OUTPUT = click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Human-readable text or JSON for machines.",
)
REPO = click.option(
    "--repo", "-C", "repo", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Repository root (default: the nearest folder holding modelops.yaml).",
)
CRD_DIR = click.option(
    "--crd-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of CRD schemas to validate output against; per kind it wins over $MODELOPS_CRD_DIR, "
    "schemas/crds and the bundled schemas.",
)


def _root(repo: Path | None) -> Path:
    from modelops.compile.pipeline import find_root

    return repo.resolve() if repo else find_root(Path.cwd())


def _report(diagnostics: list[Diagnostic], output: str, extra: dict | None = None) -> None:
    if output == "json":
        payload = {"ok": not diagnostics, "diagnostics": [d.to_json() for d in diagnostics]}
        payload.update(extra or {})
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)
    if diagnostics:
        count = len(diagnostics)
        click.echo(f"Found {count} error{'s' if count != 1 else ''}.", err=True)


def _crd_dir(explicit: Path | None, root: Path) -> Path | None:
    """`--crd-dir` as given, once it and $MODELOPS_CRD_DIR are known to exist (see compile.emit.schemas)."""
    from modelops.compile.emit.schemas import MissingSchemaFolder, SchemaSet

    try:
        SchemaSet.find(explicit, root)
    except MissingSchemaFolder as exc:
        raise click.BadParameter(str(exc), param_hint="--crd-dir") from None
    return explicit


class LazyGroup(click.Group):
    """A group whose `lazy_commands` (name -> "module:attribute") are imported on first use."""

    lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            import importlib

            module, attribute = self.lazy_commands[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelops")
def cli() -> None:
    """Compile model specs in models/ into Seldon manifests in generated/."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@REPO
@CRD_DIR
@OUTPUT
def validate(paths: tuple[Path, ...], repo: Path | None, crd_dir: Path | None, output: str) -> None:
    """Check model files (default: all of models/) without writing anything."""
    from modelops.compile.pipeline import build

    root = _root(repo)
    result = build(root, list(paths) or None, _crd_dir(crd_dir, root), history=True)
    _report(result.diagnostics, output, {"models": result.models})
    if result.diagnostics:
        sys.exit(1)
    if output == "text":
        click.echo(f"{len(result.models)} model(s) valid.")


@cli.command(name="compile")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if generated/ is stale.")
@REPO
@CRD_DIR
@OUTPUT
def compile_command(check: bool, repo: Path | None, crd_dir: Path | None, output: str) -> None:
    """Compile every model into generated/<env>/<namespace>/<model>.yaml."""
    from modelops.compile.cache import compile_lock

    root = _root(repo)
    with nullcontext() if check else compile_lock(root):
        _compile(root, check, crd_dir, output)


def _compile(root: Path, check: bool, crd_dir: Path | None, output: str) -> None:
    from modelops.compile.cache import spare_tree
    from modelops.compile.emit.tree import (
        GENERATED,
        Staging,
        read_files,
        read_tree,
        replace_tree,
        stale_diff,
        write_file,
    )
    from modelops.compile.pipeline import build

    tree = read_tree(root / GENERATED)
    spare = spare_tree(root)
    # No spare tree to patch (a fresh checkout): build the new tree while the models compile.
    fresh = not check and not (spare and spare.is_dir()) and root.is_dir()
    with Staging(root / GENERATED, tree) if fresh else nullcontext() as staged:
        result = build(root, None, _crd_dir(crd_dir, root), on_rendered=staged.add if staged else None)
        if result.diagnostics:
            _report(result.diagnostics, output)
            sys.exit(1)
        wanted = {f"{GENERATED}/{name}": text for name, text in result.files.items()}
        wanted.update(result.repo_files)
        current = {f"{GENERATED}/{name}": text for name, text in tree.items()}
        current.update(read_files(root, list(result.repo_files)))
        changed = sorted(n for n in set(current) | set(wanted) if current.get(n) != wanted.get(n))
        if not check and any(name.startswith(f"{GENERATED}/") for name in changed):
            replace_tree(root / GENERATED, result.files, tree, spare, staged)
    summary = {"models": result.models, "files": len(wanted), "changed": changed}
    if check:
        diff = stale_diff(current, wanted, prefix="")
        _report([], output, {**summary, "stale": bool(changed), "diff": diff})
        if changed:
            if output == "text":
                click.echo(diff, nl=False)
                click.echo(f"{len(changed)} generated file(s) are stale or hand-edited: "
                           "run `modelops compile` and commit the result.", err=True)
            sys.exit(1)
        if output == "text":
            click.echo(f"{GENERATED}/ is up to date ({len(wanted)} files).")
        return
    for name in changed:
        if name in result.repo_files:
            write_file(root / name, result.repo_files[name])
    _report([], output, summary)
    if output == "text":
        click.echo(f"Compiled {len(result.models)} model(s) into {len(wanted)} files; "
                   f"{len(changed)} changed.")


@cli.command()
@REPO
@click.option("--check", is_flag=True, help="Exit 1 if the files in schemas/ are stale.")
def schema(repo: Path | None, check: bool) -> None:
    """Export the JSON Schemas of model files and modelops.yaml to schemas/."""
    from modelops.compile.schema import schema_texts, write_schemas

    directory = _root(repo) / "schemas"
    if check:
        stale = [n for n, t in schema_texts().items()
                 if not (directory / n).is_file() or (directory / n).read_text() != t]
        for name in stale:
            click.echo(f"schemas/{name} is stale: run `modelops schema`", err=True)
        sys.exit(1 if stale else 0)
    for path in write_schemas(directory):
        click.echo(f"wrote {path.relative_to(directory.parent).as_posix()}")


@cli.command()
@REPO
@click.option("--sync", "sync_mode", default=None,
              help="Only environments synced this way (ci, argocd, flux).")
def environments(repo: Path | None, sync_mode: str | None) -> None:
    """List the environments of modelops.yaml, one per line (for CI scripts)."""
    from modelops.compile.pipeline import load_config

    config, _, errors = load_config(_root(repo))
    if config is None:
        _report(errors, "text")
        sys.exit(1)
    for name, env in sorted(config.environments.items()):
        if sync_mode is None or getattr(env, "sync", "ci") == sync_mode:
            click.echo(name)


# Commands defined in their own modules, imported only when run (or listed by --help), so
# `modelops compile` does not pay for promote, sync and the rest. Those modules must import heavy
# libraries (mlflow, kubernetes, github) inside their functions, never at module level.
cli.lazy_commands = {
    "diff": "modelops.review.diff_command:diff_command",
    "sync": "modelops.cluster.sync:sync_command",
    "drift": "modelops.cluster.drift:drift_command",
    "schemas": "modelops.cluster.crds:schemas_group",
    "promote": "modelops.promotion.promote:promote_command",
    "rollback": "modelops.promotion.promote:rollback_command",
    "autoupdate": "modelops.promotion.autoupdate:autoupdate_command",
}


def main() -> None:
    try:
        cli(standalone_mode=True)
    except UserError as exc:
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted; nothing was written", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug, not a user error: one line unless asked for the traceback
        if os.environ.get("MODELOPS_DEBUG"):
            raise
        click.echo(f"modelops: internal error: {type(exc).__name__}: {exc} "
                   "(set MODELOPS_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(3)
