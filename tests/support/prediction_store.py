"""Predictions written into a store as the collector lays them out (modelops.columns), for compare."""

from __future__ import annotations

import datetime as dt
import random
import textwrap
from pathlib import Path
from typing import Any

from modelops.columns import partition_path

# modelops.yaml of a repository whose models store predictions in the folder STORE (replace it)
CONFIG = """\
environments:
  production:
    namespace: models
teams:
  risk:
    reviewers: ["@acme/risk-ds"]
policy:
  allowed_schemes: [s3]
stores:
  default: {uri: "file://STORE"}
collector: {image: registry.example/modelops:0.4.0}
"""


def model(compare: str, *, name: str = "iris", protocol: str | None = None,
          per_environment: bool = False) -> str:
    """A model file saving its predictions in the store `default`, with main and a shadow (under
    `environments.production` when `per_environment`) and `compare` (flow YAML) as given."""
    traffic = f"traffic:\n  main: {{}}\n  shadow: {{shadow: true, artifact: {{uri: s3://acme-models/{name}/2}}}}\n"
    if per_environment:
        traffic = "environments:\n  production:\n" + textwrap.indent(traffic, "    ")
    head = f"name: {name}\nteam: risk\nframework: sklearn\n" + (f"protocol: {protocol}\n" if protocol else "")
    return (head + f"artifact: {{uri: s3://acme-models/{name}/1}}\nlogging: {{mode: all, store: default}}\n"
            + f"compare: {compare}\n" + traffic)


def write(store: Path, model: str, variant: str, rows: list[dict[str, Any]], name: str = "part-0") -> None:
    """One Parquet file of `rows` (missing columns null) under model=/variant=/date=today."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from modelops.compare.query import file_schema

    schema = file_schema()
    now = dt.datetime.now(dt.UTC)
    full = [{"time": now, "environment": "production", "namespace": "models", "index": 0,
             "kind": "response", **row} for row in rows]
    table = pa.Table.from_pylist(full, schema=schema)
    folder = store / partition_path(model, variant, now.strftime("%Y-%m-%d"))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / f"{name}.parquet")


def classified_traffic(store: Path, model: str, pairs: int, agreement: float, unpaired: int = 0,
                       seed: int = 7) -> None:
    """main and shadow answering `pairs` requests (classes 0-2), agreeing on `agreement` of them;
    `unpaired` more shadow answers without a request id (no Seldon-Puid from the caller)."""
    rng = random.Random(seed)
    main, shadow = [], []
    flips = set(rng.sample(range(pairs), round(pairs * (1 - agreement))))
    for i in range(pairs):
        label = rng.randrange(3)
        other = (label + 1) % 3 if i in flips else label
        main.append({"request_id": f"r{i}", "output": float(label)})
        shadow.append({"request_id": f"r{i}", "output": float(other)})
    shadow += [{"request_id": None, "output": 0.0} for _ in range(unpaired)]
    write(store, model, "main", main)
    write(store, model, "shadow", shadow)
