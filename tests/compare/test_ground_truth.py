"""Ground truth: Seldon feedback events and io.modelops.feedback labels, stored by the collector, joined
by request id; each variant's own accuracy (or RMSE) on live traffic, and the live gate on it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from support import collector_events, fixtures, prediction_store

MODEL = prediction_store.model("{task: classification, min_pairs: 100, "
                               "gates: {agreement: 0.5, live: {min_labels: 400, margin: MARGIN}}}")


def repo(tmp_path: Path, margin: float = 0.0) -> Path:
    root = tmp_path / "repo"
    fixtures.make_repo(root, {"iris.yaml": MODEL.replace("MARGIN", str(margin))},
                       prediction_store.CONFIG.replace("STORE", str(tmp_path / "store")))
    return root


def labelled_traffic(store: Path, requests: int, main_right: float, shadow_right: float,
                     labels: int) -> None:
    """main and shadow answer `requests` (classes 0-2), right on the given shares; the truth of the
    first `labels` requests arrives as label rows (variant `labels`, kind feedback)."""
    rng = random.Random(3)
    main, shadow, truth = [], [], []
    for i in range(requests):
        label = rng.randrange(3)
        right_main, right_shadow = rng.random() < main_right, rng.random() < shadow_right
        main.append({"request_id": f"r{i}", "output": float(label if right_main else (label + 1) % 3)})
        shadow.append({"request_id": f"r{i}", "output": float(label if right_shadow else (label + 2) % 3)})
        if i < labels:
            truth.append({"request_id": f"r{i}", "output": float(label), "kind": "feedback"})
    prediction_store.write(store, "iris", "main", main)
    prediction_store.write(store, "iris", "shadow", shadow)
    prediction_store.write(store, "iris", "labels", truth)


def compare(root: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = fixtures.run(root, "compare", "iris", "--env", "production", "-o", "json", timeout=120)
    return done.returncode, json.loads(done.stdout)["comparison"]


def test_each_variant_is_scored_on_the_labelled_requests_and_the_better_shadow_passes(tmp_path: Path) -> None:
    root = repo(tmp_path)
    labelled_traffic(tmp_path / "store", 2000, 0.80, 0.92, labels=1000)
    code, found = compare(root)
    assert found["truth"]["main"]["labelled"] == found["truth"]["shadow"]["labelled"] == 1000
    assert found["truth"]["main"]["accuracy"] == pytest.approx(0.80, abs=0.03)
    assert found["truth"]["shadow"]["accuracy"] == pytest.approx(0.92, abs=0.03)
    live = next(g for g in found["gates"] if g["gate"] == "live")
    assert live["passed"] is True and live["value"] == pytest.approx(0.12, abs=0.04)
    assert (code, found["verdict"]) == (0, "pass")
    text = fixtures.run(root, "compare", "iris", "--env", "production", timeout=120).stdout
    assert "live shadow" in text and "on 1000 labelled answers" in text


def test_a_shadow_worse_on_ground_truth_fails_even_when_it_agrees_enough(tmp_path: Path) -> None:
    root = repo(tmp_path)
    labelled_traffic(tmp_path / "store", 2000, 0.92, 0.80, labels=1000)
    code, found = compare(root)
    assert (code, found["verdict"]) == (1, "fail")
    assert found["reason"].startswith("predictions: live gain over main -0.1")


def test_the_margin_asks_for_more_than_no_worse(tmp_path: Path) -> None:
    root = repo(tmp_path, margin=0.2)
    labelled_traffic(tmp_path / "store", 2000, 0.80, 0.92, labels=1000)
    code, found = compare(root)
    assert (code, found["verdict"]) == (1, "fail")


def test_too_few_labels_hold_the_decision(tmp_path: Path) -> None:
    root = repo(tmp_path)
    labelled_traffic(tmp_path / "store", 2000, 0.80, 0.92, labels=150)
    code, found = compare(root)
    assert (code, found["verdict"]) == (0, "hold")
    assert found["reason"] == "predictions: 150 labelled answers of 400 needed for the live gate"


def test_the_collector_stores_seldon_feedback_and_modelops_labels(tmp_path: Path) -> None:
    """Seldon's feedback event carries the truth of a request; anyone else posts io.modelops.feedback
    with the request id it answers. Both become feedback rows that compare joins."""
    store, spool = tmp_path / "store", tmp_path / "spool"
    root = repo(tmp_path)
    feedback = json.dumps({"request": {"data": {"ndarray": [[5.1, 3.5, 1.4, 0.2]]}},
                           "response": {"data": {"ndarray": [[0.9, 0.05, 0.05]]}},
                           "truth": {"data": {"ndarray": [[0, 1, 0]]}}, "reward": 0}).encode()
    with collector_events.collector(str(store), spool, "--environment", "production") as running:
        poster = collector_events.Poster(running.port)
        for variant, answer in (("main", [[0.9, 0.05, 0.05]]), ("shadow", [[0.1, 0.8, 0.1]])):
            assert poster.post(collector_events.seldon("response", "puid-1", variant,
                                                       collector_events.seldon_answer(answer)),
                               collector_events.seldon_answer(answer))[0] == 202
            assert poster.post(collector_events.seldon("response", "puid-2", variant,
                                                       collector_events.seldon_answer(answer)),
                               collector_events.seldon_answer(answer))[0] == 202
        seldon = {**collector_events.seldon("feedback", "puid-1", "main", feedback),
                  "Ce-Type": "io.seldon.serving.feedback"}
        assert poster.post(seldon, feedback)[0] == 202
        label = {"Ce-Specversion": "1.0", "Ce-Type": "io.modelops.feedback", "Ce-Id": "label-2",
                 "Ce-Source": "labelling-job", "Ce-Requestid": "puid-2", "Content-Type": "application/json"}
        body = json.dumps({"truth": {"predictions": [1]}}).encode()
        assert poster.post(label, body, "?model=iris")[0] == 202
        no_id = {k: v for k, v in label.items() if k != "Ce-Requestid"}
        status, _ = poster.post(no_id, body, "?model=iris")
        assert status == 400
        poster.close()
    rows = collector_events.stored_rows(store)
    truths = sorted((r["variant"], r["request_id"], r["output"]) for r in rows if r["kind"] == "feedback")
    assert truths == [("labels", "puid-2", 1.0), ("main", "puid-1", 1.0)]
    assert "a label needs the request id it answers" in running.log.read_text()
    model = root / "models" / "iris.yaml"
    model.write_text(model.read_text().replace("min_pairs: 100", "min_pairs: 1").replace(
        "min_labels: 400", "min_labels: 2"))
    code, found = compare(root)
    assert found["truth"]["main"] == {"labelled": 2, "accuracy": 0.0, "mae": 1.0, "rmse": 1.0}
    assert found["truth"]["shadow"]["accuracy"] == 1.0
    assert (code, found["verdict"]) == (1, "fail")  # they agree on nothing: the agreement gate
