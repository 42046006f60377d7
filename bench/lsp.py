"""Diagnostics latency of the warm language server after a change (run with `make bench-lsp`).

It writes the `defaults` corpus of N models (corpus.py), starts `modelops lsp` on stdio as an editor
would, opens one model file and then changes it `--changes` times (alternating a broken team and
the fixed one, so every round trip carries a result that differs from the last), timing each from
sending `textDocument/didChange` to receiving its `textDocument/publishDiagnostics`. The first open
(reading and checking every model) and a change to modelops.yaml (checking every model again) are
timed too. The goal is the warm change: 50 ms or less at 1,000 models.

    .venv/bin/python bench/lsp.py [--n 1000] [--changes 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import corpus

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.lsp_client import LspClient  # noqa: E402  (the tests' hand-written JSON-RPC client)

GOAL_MS = 50.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="models in the corpus (default 1000)")
    parser.add_argument("--changes", type=int, default=50, help="changes to time (default 50)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="modelops-bench-lsp-") as folder:
        root = Path(folder) / "repo"
        paths = corpus.generate(root, args.n, corpus="defaults")
        timings = measure(root, root / paths[len(paths) // 2], args.changes)
    report(args.n, timings)
    return 0 if statistics.median(timings["change"]) <= GOAL_MS else 1


def measure(root: Path, model: Path, changes: int) -> dict[str, list[float]]:
    """Milliseconds: the first open, each change of the model, one change of modelops.yaml."""
    text = model.read_text()
    broken = text.replace("team: ", "team: nobody-", 1)
    timings: dict[str, list[float]] = {"open": [], "change": [], "config": []}
    client = LspClient(root)
    try:
        client.initialize(root)
        start = time.perf_counter()
        client.open(model, text)
        assert client.diagnostics(model, 1) == [], "the corpus should be valid"
        timings["open"].append(_ms(start))
        for version in range(2, changes + 2):
            start = time.perf_counter()
            client.change(model, broken if version % 2 == 0 else text, version)
            found = client.diagnostics(model, version)
            timings["change"].append(_ms(start))
            assert [d["code"] for d in found] == (["MO202"] if version % 2 == 0 else []), found
        config = root / "modelops.yaml"
        client.open(config, config.read_text())
        client.diagnostics(config, 1)
        start = time.perf_counter()
        client.change(config, config.read_text() + "# a comment\n", 2)
        client.diagnostics(config, 2)
        timings["config"].append(_ms(start))
        client.shutdown()
    finally:
        client.close()
    return timings


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def report(n: int, timings: dict[str, list[float]]) -> None:
    changes = sorted(timings["change"])
    p90 = changes[max(0, round(0.9 * len(changes)) - 1)]
    print(f"modelops lsp, {n} models ({len(changes)} changes of one model file)")
    print(f"  first open (reads and checks every model): {timings['open'][0]:8.1f} ms")
    print(f"  change, warm: median {statistics.median(changes):6.1f} ms, p90 {p90:6.1f} ms, "
          f"max {changes[-1]:6.1f} ms (goal: {GOAL_MS:.0f} ms)")
    print(f"  change of modelops.yaml (checks every model): {timings['config'][0]:8.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
