"""`modelops collect --store URI` (library: `modelops.collector`): the prediction collector.

Receives the model servers' CloudEvents on POST /v1/events, and with --kafka-broker consumes Kafka
topics (Seldon Core v1's Kafka logger, Seldon Core 2's model topics); acknowledges each event (an
HTTP 202, a committed offset) once it is in the local spool, writes them as Parquet to the store.
Exits 0 after SIGTERM once the spool is flushed.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="collect")
@click.option("--store", required=True, metavar="URI",
              help="Where rows go: s3://bucket/prefix, gs://, abfs://, file:///path or a folder.")
@click.option("--spool", type=click.Path(file_okay=False, path_type=Path), default=Path(".modelops-spool"),
              show_default=True, help="The durable local spool (a volume that outlives the process).")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--environment", default=None, help="The modelops environment, written in each row.")
@click.option("--max-spool-bytes", type=click.IntRange(min=1024), default=256 * 1024 * 1024,
              show_default=True, help="Answer 503 with Retry-After beyond this many spooled bytes.")
@click.option("--flush-rows", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Write a Parquet file once this many events are spooled ...")
@click.option("--flush-seconds", type=click.FloatRange(min=0.01), default=10.0, show_default=True,
              help="... or the oldest is this many seconds old.")
@click.option("--max-connections", type=click.IntRange(min=1), default=512, show_default=True,
              help="Connections served at once (keep-alive ones included); more are answered 503.")
@click.option("--idle-timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Close a connection that sends nothing for this many seconds.")
@click.option("--kafka-broker", metavar="HOST:PORT", default=None,
              help="Also consume Kafka (the `kafka` extra): bootstrap broker(s), comma-separated.")
@click.option("--kafka-topic", "kafka_topics", multiple=True, metavar="TOPIC",
              help="A topic to consume (repeatable); ^regex subscribes to every matching topic.")
@click.option("--kafka-models", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON naming each topic's model, variant and versions (compile generates it); its "
                   "topics are consumed.")
@click.option("--kafka-group", default="modelops-collector", show_default=True,
              help="The consumer group (offsets are committed once events are spooled).")
def collect_command(store: str, spool: Path, host: str, port: int, environment: str | None,
                    max_spool_bytes: int, flush_rows: int, flush_seconds: float, max_connections: int,
                    idle_timeout: float, kafka_broker: str | None,
                    kafka_topics: tuple[str, ...], kafka_models: Path | None, kafka_group: str) -> None:
    """Collect the predictions model servers log (CloudEvents over HTTP, Kafka) into the store as Parquet."""
    from modelops.collector.kafka import KafkaConfig
    from modelops.collector.server import Config, run
    from modelops.diagnostics import Diagnostic, UserError

    if kafka_broker is None and (kafka_topics or kafka_models):
        raise UserError([Diagnostic(".", 1, 1, "MO823", "--kafka-topic and --kafka-models need "
                                    "--kafka-broker")])
    kafka = (KafkaConfig(kafka_broker, tuple(kafka_topics), kafka_group, kafka_models)
             if kafka_broker else None)
    run(Config(store=store, spool=spool, host=host, port=port, environment=environment,
               max_spool_bytes=max_spool_bytes, flush_rows=flush_rows, flush_seconds=flush_seconds,
               kafka=kafka, max_connections=max_connections, idle_seconds=idle_timeout))
