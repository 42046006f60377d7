"""The pass runner (`modelops.cli.passes`): one table renderer, one --watch loop, JSON Lines per pass,
a failed pass said and the loop kept going."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click
from click.testing import CliRunner
from modelops.cli.options import output_option, watch_options
from modelops.cli.passes import Passes, run_passes
from modelops.cli.report import table
from modelops.diagnostics import Diagnostic, UserError


@dataclass
class Seen:
    model: str
    action: str


def _command(results: list[list[Seen] | UserError]) -> click.Command:
    kind = Passes("demo", ("model", "action"), lambda decisions: [(d.model, d.action) for d in decisions])
    left = iter(results)

    def one() -> list[Seen]:
        result = next(left)
        if isinstance(result, UserError):
            raise result
        return result

    @click.command()
    @watch_options
    @output_option
    def demo(interval: object, max_passes: int | None, output: str) -> None:
        run_passes(kind, one, output, interval, max_passes)  # type: ignore[arg-type]

    return demo


DOWN = UserError([Diagnostic(".", 1, 1, "MO601", "Prometheus at http://x unreachable")])


def test_the_table_pads_every_column_but_the_last() -> None:
    rows = [("iris", "off", "no policy"), ("eta-courier", "keep", "")]
    assert table(("model", "action", "reason"), rows) == (
        "model        action  reason\n"
        "iris         off     no policy\n"
        "eta-courier  keep\n")


def test_one_pass_prints_the_table_and_exits_1_only_on_an_error() -> None:
    done = CliRunner().invoke(_command([[Seen("iris", "off")]]), [])
    assert (done.exit_code, done.stdout) == (0, "model  action\niris   off\n")
    failed = CliRunner().invoke(_command([[Seen("iris", "error")]]), [])
    assert failed.exit_code == 1


def test_a_user_error_in_one_pass_is_one_line_and_exit_1() -> None:
    done = CliRunner().invoke(_command([DOWN]), [])
    assert (done.exit_code, done.stdout) == (1, "")
    assert done.stderr == ".:1:1: MO601 Prometheus at http://x unreachable\n"


def test_watch_writes_one_json_line_per_pass_and_keeps_going_after_a_failed_one() -> None:
    passes = [[Seen("iris", "off")], DOWN, [Seen("iris", "keep")]]
    done = CliRunner().invoke(_command(passes), ["--watch", "10ms", "--max-passes", "3", "-o", "json"])
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(d["ok"], d["command"]) for d in lines] == [(True, "demo"), (False, "demo"), (True, "demo")]
    assert lines[0]["decisions"] == [{"model": "iris", "action": "off"}]
    assert [d["code"] for d in lines[1]["diagnostics"]] == ["MO601"]

