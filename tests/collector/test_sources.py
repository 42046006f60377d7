"""What each model server sends, as the collector stores it: KServe pairs request and response by
their shared Ce-Id (or the X-Request-Id its logger lists in metadataHeaders), v2 bodies are decoded
per instance, /metrics counts by model and variant, and an `s3://` store on an S3 API works."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import fixtures, prediction_store
from support.collector_events import Poster, collector, kserve, seldon, seldon_answer, stored_rows, v2_answer
from support.prometheus_server import free_port

pytestmark = pytest.mark.slow


def test_kserve_events_pair_by_ce_id_or_the_listed_request_header(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with collector(str(store), tmp_path / "spool", "--flush-seconds", "0.1",
                   "--environment", "staging") as running:
        poster = Poster(running.port)
        request = b'{"inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}'
        assert poster.post(kserve("request", "ce-7", "fraud"), request)[0] == 202
        assert poster.post(kserve("response", "ce-7", "fraud"), v2_answer([0.1, 0.7]))[0] == 202
        assert poster.post(kserve("response", "ce-8", "fraud", request_id="req-42"),
                           v2_answer([0.4]), query="?variant=shadow&version=3")[0] == 202
        metrics = running.metrics()
        assert ('modelops_collector_events_received_total{environment="staging",model="fraud",'
                'variant="main"} 2') in metrics
        assert ('modelops_collector_events_received_total{environment="staging",model="fraud",'
                'variant="shadow"} 1') in metrics
        assert running.stop() == 0
    rows = sorted(stored_rows(store), key=lambda r: (r["variant"], r["kind"], r["index"]))
    assert [(r["variant"], r["kind"], r["request_id"], r["index"], r["output"]) for r in rows] == [
        ("main", "request", "ce-7", 0, None), ("main", "response", "ce-7", 0, 0.1),
        ("main", "response", "ce-7", 1, 0.7), ("shadow", "response", "req-42", 0, 0.4)]
    assert {(r["source"], r["protocol"], r["environment"]) for r in rows} == {("kserve", "v2", "staging")}
    assert rows[-1]["version"] == "3"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer
    from pyarrow import fs

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fs.S3FileSystem(endpoint_override=env["AWS_ENDPOINT_URL"], region="us-east-1",
                  allow_bucket_creation=True).create_dir("predictions")
    try:
        yield env
    finally:
        server.stop()


MODEL = prediction_store.model("{task: classification, min_pairs: 40, gates: {agreement: 0.9}}")
CONFIG = """\
environments:
  production: {namespace: models}
teams:
  risk: {reviewers: ["@acme/risk-ds"]}
policy: {allowed_schemes: [s3]}
stores:
  default: {uri: "s3://predictions/live"}
collector: {image: registry.example/modelops:0.4.0}
"""


def test_an_s3_store_is_written_by_the_collector_and_read_by_compare(tmp_path: Path,
                                                                     s3: dict[str, str]) -> None:
    from pyarrow import fs

    with collector("s3://predictions/live", tmp_path / "spool", "--flush-seconds", "0.1",
                   "--environment", "production", env=s3) as running:
        poster = Poster(running.port)
        for i in range(50):
            for endpoint in ("main", "shadow"):
                answer = seldon_answer([[0.9, 0.1]] if endpoint == "main" or i % 10 else [[0.1, 0.9]])
                assert poster.post(seldon("response", f"puid-{i}", endpoint, answer), answer)[0] == 202
        assert running.stop() == 0
    bucket = fs.S3FileSystem(endpoint_override=s3["AWS_ENDPOINT_URL"], region="us-east-1")
    assert len(stored_rows("predictions/live", bucket)) == 100
    assert not os.path.exists(tmp_path / "predictions")

    root = tmp_path / "repo"
    fixtures.make_repo(root, {"iris.yaml": MODEL}, CONFIG)
    done = fixtures.run(root, "compare", "iris", "--env", "production", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [" ".join(line.split()) for line in done.stdout.splitlines()]
    assert "pairs 50 (needs 40)" in lines, done.stdout
    assert "gate agreement pass: agreement 0.9, needs >= 0.9" in lines
