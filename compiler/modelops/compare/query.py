"""Reading the prediction store with DuckDB: a model's rows as a table, main paired with its trial.

The store is Hive-partitioned Parquet (`modelops.columns`); DuckDB scans it through a pyarrow
dataset (so s3:// works offline, without DuckDB's httpfs). The same SQL runs on Trino, Spark or Athena
over the same files (`sql()` shows it, `--print-sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelops.columns import MODEL, open_store

TABLE = "predictions"


@dataclass(frozen=True)
class Window:
    """Which rows: one model, main and one trial variant, in one environment, since a time."""

    model: str
    main: str
    trial: str
    environment: str
    since_seconds: float
    output: int = 0  # outputs[k]


def connect(store_uri: str, model: str) -> Any:
    """A DuckDB connection with the model's rows registered as `predictions` (empty when none)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds

    from modelops.columns import PARTITIONS

    filesystem, base = open_store(store_uri)
    folder = f"{base}/{MODEL}={model}"
    schema = pa.schema([*file_schema(), *((name, pa.string()) for name in PARTITIONS if name != MODEL)])
    info = filesystem.get_file_info(folder)
    connection = duckdb.connect()
    if info.type == 0:  # NotFound: no predictions yet
        connection.register(TABLE, schema.empty_table())
        return connection
    dataset = ds.dataset(folder, filesystem=filesystem, format="parquet", schema=schema,
                         partitioning=ds.partitioning(pa.schema([(n, pa.string()) for n in PARTITIONS
                                                                 if n != MODEL]), flavor="hive"))
    connection.register(TABLE, dataset)
    return connection


def file_schema() -> Any:
    """The Arrow schema of one Parquet file of the store (`modelops.columns.COLUMNS`)."""
    import pyarrow as pa

    from modelops.columns import COLUMNS

    return pa.schema([(name, _arrow_type(kind)) for name, kind in COLUMNS])


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    if kind.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC")
    return {"string": pa.string(), "int32": pa.int32(), "double": pa.float64(),
            "binary": pa.binary()}[kind]


def _value(alias: str, output: int) -> str:
    """The compared value of `outputs[k]` as a number: k 0 is the `output` column; later tensors
    are read from `outputs` (a vector counts as its argmax)."""
    if output == 0:
        return f"{alias}.output"
    item = f"json_extract({alias}.outputs, '$[{output}]')"
    return (f"CASE WHEN json_type({item}) = 'ARRAY' THEN list_position(CAST({item} AS DOUBLE[]), "
            f"list_max(CAST({item} AS DOUBLE[]))) - 1 ELSE CAST({item} AS DOUBLE) END")


def _class(alias: str, output: int) -> str:
    if output == 0:
        return f"coalesce({alias}.label, CAST({alias}.output AS VARCHAR))"
    return f"CAST({_value(alias, output)} AS VARCHAR)"


def responses(variant: str, window: Window) -> str:
    return (f"SELECT * FROM {TABLE} WHERE kind = 'response' AND variant = '{_quote(variant)}' "
            f"AND environment = '{_quote(window.environment)}' "
            f"AND time >= now() - INTERVAL {int(window.since_seconds)} SECOND")


def pairs_sql(window: Window) -> str:
    """main and trial answers to the same request (id and batch position), one row per pair."""
    m, t = "m", "t"
    return (
        f"WITH {m} AS ({responses(window.main, window)}), {t} AS ({responses(window.trial, window)})\n"
        f"SELECT {_value(m, window.output)} AS main_value, {_value(t, window.output)} AS trial_value,\n"
        f"       {_class(m, window.output)} AS main_class, {_class(t, window.output)} AS trial_class\n"
        f"FROM {m} JOIN {t} ON {m}.request_id = {t}.request_id AND {m}.index = {t}.index"
    )


PAIRS = "pairs"  # the temporary table of `pairs_sql`, which the statistics read


def pairs_table_sql(window: Window) -> str:
    return f"CREATE TEMP TABLE {PAIRS} AS {pairs_sql(window)}"


VALUES_SQL = (f"SELECT main_value, trial_value FROM {PAIRS} "
              "WHERE main_value IS NOT NULL AND trial_value IS NOT NULL")
FLIPS_SQL = f"SELECT main_class, trial_class, count(*) FROM {PAIRS} GROUP BY ALL"
COUNT_SQL = f"SELECT count(*) FROM {PAIRS}"


def counts_sql(window: Window) -> str:
    """Responses per variant, and how many carry a request id (only those can pair)."""
    return (
        f"SELECT variant, count(*) AS responses, count(request_id) AS with_id FROM {TABLE}\n"
        f"WHERE kind = 'response' AND environment = '{_quote(window.environment)}' "
        f"AND variant IN ('{_quote(window.main)}', '{_quote(window.trial)}') "
        f"AND time >= now() - INTERVAL {int(window.since_seconds)} SECOND\nGROUP BY variant"
    )


def latency_sql(window: Window) -> str:
    """p50/p95/p99 milliseconds per variant, from each request's and response's event times."""
    return (
        f"WITH q AS (SELECT variant, request_id, time FROM {TABLE} WHERE kind = 'request' AND index = 0 "
        f"AND environment = '{_quote(window.environment)}'),\n"
        f"     r AS (SELECT variant, request_id, time FROM {TABLE} WHERE kind = 'response' AND index = 0 "
        f"AND environment = '{_quote(window.environment)}' "
        f"AND time >= now() - INTERVAL {int(window.since_seconds)} SECOND)\n"
        "SELECT r.variant, quantile_cont(epoch_ms(r.time) - epoch_ms(q.time), [0.5, 0.95, 0.99]) AS ms\n"
        "FROM r JOIN q ON r.variant = q.variant AND r.request_id = q.request_id\n"
        f"WHERE r.variant IN ('{_quote(window.main)}', '{_quote(window.trial)}') GROUP BY r.variant"
    )


def truth_sql(window: Window) -> str:
    """Per variant, its answers to requests whose true answer arrived (feedback rows, any variant:
    the newest per request and position): how many, accuracy, MAE and RMSE against the truth."""
    r, f = "r", "f"
    return (
        f"WITH truth AS (SELECT request_id, index, arg_max({_value(f, window.output)}, time) AS value,\n"
        f"       arg_max({_class(f, window.output)}, time) AS class FROM {TABLE} AS {f}\n"
        f"  WHERE kind = 'feedback' AND request_id IS NOT NULL "
        f"AND environment = '{_quote(window.environment)}' GROUP BY request_id, index),\n"
        f"{r} AS (SELECT variant, request_id, index, {_value(r, window.output)} AS value, "
        f"{_class(r, window.output)} AS class FROM {TABLE} AS {r}\n"
        f"  WHERE kind = 'response' AND environment = '{_quote(window.environment)}' "
        f"AND variant IN ('{_quote(window.main)}', '{_quote(window.trial)}') "
        f"AND time >= now() - INTERVAL {int(window.since_seconds)} SECOND)\n"
        f"SELECT {r}.variant, count(*) AS labelled,\n"
        f"       avg(CAST({r}.class = truth.class AS DOUBLE)) AS accuracy,\n"
        f"       avg(abs({r}.value - truth.value)) AS mae, sqrt(avg(({r}.value - truth.value) ^ 2)) AS rmse\n"
        f"FROM {r} JOIN truth ON {r}.request_id = truth.request_id AND {r}.index = truth.index\n"
        f"GROUP BY {r}.variant"
    )


def _quote(text: str) -> str:
    return text.replace("'", "''")


def portable_sql(store_uri: str, window: Window) -> str:
    """The pairing query over the store's files, for DuckDB, Trino, Spark or Athena."""
    source = (f"read_parquet('{store_uri.rstrip('/')}/{MODEL}={window.model}/*/*/*.parquet', "
              "hive_partitioning = true)")
    return pairs_sql(window).replace(f"FROM {TABLE}", f"FROM {source}")
