"""`modelops collect --kafka-broker` against a real broker (Tansu): Seldon Core v1's Kafka logger and
Seldon Core 2's model topics (V2 protobuf with raw_output_contents or contents, and JSON) land in the
store as the HTTP events do, `compare` pairs main and shadow by request id, a poison message is one
log line and counted, and offsets are committed only once events are spooled: a kill -9 after the
commit loses nothing, and messages consumed but not spooled are read again after a restart."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from support import fixtures, prediction_store
from support.collector_events import Process, collector, seldon_answer, stored_rows
from support.kafka_broker import Broker, core2_topic, produce, seldon_v1, tansu, v2_request, v2_response
from support.prediction_store import CONFIG

pytestmark = pytest.mark.slow
V1_TOPIC = "modelops.production.iris"
REQUEST = b'{"data":{"ndarray":[[5.1,3.5,1.4,0.2]]}}'


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with tansu(tmp_path / "tansu.log") as running:
        yield running


def _models_file(path: Path) -> Path:
    """The routes compile generates: Core 2 Model names (dashes are ambiguous) and Seldon v1 topics."""
    routes = {core2_topic("fraud", side): {"model": "fraud", "variant": "main", "versions": {"main": "3"}}
              for side in ("inputs", "outputs")}
    routes |= {core2_topic("fraud-shadow", side): {"model": "fraud", "variant": "shadow",
                                                   "versions": {"shadow": "4"}}
               for side in ("inputs", "outputs")}
    routes[V1_TOPIC] = {"model": "iris", "versions": {"main": "1", "shadow": "2"}}
    path.write_text(json.dumps({"topics": routes}))
    return path


def _consuming(tmp_path: Path, broker: Broker, group: str, *args: str) -> AbstractContextManager[Process]:
    return collector(str(tmp_path / "store"), tmp_path / "spool", "--environment", "production",
                     "--kafka-broker", broker.address, "--kafka-group", group,
                     "--kafka-models", str(_models_file(tmp_path / "models.json")), *args)


def _counter(running: Process, name: str) -> int:
    pattern = re.compile(rf"^modelops_collector_events_{name}(\{{.*\}})? (\d+)$")
    return sum(int(m[2]) for line in running.metrics().splitlines() if (m := pattern.match(line)))


def _until(check: object, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s")


def _answer(label: int) -> bytes:
    return seldon_answer([[0.9 if k == label else 0.05 for k in range(3)]])


def test_seldon_v1_and_core_2_messages_are_stored_and_compared(tmp_path: Path, broker: Broker) -> None:
    store = tmp_path / "store"
    messages = []
    for i in range(20):
        puid = f"v1-{i}"
        messages += [(V1_TOPIC, REQUEST, seldon_v1("request", puid, "main")),
                     (V1_TOPIC, _answer(i % 3), seldon_v1("response", puid, "main")),
                     (V1_TOPIC, _answer(i % 3 if i else 1), seldon_v1("response", puid, "shadow"))]
    request_id = [("x-request-id", b"c2-1")]
    messages += [
        (core2_topic("fraud", "inputs"), v2_request("fraud", [[1.0, 2.0], [3.0, 4.0]]), request_id),
        (core2_topic("fraud", "outputs"), v2_response("fraud", [[0.2, 0.8], [0.7, 0.3]]), request_id),
        (core2_topic("fraud-shadow", "outputs"), v2_response("fraud-shadow", [[0.1, 0.9], [0.6, 0.4]],
                                                             raw=False), request_id),
        (core2_topic("fraud-shadow", "outputs"), json.dumps({"model_name": "fraud-shadow", "outputs": [
            {"name": "predict", "shape": [1], "datatype": "FP64", "data": [0.5]}]}).encode(),
         [("x-request-id", b"c2-2")]),
        (core2_topic("fraud", "outputs"), b"\xff\xff not protobuf", [("x-request-id", b"c2-3")]),
    ]
    produce(broker.address, messages)
    with _consuming(tmp_path, broker, "stored", "--flush-seconds", "0.1") as running:
        _until(lambda: _counter(running, "written_total") == len(messages) - 1, "every event stored")
        assert _counter(running, "refused_total") == 1
        assert running.stop() == 0
    assert "refused Kafka message seldon.models.model.fraud.outputs[" in running.log.read_text()

    rows = stored_rows(store)
    fraud = sorted(((r["variant"], r["kind"], r["request_id"], r["index"], r["output"], r["version"],
                     r["source"]) for r in rows if r["model"] == "fraud"), key=str)
    assert fraud == sorted([
        ("main", "request", "c2-1", 0, None, "3", "seldon-v2"),
        ("main", "response", "c2-1", 0, 1.0, "3", "seldon-v2"),
        ("main", "response", "c2-1", 1, 0.0, "3", "seldon-v2"),
        ("shadow", "response", "c2-1", 0, 1.0, "4", "seldon-v2"),
        ("shadow", "response", "c2-1", 1, 0.0, "4", "seldon-v2"),
        ("shadow", "response", "c2-2", 0, 0.5, "4", "seldon-v2")], key=str)
    payload = json.loads(next(r["payload"] for r in rows if r["request_id"] == "c2-1"
                              and r["kind"] == "response" and r["variant"] == "main" and r["index"] == 0))
    assert payload["outputs"][0]["data"] == [0.2, 0.8, 0.7, 0.3]  # float32 as written, not 0.200000003
    iris = [r for r in rows if r["model"] == "iris"]
    assert {(r["variant"], r["version"], r["source"], r["protocol"]) for r in iris} == {
        ("main", "1", "seldon-v1", "seldon"), ("shadow", "2", "seldon-v1", "seldon")}

    root = tmp_path / "repo"
    fixtures.make_repo(root, {"iris.yaml": IRIS}, CONFIG.replace("STORE", str(store)))
    done = fixtures.run(root, "compare", "iris", "--env", "production", "-o", "json", timeout=120)
    comparison = json.loads(done.stdout)["comparison"]
    assert comparison["pairs"] == 20 and comparison["statistics"]["agreement"] == 0.95, comparison


IRIS = prediction_store.model("{task: classification, min_pairs: 10}", per_environment=True)


def test_a_kill_9_after_the_commit_loses_nothing_and_reads_nothing_twice(tmp_path: Path,
                                                                         broker: Broker) -> None:
    store = tmp_path / "store"
    first = [(V1_TOPIC, _answer(0), seldon_v1("response", f"a-{i}", "main")) for i in range(50)]
    produce(broker.address, first)
    with _consuming(tmp_path, broker, "killed", "--flush-seconds", "3600") as running:
        _until(lambda: _counter(running, "received_total") == 50, "50 events acknowledged")
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(timeout=30)
    assert not list(store.rglob("*.parquet")), "nothing was stored before the kill"
    later = [(V1_TOPIC, _answer(1), seldon_v1("response", f"b-{i}", "main")) for i in range(10)]
    produce(broker.address, later)
    with _consuming(tmp_path, broker, "killed", "--flush-seconds", "0.1") as restarted:
        _until(lambda: _counter(restarted, "received_total") == 10, "the 10 new events acknowledged")
        assert restarted.stop() == 0
    assert "replaying 50 spooled events" in restarted.log.read_text()
    ids = sorted(row["request_id"] for row in stored_rows(store))
    assert ids == sorted([f"a-{i}" for i in range(50)] + [f"b-{i}" for i in range(10)])


def test_messages_consumed_but_not_spooled_are_read_again(tmp_path: Path, broker: Broker) -> None:
    store = tmp_path / "store"
    produce(broker.address, [(V1_TOPIC, _answer(2), seldon_v1("response", f"c-{i}", "main"))
                             for i in range(30)])
    # a small spool that cannot be flushed (the store is a file): the consumer holds what does not
    # fit, commits nothing for it, and is killed
    store.write_text("not a folder")
    with _consuming(tmp_path, broker, "unspooled", "--max-spool-bytes", "1024") as running:
        _until(lambda: 'reason="spool_full"' in running.metrics(), "the batch waiting for room")
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(timeout=30)
    store.unlink()
    with _consuming(tmp_path, broker, "unspooled", "--flush-seconds", "0.1") as restarted:
        _until(lambda: _counter(restarted, "written_total") == 30, "the 30 events read again")
        assert restarted.stop() == 0
    assert sorted(row["request_id"] for row in stored_rows(store)) == sorted(f"c-{i}" for i in range(30))


def test_kafka_option_mistakes_are_one_line_each(tmp_path: Path) -> None:
    import subprocess

    from support.collector_events import MODELOPS

    (tmp_path / "models.json").write_text('{"topic": []}')
    cases = [("--kafka-topic", "seldon.models.model.iris.outputs"),
             ("--kafka-broker", "127.0.0.1:1", "--kafka-models", str(tmp_path / "models.json"))]
    found = []
    for args in cases:
        done = subprocess.run([MODELOPS, "collect", "--store", str(tmp_path / "store"), "--spool",
                               str(tmp_path / "spool"), "--port", "0", *args], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        found.append(done.stderr.split(": ", 1)[1].strip())
    assert found == ["MO823 --kafka-topic and --kafka-models need --kafka-broker",
                     "MO823 cannot read the Kafka models file: not a topics file (KeyError: 'topics')"]


def test_the_consumers_security_settings_come_from_modelops_kafka_variables() -> None:
    from modelops.collector.kafka import client_settings

    environ = {"MODELOPS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MODELOPS_KAFKA_SASL_PASSWORD": "s3cret",
               "KAFKA_PORT": "tcp://10.0.0.7:9092", "MODELOPS_KAFKA_": "x"}  # a Service named kafka
    assert client_settings(environ) == {"security.protocol": "SASL_SSL", "sasl.password": "s3cret"}


def test_a_batch_the_spool_fails_to_take_is_read_again(tmp_path: Path, broker: Broker) -> None:
    from modelops.collector.kafka import KafkaConfig, KafkaSource
    from modelops.collector.metrics import Metrics
    from modelops.collector.spool import Spool, read

    produce(broker.address, [(V1_TOPIC, _answer(0), seldon_v1("response", f"d-{i}", "main"))
                             for i in range(5)])
    spool = Spool(tmp_path / "spool", 1 << 20)
    real, calls = spool.append_many, []

    def failing_once(records: list[bytes]) -> None:
        calls.append(len(records))
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real(records)

    spool.append_many = failing_once  # type: ignore[method-assign]
    source = KafkaSource(KafkaConfig(broker.address, (V1_TOPIC,), "failing"), spool, Metrics(lambda: 0))
    source.start()
    try:
        _until(lambda: spool.events >= 5, "the 5 messages spooled after the failure")
        time.sleep(1)  # nothing more arrives: the failed batch was not also kept
    finally:
        source.stop(30)
    spool.close()
    assert len(calls) >= 2 and spool.events == 5
    records = [r for path in sorted((tmp_path / "spool").glob("*.seg")) for r in read(path)]
    assert sorted(json.loads(r.partition(b"\n")[0])["request_id"] for r in records) == [
        f"d-{i}" for i in range(5)]


def _padded(pad: int) -> bytes:
    answer = {"data": {"names": ["p"], "ndarray": [[1]]}, "meta": {"tags": {"pad": "x" * pad}}}
    return json.dumps(answer).encode()


def test_a_batch_larger_than_the_spool_is_taken_in_parts(tmp_path: Path, broker: Broker) -> None:
    """Large answers (images, embeddings) fill a batch past the spool's size: it used to wait for
    room that could never come, and the collector stopped consuming. A message larger than the whole
    spool is refused in one line and the rest flow on."""
    store = tmp_path / "store"
    messages = [(V1_TOPIC, _padded(1500), seldon_v1("response", f"e-{i}", "main")) for i in range(20)]
    messages.insert(7, (V1_TOPIC, _padded(8000), seldon_v1("response", "too-large", "main")))
    produce(broker.address, messages)
    with _consuming(tmp_path, broker, "parts", "--max-spool-bytes", "4096",
                    "--flush-seconds", "0.1") as running:
        _until(lambda: _counter(running, "written_total") == 20, "the 20 events written, a few at a time")
        assert 'reason="too_large"' in running.metrics()
        assert running.stop() == 0
    refused = "refused 1 Kafka message(s) larger than the spool (--max-spool-bytes 4096)"
    assert refused in running.log.read_text()
    assert sorted(row["request_id"] for row in stored_rows(store)) == sorted(f"e-{i}" for i in range(20))
