"""`modelops collect` for real: events posted over HTTP as the Seldon v1 executor sends them, Parquet
read back with pyarrow, a malformed event refused with 400 and one log line, the CLI's errors."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
from modelops.collector.server import Collector, Config

MODELOPS = str(Path(sys.executable).parent / "modelops")
SELDON = {"Ce-Specversion": "1.0", "Ce-Type": "io.seldon.serving.inference.response",
          "Ce-Source": "http://iris-main.models:8000/", "Ce-Id": "4f1c", "Ce-Requestid": "puid-1",
          "Ce-Modelid": "classifier", "Ce-Inferenceservicename": "iris", "Ce-Namespace": "models",
          "Ce-Endpoint": "shadow", "Ce-Protocol": "seldon", "Ce-Time": "2026-12-03T06:20:00.123456789Z",
          "Content-Type": "application/json"}
BATCH = b'{"data":{"names":["p0","p1"],"ndarray":[[0.1,0.9],[0.8,0.2]]},"meta":{}}'


def post(port: int, headers: dict[str, str], body: bytes, query: str = "") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/v1/events" + query, body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read()


def test_a_batched_seldon_response_is_one_row_per_instance(tmp_path: Path) -> None:
    collector = Collector(Config(store=str(tmp_path / "store"), spool=tmp_path / "spool", host="127.0.0.1",
                                 port=0, environment="production", flush_seconds=0.1))
    collector.start()
    assert post(collector.port, SELDON, BATCH)[0] == 202
    assert post(collector.port, {"Ce-Type": "io.seldon.serving.inference.response"}, b"{}")[0] == 400
    assert collector.stop()
    rows = ds.dataset(str(tmp_path / "store"), partitioning="hive").to_table().to_pylist()
    assert [(r["model"], r["variant"], r["index"], r["output"], r["outputs"]) for r in rows] == [
        ("iris", "shadow", 0, 1.0, "[[0.1,0.9]]"), ("iris", "shadow", 1, 0.0, "[[0.8,0.2]]")]
    assert rows[0]["payload"] == BATCH and rows[1]["payload"] is None
    assert {r["request_id"] for r in rows} == {"puid-1"} and rows[0]["environment"] == "production"
    assert not list((tmp_path / "spool").glob("*.seg"))


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = {"MO820": ["--store", "nope://x"],
             "MO821": ["--store", str(tmp_path), "--spool", str(blocker / "spool")]}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cases["MO822"] = ["--store", str(tmp_path / "s"), "--spool", str(tmp_path / "sp"), "--host",
                          "127.0.0.1", "--port", str(taken.getsockname()[1])]
        for code, args in cases.items():
            done = subprocess.run([MODELOPS, "collect", *args], capture_output=True, text=True, timeout=60)
            assert done.returncode == 1, done.stderr
            assert f": {code} " in done.stderr and "Traceback" not in done.stderr
