"""`modelops rollout` on the command line: the pass runner's table, JSON Lines under --watch, and a bad
interval refused in one line (the Prometheus-judged passes are tests/rollout/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.fixtures import run
from support.git_repos import clone

NO_POLICY = "no rollout policy (rollout: in the model file or its environment)"


def test_one_pass_prints_the_table(tmp_path: Path) -> None:
    done = run(clone(tmp_path).root, "rollout", "--no-push", unset=("PROMETHEUS_URL",), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("model  env         trial  action  target  reason\n"
                           f"iris   production  —      off     —       {NO_POLICY}\n"
                           f"iris   staging     —      off     —       {NO_POLICY}\n")


def test_watch_prints_one_json_line_per_pass(tmp_path: Path) -> None:
    done = run(clone(tmp_path).root, "rollout", "--no-push", "-o", "json", "--watch", "0.01",
               "--max-passes", "2", timeout=120)
    assert done.returncode == 0, done.stderr
    passes = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(passes) == 2 and all(p["ok"] and p["command"] == "rollout" for p in passes)
    assert [(d["env"], d["action"]) for d in passes[0]["decisions"]] == [("production", "off"),
                                                                         ("staging", "off")]


@pytest.mark.parametrize(("interval", "problem"), [
    ("5min", "'5min' is not a duration such as 90, 30s, 5m or 1h30m"),
    ("0", "'0' must be more than zero"),
])
def test_a_bad_interval_is_one_line_and_exit_1(tmp_path: Path, interval: str, problem: str) -> None:
    done = run(clone(tmp_path).root, "rollout", "--watch", interval, timeout=120)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f".:1:1: MO011 --watch: {problem}\n"
