"""`modelops compare`: main against its shadow on stored predictions, with DuckDB over Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import fixtures, prediction_store

MODEL = prediction_store.model("{task: classification, min_pairs: 1000, gates: {agreement: 0.95, psi: 0.2}}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    root = tmp_path / "repo"
    fixtures.make_repo(root, {"iris.yaml": MODEL}, prediction_store.CONFIG.replace("STORE", str(store)))
    return root


def _compare(root: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = fixtures.run(root, "compare", "iris", "--env", "production", "-o", "json", *args, timeout=120)
    return done.returncode, json.loads(done.stdout)


def test_a_shadow_agreeing_on_97_percent_passes_a_95_percent_gate(repo: Path) -> None:
    prediction_store.classified_traffic(repo.parent / "store", "iris", 5000, 0.97, unpaired=250)
    code, document = _compare(repo)
    comparison = document["comparison"]
    assert code == 0 and comparison["verdict"] == "pass", comparison
    assert comparison["pairs"] == 5000
    assert comparison["statistics"]["agreement"] == pytest.approx(0.97)
    assert comparison["unpaired"] == {"main": 0, "shadow": 250}  # coverage, not disagreement
    flips = comparison["statistics"]["flips"]
    assert sum(flips["0.0"].values()) + sum(flips["1.0"].values()) + sum(flips["2.0"].values()) == 5000


def test_at_80_percent_the_gate_fails_and_says_by_how_much(repo: Path) -> None:
    prediction_store.classified_traffic(repo.parent / "store", "iris", 5000, 0.80)
    code, document = _compare(repo)
    assert code == 1 and document["comparison"]["verdict"] == "fail"
    assert document["comparison"]["reason"] == "predictions: agreement 0.8, needs >= 0.95"


def test_too_few_pairs_hold(repo: Path) -> None:
    prediction_store.classified_traffic(repo.parent / "store", "iris", 300, 1.0)
    code, document = _compare(repo)
    assert (code, document["comparison"]["reason"]) == (0, "predictions: 300 paired of 1000 needed")


def test_markdown_and_the_portable_query(repo: Path) -> None:
    prediction_store.classified_traffic(repo.parent / "store", "iris", 1200, 0.99)
    done = fixtures.run(repo, "compare", "iris", "--env", "production", "-o", "markdown", timeout=120)
    assert "**Predictions: shadow against main** (classification)" in done.stdout
    assert "| gate agreement | pass: agreement 0.99, needs >= 0.95 |" in done.stdout
    sql = fixtures.run(repo, "compare", "iris", "--env", "production", "--print-sql", timeout=120).stdout
    assert "read_parquet('file://" in sql and "hive_partitioning = true" in sql


def test_an_empty_store_and_a_bad_window_are_one_line(repo: Path) -> None:
    code, document = _compare(repo)
    assert code == 0 and document["comparison"]["pairs"] == 0
    done = fixtures.run(repo, "compare", "iris", "--env", "production", "--since", "yesterday", timeout=120)
    assert (done.returncode, done.stderr.strip()) == (
        1, ".:1:1: MO011 --since: 'yesterday' is not a duration such as 90, 30s, 5m or 1h30m")
    done = fixtures.run(repo, "compare", "iris", "--env", "staging", timeout=120)
    assert done.stderr.strip() == ("modelops.yaml:1:1: MO803 no model 'iris' deploys to environment "
                                   "'staging'")


def test_regression_errors_and_the_within_gate(repo: Path) -> None:
    """A shadow 0.1 above main on every request: bias 0.1, MAE 0.1, all within a 0.2 tolerance."""
    model = (repo / "models" / "iris.yaml")
    model.write_text(prediction_store.model(
        "{task: regression, min_pairs: 100, gates: {bias: 0.05, within: {tolerance: 0.2, share: 0.9}}}"))
    store = repo.parent / "store"
    prediction_store.write(store, "iris", "main", [{"request_id": f"r{i}", "output": float(i)}
                                                   for i in range(200)])
    prediction_store.write(store, "iris", "shadow", [{"request_id": f"r{i}", "output": i + 0.1}
                                                     for i in range(200)])
    code, document = _compare(repo)
    found = document["comparison"]
    assert (found["statistics"]["mae"], found["statistics"]["bias"], found["statistics"]["within"]) == (
        pytest.approx(0.1), pytest.approx(0.1), 1.0)
    assert found["statistics"]["pearson"] == pytest.approx(1.0)
    assert (code, found["reason"]) == (1, "predictions: bias 0.1, needs <= 0.05")
    done = fixtures.run(repo, "compare", "iris", "--env", "production", "--trial", "main", timeout=120)
    assert "needs one trial variant beside main" in done.stderr


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plot_draws_the_classes_and_the_flip_matrix(repo: Path) -> None:
    prediction_store.classified_traffic(repo.parent / "store", "iris", 2000, 0.9)
    picture = repo.parent / "iris.png"
    code, document = _compare(repo, "--plot", str(picture))
    assert code == 1 and document["comparison"]["verdict"] == "fail"  # the plot changes no verdict
    assert _png_size(picture) == (1200, 480)
    assert not [p for p in picture.parent.iterdir() if p.name.endswith(".tmp")]


def test_plot_of_a_regression_carries_the_histograms_in_json_too(repo: Path) -> None:
    model = repo / "models" / "iris.yaml"
    model.write_text(prediction_store.model("{task: regression, min_pairs: 100, gates: {mae: 0.5}}"))
    store = repo.parent / "store"
    prediction_store.write(store, "iris", "main", [{"request_id": f"r{i}", "output": float(i % 50)}
                                                   for i in range(400)])
    prediction_store.write(store, "iris", "shadow", [{"request_id": f"r{i}", "output": i % 50 + 0.3}
                                                     for i in range(400)])
    picture = repo.parent / "iris-regression.png"
    code, document = _compare(repo, "--plot", str(picture))
    histograms = document["comparison"]["statistics"]["histograms"]
    assert code == 0 and sum(histograms["main"]) == sum(histograms["trial"]) == 400
    assert sum(map(sum, histograms["joint"])) == 400 and len(histograms["edges"]) == 21
    assert _png_size(picture) == (1200, 480)


def test_a_plot_that_cannot_be_written_is_one_line(repo: Path) -> None:
    prediction_store.classified_traffic(repo.parent / "store", "iris", 1200, 0.99)
    target = repo.parent / "missing" / "iris.png"
    done = fixtures.run(repo, "compare", "iris", "--env", "production", "--plot", str(target), timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"{target}:1:1: MO014 cannot write the plot: No such file or directory"]
