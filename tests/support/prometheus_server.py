"""A real Prometheus (Debian's `prometheus`) on 127.0.0.1 evaluating the recording rules modelops
generates, scraping a small exporter that serves series shaped like Seldon Core v1's executor
metrics (`seldon_api_executor_server_requests_seconds_{count,bucket}`, labels `namespace`,
`deployment_name`, `predictor_name`, `code`).

Recording rules only evaluate on live data, so the exporter's counters grow with wall time at each
variant's rate; Prometheus scrapes and evaluates every second.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Traffic:
    """One variant's requests: per second, the share that fails (HTTP 500), and every request's latency."""

    namespace: str
    model: str
    variant: str
    rate: float
    errors: float
    latency: float


class Exporter:
    def __init__(self, traffic: Iterable[Traffic]) -> None:
        self.traffic = list(traffic)
        self.start = time.time() - 1
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def text(self) -> str:
        elapsed = time.time() - self.start
        name = "seldon_api_executor_server_requests_seconds"
        lines = [f"# TYPE {name} histogram"]
        for t in self.traffic:
            total = t.rate * elapsed
            for code, count in (("200", total * (1 - t.errors)), ("500", total * t.errors)):
                sel = (f'namespace="{t.namespace}",deployment_name="{t.model}",predictor_name="{t.variant}",'
                       f'code="{code}"')
                for le in BUCKETS:
                    lines.append(f'{name}_bucket{{{sel},le="{le}"}} {count if t.latency <= le else 0:.3f}')
                lines.append(f'{name}_bucket{{{sel},le="+Inf"}} {count:.3f}')
                lines.append(f"{name}_count{{{sel}}} {count:.3f}")
                lines.append(f"{name}_sum{{{sel}}} {count * t.latency:.3f}")
        return "\n".join(lines) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                data = exporter.text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def rule_groups(generated: Path) -> list[dict[str, Any]]:
    """The rule groups of every PrometheusRule modelops wrote under `generated/`."""
    groups = []
    for path in sorted(generated.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                groups += doc["spec"]["groups"]
    return groups


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(url: str, promql: str) -> list[dict[str, Any]]:
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(address, timeout=5) as answer:
        return list(json.load(answer)["data"]["result"])


@contextmanager
def prometheus(workdir: Path, generated: Path, traffic: Iterable[Traffic]) -> Iterator[str]:
    """Prometheus' base URL, once every variant's request rate is recorded."""
    exporter = Exporter(traffic)
    groups = rule_groups(generated)
    assert groups, f"no PrometheusRule under {generated}"
    (workdir / "rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    config = {"rule_files": [str(workdir / "rules.yml")],
              "scrape_configs": [{"job_name": "seldon", "honor_labels": True,
                                  "static_configs": [{"targets": [exporter.address]}]}]}
    try:
        with _running(workdir, config) as (url, process):
            _wait(url, process, workdir, {(t.model, t.variant) for t in exporter.traffic})
            yield url
    finally:
        exporter.close()


@contextmanager
def scraping(workdir: Path, targets: list[str]) -> Iterator[str]:
    """A Prometheus scraping `targets` (host:port) every second, without rules: its base URL."""
    config = {"scrape_configs": [{"job_name": "targets", "static_configs": [{"targets": targets}]}]}
    with _running(workdir, config) as (url, _):
        yield url


@contextmanager
def _running(workdir: Path, config: dict[str, Any]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Debian's prometheus on 127.0.0.1 with `config` (scraping and evaluating every second)."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (Debian package prometheus; .ci/run installs it)"
    (workdir / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, **config}))
    port = free_port()
    with (workdir / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(url: str, process: subprocess.Popen[bytes], workdir: Path, variants: set[tuple[str, str]]) -> None:
    """Until every variant has its rate and latency recorded, the busiest over 1,500 requests."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (workdir / "prometheus.log").read_text()[-2000:]
        try:
            rates = {(r["metric"]["model"], r["metric"]["variant"]): float(r["value"][1]) * 300
                     for r in query(url, "modelops:requests:rate5m")}
            p99 = {(r["metric"]["model"], r["metric"]["variant"])
                   for r in query(url, "modelops:latency_seconds:p99_5m")}
        except OSError:
            rates, p99 = {}, set()
        if variants <= p99 and variants <= set(rates) and max(rates.values()) > 1500:
            return
        time.sleep(0.5)
    log = (workdir / "prometheus.log").read_text()[-2000:]
    raise AssertionError(f"Prometheus recorded no rates within 60 s: {log}")
