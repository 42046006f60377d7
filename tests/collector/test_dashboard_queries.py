"""The dashboard's predictions row, evaluated by a real Prometheus scraping a real collector that
main and shadow answers are posted to: every panel's query returns what the traffic says."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from modelops.compile.generators.dashboard import dashboard
from support.collector_events import Poster, collector, seldon, seldon_answer
from support.prometheus_server import query, scraping

pytestmark = pytest.mark.slow
AGREEMENT = 0.8


def _traffic(port: int, stop: threading.Event) -> None:
    """main answers class 0 or 1 at random; shadow the same class on AGREEMENT of the requests."""
    rng = random.Random(5)
    poster = Poster(port)
    i = 0
    while not stop.is_set():
        label = rng.randrange(2)
        other = label if rng.random() < AGREEMENT else 1 - label
        for variant, answer in (("main", label), ("shadow", other)):
            body = seldon_answer([[0.9 if k == answer else 0.1 for k in range(2)]])
            poster.post(seldon("response", f"puid-{i}", variant, body), body)
        i += 1
        time.sleep(0.002)
    poster.close()


def _panel_queries() -> dict[str, str]:
    board = dashboard("production", recorded=(), predictions=True)
    rows = [p for p in board["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows] == ["Predictions"]
    return {p["title"]: p["targets"][0]["expr"].replace("$model", "iris").replace("$variant", ".*")
            for p in board["panels"] if p["type"] != "row"}


def test_every_predictions_panel_shows_what_the_answers_say(tmp_path: Path) -> None:
    stop = threading.Event()
    with collector(str(tmp_path / "store"), tmp_path / "spool", "--environment", "production",
                   "--flush-seconds", "0.2") as running:
        thread = threading.Thread(target=_traffic, args=(running.port, stop), daemon=True)
        thread.start()
        try:
            with scraping(tmp_path, [f"127.0.0.1:{running.port}"]) as url:
                found = _until_all_panels_answer(url, _panel_queries())
        finally:
            stop.set()
            thread.join(timeout=10)
    stored = {r["metric"]["variant"]: float(r["value"][1]) for r in found["Stored answers per second"]}
    assert set(stored) == {"main", "shadow"} and min(stored.values()) > 0
    shares: dict[str, float] = {}
    for r in found["Predicted classes (share of answers)"]:
        shares[r["metric"]["variant"]] = shares.get(r["metric"]["variant"], 0.0) + float(r["value"][1])
    assert shares == {"main": pytest.approx(1.0), "shadow": pytest.approx(1.0)}
    means = {r["metric"]["variant"]: float(r["value"][1]) for r in found["Mean output"]}
    assert 0.3 < means["main"] < 0.7  # classes 0 and 1, half each
    [agreement] = found["Agreement with the other variant"]
    assert agreement["metric"]["variants"] == "main,shadow"
    assert float(agreement["value"][1]) == pytest.approx(AGREEMENT, abs=0.1)


def _until_all_panels_answer(url: str, queries: dict[str, str]) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    deadline = time.monotonic() + 90
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        try:
            found = {title: query(url, expr) for title, expr in queries.items()}
        except OSError:
            found = {}
        if found and all(len(found[t]) >= (1 if "Agreement" in t else 2) for t in found) and all(
                float(r["value"][1]) == float(r["value"][1]) for rows in found.values() for r in rows):
            return found
        time.sleep(1)
    raise AssertionError(f"the panels did not all answer within 90 s: {found}")
