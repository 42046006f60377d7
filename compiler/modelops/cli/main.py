"""The `modelops` command line: a lazy group of the commands in `modelops.cli.commands`, and `main()`.

Exit codes: 0 success, 1 user errors or a stale tree, 2 usage errors, 3 internal errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from modelops import __version__
from modelops.cli.options import COMMAND_KEY, OUTPUT_KEY, repo_option
from modelops.diagnostics import UserError

# A missing optional dependency (top-level module) -> the extra that installs it.
EXTRAS = {"kubernetes": "sync", "mlflow": "promote", "ruamel": "promote", "github": "github",
          "rich": "review", "duckdb": "compare", "pyarrow": "compare", "numpy": "compare",
          "matplotlib": "plot", "pygls": "lsp", "lsprotocol": "lsp"}


class LazyGroup(click.Group):
    """A group whose `lazy_commands` (name -> "module:attribute") are imported on first use.

    It also turns the errors a command raises into what users see: a UserError into its diagnostics
    (the JSON envelope under `-o json`), a missing extra into the one line naming it.
    """

    lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            import importlib

            module, attribute = self.lazy_commands[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        with masked_output():
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            from modelops.cli.report import print_user_error

            command = ctx.meta.get(COMMAND_KEY) or ctx.invoked_subcommand or ""
            print_user_error(command, ctx.meta.get(OUTPUT_KEY, "text"), exc.diagnostics)
            sys.exit(1)
        except ModuleNotFoundError as exc:
            extra = EXTRAS.get((exc.name or "").split(".")[0])
            if extra is None:
                raise
            click.echo(f"modelops {ctx.invoked_subcommand}: needs the {extra} extra: "
                       f"pip install 'modelops-gitops[{extra}]'", err=True)
            sys.exit(1)


@contextmanager
def masked_output() -> Iterator[None]:
    """stdout and stderr mask every credential written to them (modelops.masking), whatever the
    command and format: text bodies, tables, diffs, progress lines, click's own messages."""
    from modelops.masking import MaskedStream

    out, err = sys.stdout, sys.stderr
    if isinstance(out, MaskedStream):
        yield
        return
    sys.stdout, sys.stderr = MaskedStream(out), MaskedStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelops")
@repo_option
def cli(repo: object) -> None:
    """Compile model specs in models/ into Seldon manifests in generated/."""


# Each command lives in its own module, imported only when run (or listed by --help), so
# `modelops compile` does not pay for promote, sync and the rest. Command modules import the library
# (and heavy packages: mlflow, kubernetes, github, rich) inside their functions, never at module level.
cli.lazy_commands = {
    "validate": "modelops.cli.commands.validate:validate",
    "compile": "modelops.cli.commands.compile:compile_command",
    "schema": "modelops.cli.commands.schema:schema",
    "environments": "modelops.cli.commands.environments:environments",
    "diff": "modelops.cli.commands.diff:diff_command",
    "sync": "modelops.cli.commands.sync:sync_command",
    "drift": "modelops.cli.commands.drift:drift_command",
    "schemas": "modelops.cli.commands.schemas:schemas_group",
    "promote": "modelops.cli.commands.promote:promote_command",
    "rollback": "modelops.cli.commands.rollback:rollback_command",
    "rule": "modelops.cli.commands.rule:rule_command",
    "autoupdate": "modelops.cli.commands.autoupdate:autoupdate_command",
    "rollout": "modelops.cli.commands.rollout:rollout_command",
    "approvals": "modelops.cli.commands.approvals:approvals_command",
    "init": "modelops.cli.commands.init:init_command",
    "compare": "modelops.cli.commands.compare:compare_command",
    "collect": "modelops.cli.commands.collect:collect_command",
    "lsp": "modelops.cli.commands.lsp:lsp_command",
}


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where the process is, so every `finally` and context manager (the
    writer's temp trees, the compile lock, worker pools) cleans up; a BaseException so no `except
    Exception` swallows it, and not a KeyboardInterrupt so click does not print "Aborted!"."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _unraisable(hook: Any) -> None:
    """A signal that landed in a finalizer (`__del__`, a weakref callback) is swallowed there, and
    Python would print "Exception ignored in: ..." and go on: deliver it again, out of the finalizer."""
    if isinstance(hook.exc_value, Interrupted):  # a moment later, from another thread: out of here
        import threading

        timer = threading.Timer(0.05, os.kill, (os.getpid(), hook.exc_value.signum))
        timer.daemon = True
        timer.start()
        return
    sys.__unraisablehook__(hook)


def main() -> None:
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    sys.unraisablehook = _unraisable
    try:
        cli(standalone_mode=True)
    except Interrupted as exc:
        _exit_interrupted(exc.signum)
    except UserError as exc:  # raised outside a command (while parsing): the lines, as ever
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        _exit_interrupted(2)
    except Exception as exc:  # a bug, not a user error: one line unless asked for the traceback
        if os.environ.get("MODELOPS_DEBUG"):
            raise
        from modelops.masking import mask_text

        click.echo(f"modelops: internal error: {type(exc).__name__}: {mask_text(str(exc))} "
                   "(set MODELOPS_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(3)


def _exit_interrupted(signum: int) -> None:
    """One line, then 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells do."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while exiting prints nothing more
    click.echo(f"modelops: interrupted by {signal.Signals(signum).name}; temporary files removed", err=True)
    sys.exit(128 + signum)
