"""Options shared by the commands, spelled once: `-C/--repo`, `-o/--output`, `--crd-dir`, cluster options.

`-C` is an option of the `modelops` group (`modelops -C DIR validate`) and, for compatibility, of each
command too (`modelops validate -C DIR`); the command's own value wins, else the nearest group's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from modelops.compile.duration import Duration

F = TypeVar("F", bound=Callable[..., Any])

REPO_HELP = "Repository root (default: the nearest folder holding modelops.yaml)."
# ctx.meta keys (shared by every context of one run): what main() needs to report a UserError.
OUTPUT_KEY, COMMAND_KEY = "modelops.output", "modelops.command"


def command_name(ctx: click.Context) -> str:
    """`validate`, `schemas pull`: the command path without the program name."""
    return " ".join(ctx.command_path.split()[1:]) or ctx.command_path


def _inherit_repo(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    parent = ctx.parent
    while value is None and parent is not None:
        value, parent = parent.params.get("repo"), parent.parent
    return value


def _remember_output(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta[OUTPUT_KEY] = "json" if value == "json" else "text"
    ctx.meta[COMMAND_KEY] = command_name(ctx)
    return value


def repo_option(function: F) -> F:
    """-C/--repo DIR, taken from the enclosing group when the command does not give it."""
    return click.option("--repo", "-C", "repo", type=click.Path(file_okay=False, path_type=Path),
                        default=None, callback=_inherit_repo, help=REPO_HELP)(function)


def output_option(function: F) -> F:
    """-o/--output text|json."""
    return click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
                        show_default=True, callback=_remember_output,
                        help="Human-readable text or JSON for machines.")(function)


class _HiddenAlias(click.Option):
    """An option whose last name is an old spelling: it still works, and help does not show it."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        names, self.opts = self.opts, self.opts[:-1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = names


def format_option(function: F) -> F:
    """-o/--output text|markdown|json (`modelops diff`; `--format` is its old, hidden spelling)."""
    return click.option("--output", "-o", "--format", "fmt", cls=_HiddenAlias,
                        type=click.Choice(["text", "markdown", "json"]), default="text",
                        show_default=True, callback=_remember_output,
                        help="Terminal table, Markdown for a PR comment, or JSON.")(function)


def crd_dir_option(function: F) -> F:
    """--crd-dir DIR."""
    return click.option("--crd-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder of CRD schemas to validate output against; per kind it wins "
                        "over $MODELOPS_CRD_DIR, schemas/crds and the bundled schemas.")(function)


def cluster_options(function: F) -> F:
    """-C/--repo, --kubeconfig, --context, --max-retries: the commands that talk to a cluster."""
    function = click.option("--max-retries", type=click.IntRange(0, 10), default=4, show_default=True,
                            help="Retries on 429 and 5xx answers, with exponential backoff.")(function)
    function = click.option("--context", default=None,
                            help="kubeconfig context (default: the current one).")(function)
    function = click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else "
                            "in-cluster).")(function)
    return repo_option(function)


def push_options(function: F) -> F:
    """-C/--repo, --crd-dir, --output and --no-push: promote, rollback, autoupdate."""
    function = click.option("--no-push", is_flag=True,
                            help="Only create the branch locally: no push, no PR.")(function)
    return output_option(crd_dir_option(repo_option(function)))


def watch_options(function: F) -> F:
    """--watch INTERVAL (and the hidden --max-passes the tests stop it with): autoupdate, rollout."""
    function = click.option("--max-passes", type=int, default=None, hidden=True)(function)
    return click.option("--watch", "interval", type=DurationType(positive=True), default=None,
                        metavar="INTERVAL", help="Repeat passes every INTERVAL (60, 30s, 5m, 1h) until "
                        "stopped.")(function)


def repo_root(repo: Path | None) -> Path:
    """The repository root: -C, else the nearest folder above the working directory with modelops.yaml."""
    from modelops.compile.layout import find_root

    return repo.resolve() if repo else find_root(Path.cwd())


def resolve_crd_dir(explicit: Path | None, root: Path) -> Path | None:
    """`--crd-dir` as given, once it and $MODELOPS_CRD_DIR are known to exist.

    Which schema each kind uses (--crd-dir, $MODELOPS_CRD_DIR, schemas/crds, then the bundled set) is
    decided per kind by `modelops.compile.emit.schemas.SchemaSet`.
    """
    from modelops.compile.emit.schemas import MissingSchemaFolder, SchemaSet

    try:
        SchemaSet.find(explicit, root)
    except MissingSchemaFolder as exc:
        raise click.BadParameter(str(exc), param_hint="--crd-dir") from None
    return explicit


class DurationType(click.ParamType["Duration"]):
    """A `Duration` option (`modelops.compile.duration`): one that cannot be read is one MO011 line and
    exit 1, like every user error. With `positive`, zero is refused too."""

    name = "duration"

    def __init__(self, *, positive: bool = False) -> None:
        self.positive = positive

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Duration:
        from modelops.compile.duration import Duration, DurationError
        from modelops.diagnostics import Diagnostic, UserError

        if isinstance(value, Duration):
            return value
        try:
            return Duration.parse(str(value), positive=self.positive)
        except DurationError as exc:
            option = param.opts[0] if param is not None and param.opts else "duration"
            raise UserError([Diagnostic(".", 1, 1, "MO011", f"{option}: {exc}")]) from None
