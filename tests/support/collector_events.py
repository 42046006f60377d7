"""Events byte for byte as the Seldon Core v1 executor and the KServe agent post them, and a real
`modelops collect` process to post them to."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.prometheus_server import free_port

MODELOPS = str(Path(sys.executable).parent / "modelops")


def _now() -> str:
    """Ce-Time as the executor writes it: RFC 3339 with nanoseconds."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def seldon(kind: str, puid: str | None, endpoint: str, body: bytes, model: str = "iris",
           event_id: str = "4f1c") -> dict[str, str]:
    """The CloudEvents headers of the Seldon v1 executor (Ce-Requestid is the caller's Seldon-Puid)."""
    headers = {"Ce-Specversion": "1.0", "Ce-Type": f"io.seldon.serving.inference.{kind}",
               "Ce-Source": f"http://{model}-{endpoint}.models:8000/", "Ce-Id": event_id,
               "Ce-Modelid": "classifier", "Ce-Inferenceservicename": model, "Ce-Namespace": "models",
               "Ce-Endpoint": endpoint, "Ce-Protocol": "seldon", "Ce-Time": _now(),
               "Content-Type": "application/json"}
    if puid is not None:
        headers["Ce-Requestid"] = puid
    return headers


def seldon_answer(probabilities: list[list[float]]) -> bytes:
    """A seldon-protocol response of a batch of probability rows."""
    names = [f"p{i}" for i in range(len(probabilities[0]))]
    return json.dumps({"data": {"names": names, "ndarray": probabilities}, "meta": {}}).encode()


def kserve(kind: str, ce_id: str, service: str, request_id: str | None = None) -> dict[str, str]:
    """The KServe agent's headers: the same Ce-Id for request and response, Ce-Metadata of the
    `metadataHeaders` the logger lists."""
    headers = {"Ce-Specversion": "1.0", "Ce-Type": f"org.kubeflow.serving.inference.{kind}",
               "Ce-Source": "http://localhost:9081/", "Ce-Id": ce_id, "Ce-Inferenceservicename": service,
               "Ce-Namespace": "models", "Ce-Component": "predictor", "Ce-Endpoint": "",
               "Content-Type": "application/json"}
    if request_id is not None:
        headers["Ce-Metadata"] = json.dumps({"X-Request-Id": [request_id]})
    return headers


def v2_answer(values: list[float], model: str = "iris") -> bytes:
    return json.dumps({"model_name": model, "outputs": [
        {"name": "predict", "shape": [len(values)], "datatype": "FP64", "data": values}]}).encode()


class Poster:
    """One keep-alive connection, as the executor's client keeps one."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, headers: dict[str, str], body: bytes, query: str = "") -> tuple[int, dict[str, str]]:
        self.connection.request("POST", "/v1/events" + query, body=body, headers=headers)
        answer = self.connection.getresponse()
        answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}

    def close(self) -> None:
        self.connection.close()


@dataclass
class Process:
    process: subprocess.Popen[str]
    port: int
    log: Path

    def metrics(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.request("GET", "/metrics")
        return connection.getresponse().read().decode()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)


@contextmanager
def collector(store: str, spool: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Process]:
    """`modelops collect` on 127.0.0.1, serving once /healthz answers; SIGTERM (flush) on exit."""
    port = free_port()
    log = spool.parent / f"collector-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen([MODELOPS, "collect", "--store", store, "--spool", str(spool), "--host",
                                    "127.0.0.1", "--port", str(port), *args], stdout=out,
                                   stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    running = Process(process, port, log)
    try:
        _wait_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            running.stop()


def _wait_healthy(running: Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise AssertionError(f"the collector exited: {running.log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the collector did not answer /healthz within 60 s")


def stored_rows(store: Path | str, filesystem: Any = None) -> list[dict[str, Any]]:
    """Every row of the store, partition columns included."""
    import pyarrow.dataset as ds

    return ds.dataset(str(store), filesystem=filesystem, partitioning="hive").to_table().to_pylist()
