"""Rows to Parquet files on the store: one file per partition (model, variant, UTC date) and segment,
named after the segment, so writing a segment again replaces its files instead of adding rows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from modelops.collector.decode import Row
from modelops.columns import COLUMNS, partition_path


def schema() -> Any:
    import pyarrow as pa

    types = {"timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"), "string": pa.string(),
             "int32": pa.int32(), "double": pa.float64(), "binary": pa.binary()}
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def write(filesystem: Any, base: str, name: str, partitions: dict[tuple[str, str, str], list[Row]]) -> None:
    """Write each partition's rows as `<base>/model=/variant=/date=/<name>.parquet`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_schema = schema()
    local = filesystem.type_name == "local"
    for (model, variant, date), rows in sorted(partitions.items()):
        folder = f"{base}/{partition_path(model, variant, date)}"
        filesystem.create_dir(folder, recursive=True)
        table = pa.Table.from_pylist(rows, schema=arrow_schema)
        final = f"{folder}/{name}.parquet"
        target = f"{folder}/.{name}.parquet.tmp" if local else final  # readers skip dot files
        pq.write_table(table, target, filesystem=filesystem, compression="zstd")
        if local:
            filesystem.move(target, final)


def by_partition(events: list[tuple[str, str, list[Row]]]) -> dict[tuple[str, str, str], list[Row]]:
    """(model, variant, rows) per event -> rows per (model, variant, UTC date)."""
    partitions: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for model, variant, rows in events:
        for row in rows:
            partitions[(model, variant, row["time"].date().isoformat())].append(row)
    return partitions
