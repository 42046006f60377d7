"""`modelops autoupdate` on the command line: the pass runner's table, and a bad --watch or --poll
refused in one line (passes against MLflow and the webhook receiver are tests/promotion/)."""

from __future__ import annotations

from pathlib import Path

from support.fixtures import run
from support.git_repos import clone


def test_one_pass_without_policies_needs_no_mlflow(tmp_path: Path) -> None:
    done = run(clone(tmp_path).root, "autoupdate", "--no-push", env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
               timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("model  env  deployed  candidate  metric  action  reason\n"
                           "iris   —    —         —          —       off     no autoupdate policy\n")


def test_a_bad_interval_is_one_line_and_exit_1(tmp_path: Path) -> None:
    root = clone(tmp_path).root
    watch = run(root, "autoupdate", "--watch", "1m1h", timeout=120)
    assert (watch.returncode, watch.stdout) == (1, "")
    assert watch.stderr == ".:1:1: MO011 --watch: '1m1h' is not a duration such as 90, 30s, 5m or 1h30m\n"
    poll = run(root, "autoupdate", "serve", "--poll", "soon", timeout=120)
    assert (poll.returncode, poll.stderr) == (
        1, ".:1:1: MO011 --poll: 'soon' is not a duration such as 90, 30s, 5m or 1h30m\n")
