"""The prediction store's layout: every column and partition key once.

The collector (`modelops.collector`) writes these rows; `modelops.compare` and any engine that reads
Hive-partitioned Parquet (DuckDB, Trino, Spark, Athena) read them. A store is a folder or bucket
prefix; under it, `model=<m>/variant=<v>/date=<YYYY-MM-DD>/<file>.parquet`.

One row per model instance in an event: a batched request of 8 rows is 8 rows here, with `index`
0..7. `output` is the instance's first output as a number (a scalar, a one-element vector's value,
or a longer vector's argmax: the class of a probability row); `label` is it as text when the
server answers strings; `outputs` is JSON of every output tensor's value for this instance.
"""

from __future__ import annotations

from typing import Any

# partition keys, in path order
MODEL, VARIANT, DATE = "model", "variant", "date"
PARTITIONS = (MODEL, VARIANT, DATE)

# (column, Arrow type name) in file order; partition columns are in the path, not in the file
COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "timestamp[us, tz=UTC]"),   # Ce-Time of the event (else when the collector got it)
    ("namespace", "string"),
    ("environment", "string"),           # the modelops environment (from the collector's config)
    ("version", "string"),               # modelops.io/version of the variant, when known
    ("request_id", "string"),            # the pairing key (Seldon-Puid / Ce-Id on KServe / x-request-id)
    ("event_id", "string"),              # Ce-Id (unique per event on Seldon v1)
    ("kind", "string"),                  # request | response | feedback
    ("protocol", "string"),              # seldon | v2 | tensorflow | v1
    ("source", "string"),                # seldon-v1 | kserve | seldon-v2 | modelops (labels)
    ("index", "int32"),                  # position of the instance in a batched event
    ("output", "double"),
    ("label", "string"),
    ("outputs", "string"),               # JSON: [value of tensor 0, value of tensor 1, ...]
    ("payload", "binary"),               # the raw body, on index 0 only
)

KINDS = ("request", "response", "feedback")
SOURCES = ("seldon-v1", "kserve", "seldon-v2", "modelops")  # modelops: labels (io.modelops.feedback)


def partition_path(model: str, variant: str, date: str) -> str:
    """`model=<m>/variant=<v>/date=<d>`: the folder of one model variant's rows of one UTC day."""
    return f"{MODEL}={model}/{VARIANT}={variant}/{DATE}={date}"


def open_store(uri: str) -> tuple[Any, str]:
    """The pyarrow FileSystem and base path of a store URI: `file:///data/p`, a local path,
    `s3://bucket/prefix` (endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, e.g. a local S3
    server), or anything else `pyarrow.fs.FileSystem.from_uri` reads (gs://, abfs://)."""
    import os

    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), os.path.abspath(uri)
    if uri.startswith("s3://"):
        bucket_path = uri[len("s3://"):].rstrip("/")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return fs.S3FileSystem(endpoint_override=endpoint, region=region), bucket_path
    filesystem, path = fs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")
