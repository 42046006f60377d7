"""Seldon Core 2 predictions end to end through Kafka: compile a seldon-v2 model with a store and a
shadow, run the collector as its generated Deployment says (broker, group, the topics ConfigMap)
against a real broker, produce what Core 2's main and mirror pipelines write to the Models' topics
(V2 protobuf, the same x-request-id), and `compare` pairs main with the shadow."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest
from support import fixtures, prediction_store
from support.collector_events import Process, collector
from support.generated_files import documents
from support.kafka_broker import produce, tansu, v2_request, v2_response

pytestmark = pytest.mark.slow

CONFIG = """\
environments:
  production:
    namespace: models
    target: seldon-v2
teams:
  risk: {reviewers: ["@acme/risk-ds"]}
policy: {allowed_schemes: [s3]}
stores:
  default: {uri: "file://STORE"}
collector:
  image: registry.example/modelops:0.4.0
  kafka: {broker: "BROKER"}
"""
MODEL = prediction_store.model("{task: classification, min_pairs: 100, gates: {agreement: 0.9}}",
                               protocol="v2", per_environment=True)


def _collector_settings(root: Path, folder: Path) -> tuple[list[str], dict[str, Any]]:
    """The generated collector's Kafka arguments (the topics file written to `folder`) and topics."""
    [config_map, deployment, *_] = documents(
        (root / "generated/production/models/modelops-collector-default.yaml").read_text())
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    models = folder / "models.json"
    models.write_text(config_map["data"]["models.json"])
    kafka = args[args.index("--kafka-broker"):]
    kafka[kafka.index("--kafka-models") + 1] = str(models)
    return kafka, json.loads(models.read_text())["topics"]


def _topic(topics: dict[str, Any], variant: str, side: str) -> str:
    [found] = [t for t, route in topics.items() if route["variant"] == variant and t.endswith(side)]
    return found


def _written(running: Process) -> int:
    pattern = re.compile(r"^modelops_collector_events_written_total\{.*\} (\d+)$")
    return sum(int(m[1]) for line in running.metrics().splitlines() if (m := pattern.match(line)))


def test_core2_predictions_through_kafka_are_compared(tmp_path: Path) -> None:
    store, root = tmp_path / "store", tmp_path / "repo"
    with tansu(tmp_path / "tansu.log") as broker:
        fixtures.make_repo(root, {"iris.yaml": MODEL},
                           CONFIG.replace("STORE", str(store)).replace("BROKER", broker.address))
        done = fixtures.run(root, "compile", timeout=120)
        assert done.returncode == 0, done.stderr
        kafka, topics = _collector_settings(root, tmp_path)
        rng = random.Random(3)
        messages = []
        for i in range(200):
            label = rng.randrange(3)
            other = label if rng.random() < 0.95 else (label + 1) % 3
            header = [("x-request-id", f"req-{i}".encode())]
            scores = [[0.9 if k == label else 0.05 for k in range(3)]]
            mirrored = [[0.9 if k == other else 0.05 for k in range(3)]]
            request = v2_request("iris", [[5.1, 3.5, 1.4, 0.2]])
            messages += [(_topic(topics, "main", "inputs"), request, header),
                         (_topic(topics, "main", "outputs"), v2_response("iris", scores), header),
                         (_topic(topics, "shadow", "outputs"),
                          v2_response("iris-shadow", mirrored, raw=False), header)]
        produce(broker.address, messages)
        with collector(str(store), tmp_path / "spool", "--environment", "production", "--flush-seconds",
                       "0.1", *kafka) as running:
            deadline = time.monotonic() + 90
            while _written(running) < len(messages) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _written(running) == len(messages), running.log.read_text()
            assert running.stop() == 0
    done = fixtures.run(root, "compare", "iris", "--env", "production", "-o", "json", timeout=120)
    comparison = json.loads(done.stdout)["comparison"]
    assert comparison["pairs"] == 200 and comparison["statistics"]["agreement"] > 0.9, comparison
    assert done.returncode == 0, done.stdout
