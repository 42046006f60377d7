"""The prediction path's speed (run with `make bench-predictions`): the collector's throughput and
acknowledgement latency, and `compare` over a store of many rows, each against its goal and floor.

- collector: `modelops collect` pinned to one core (taskset), fed by client processes on keep-alive
  connections with Seldon v1 CloudEvents; events/s and the p99 of the time to the 202 (every 202
  means the event is fsynced in the spool). Goal: >= 3,000 events/s, p99 <= 20 ms.
- compare: `modelops compare -o json` as a whole process over N stored rows (half main, half shadow,
  all paired); the floor is DuckDB alone running the pairing join and the class counts over the
  same files. Goal: 10 million rows in <= 10 s.

    .venv/bin/python bench/predictions.py [--events 20000] [--clients 8] [--rows 10000000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELOPS = Path(sys.executable).with_name("modelops")
BODY = b'{"data":{"names":["p0","p1","p2"],"ndarray":[[0.1,0.7,0.2]]},"meta":{}}'


def _headers(puid: str, endpoint: str) -> dict[str, str]:
    return {"Ce-Specversion": "1.0", "Ce-Type": "io.seldon.serving.inference.response",
            "Ce-Source": "http://iris.models:8000/", "Ce-Id": puid, "Ce-Requestid": puid,
            "Ce-Modelid": "classifier", "Ce-Inferenceservicename": "iris", "Ce-Namespace": "models",
            "Ce-Endpoint": endpoint, "Ce-Protocol": "seldon", "Content-Type": "application/json"}


def _client(args: tuple[int, int, int]) -> list[float]:
    port, first, count = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    for i in range(first, first + count):
        start = time.perf_counter()
        connection.request("POST", "/v1/events", body=BODY,
                           headers=_headers(f"r{i}", "main" if i % 2 else "shadow"))
        answer = connection.getresponse()
        answer.read()
        latencies.append(time.perf_counter() - start)
        if answer.status != 202:
            raise SystemExit(f"the collector answered {answer.status}")
    return latencies


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def collector(workdir: Path, events: int, clients: int) -> tuple[float, float]:
    """(events per second, p99 acknowledgement in ms) of one collector on one core."""
    port = _free_port()
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    process = subprocess.Popen([*pin, str(MODELOPS), "collect", "--store", str(workdir / "store"), "--spool",
                                str(workdir / "spool"), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        share = events // clients
        with multiprocessing.Pool(clients) as pool:
            start = time.perf_counter()
            parts = pool.map(_client, [(port, k * share, share) for k in range(clients)])
            elapsed = time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=120)
    latencies = sorted(x for part in parts for x in part)
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


def _wait(port: int) -> None:
    for _ in range(600):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the collector did not start")


def store(workdir: Path, rows: int) -> Path:
    """`rows` stored responses of iris: main and shadow answering the same rows / 2 requests."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))
    from modelops.columns import partition_path
    from modelops.compare.query import file_schema

    schema, pairs, rng = file_schema(), rows // 2, np.random.default_rng(7)
    now = np.datetime64(int(time.time() * 1e6), "us")
    main = rng.integers(0, 3, pairs).astype(float)
    shadow = np.where(rng.random(pairs) < 0.97, main, (main + 1) % 3)
    ids = pa.array([f"r{i}" for i in range(pairs)], pa.string())
    date = time.strftime("%Y-%m-%d", time.gmtime())
    for variant, values in (("main", main), ("shadow", shadow)):
        columns = {"time": pa.array(np.full(pairs, now), pa.timestamp("us", tz="UTC")),
                   "environment": pa.array(["production"] * pairs, pa.string()), "request_id": ids,
                   "kind": pa.array(["response"] * pairs, pa.string()),
                   "index": pa.array(np.zeros(pairs, np.int32)), "output": pa.array(values)}
        table = pa.table({f.name: columns.get(f.name, pa.nulls(pairs, f.type)) for f in schema},
                         schema=schema)
        folder = workdir / "store" / partition_path("iris", variant, date)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")
    return workdir / "store"


REPO_CONFIG = """\
environments:
  production: {namespace: models}
teams:
  risk: {reviewers: ["@acme/risk-ds"]}
policy: {allowed_schemes: [s3]}
stores:
  default: {uri: "file://STORE"}
collector: {image: registry.example/modelops:0.4.0}
"""
MODEL = """\
name: iris
team: risk
framework: sklearn
artifact: {uri: s3://acme-models/iris/1}
logging: {mode: all, store: default}
compare: {task: classification, min_pairs: 1000, gates: {agreement: 0.95, psi: 0.2}}
traffic:
  main: {}
  shadow: {shadow: true, artifact: {uri: s3://acme-models/iris/2}}
"""


def compare(workdir: Path, folder: Path) -> tuple[float, float, int]:
    """(modelops compare seconds, DuckDB floor seconds, pairs)."""
    repo = workdir / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "modelops.yaml").write_text(REPO_CONFIG.replace("STORE", str(folder)))
    (repo / "models" / "iris.yaml").write_text(MODEL)
    start = time.perf_counter()
    done = subprocess.run([str(MODELOPS), "compare", "iris", "--env", "production", "-o", "json"], cwd=repo,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    pairs = int(json.loads(done.stdout)["comparison"]["pairs"])
    floor = f"""
import duckdb, time
t = time.perf_counter()
c = duckdb.connect()
c.execute("CREATE TEMP TABLE p AS SELECT m.output AS a, t.output AS b FROM "
          "read_parquet('{folder}/model=iris/variant=main/*/*.parquet') m JOIN "
          "read_parquet('{folder}/model=iris/variant=shadow/*/*.parquet') t "
          "ON m.request_id = t.request_id AND m.index = t.index")
c.execute("SELECT a, b, count(*) FROM p GROUP BY ALL").fetchall()
c.execute("SELECT a, b FROM p").fetchnumpy()
"""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", floor], check=True)
    return seconds, time.perf_counter() - start, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rows", type=int, default=10_000_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelops-bench-predictions-") as tmp:
        workdir = Path(tmp)
        rate, p99 = collector(workdir / "collector", options.events, options.clients)
        print(f"collector  {rate:,.0f} events/s on one core (goal >= 3,000: {rate / 3000:.2f}x), "
              f"p99 acknowledgement {p99:.1f} ms (goal <= 20 ms), {options.clients} clients, "
              f"{os.cpu_count()} cores")
        folder = store(workdir / "compare", options.rows)
        seconds, floor, pairs = compare(workdir / "compare", folder)
        print(f"compare    {options.rows:,} rows ({pairs:,} pairs) in {seconds:.2f} s (goal <= 10 s: "
              f"{10 / seconds:.2f}x), DuckDB floor {floor:.2f} s ({seconds / floor:.2f}x the floor)")


if __name__ == "__main__":
    main()
