"""Seldon Core 2's V2 protobuf values as the collector reads them: every datatype of
raw_output_contents (little endian; BYTES length-prefixed) and of InferTensorContents, into the V2
JSON decode.py reads; values that are no such message are Malformed, never a crash."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime

import pytest
from modelops.collector.decode import rows
from modelops.collector.events import Malformed, Route, from_kafka
from support.kafka_broker import wire_field, wire_tensor

TOPIC = "seldon.models.model.iris-shadow.outputs"
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _response(tensors: list[bytes], raw: list[bytes]) -> bytes:
    return (wire_field(1, b"iris-shadow") + b"".join(wire_field(5, t) for t in tensors)
            + b"".join(wire_field(6, r) for r in raw))


def _outputs(value: bytes) -> list[dict[str, object]]:
    event = from_kafka(TOPIC, {"x-request-id": "r1"}, value, NOW, Route("iris", "shadow"))
    assert (event.model, event.variant, event.source, event.kind, event.request_id) == (
        "iris", "shadow", "seldon-v2", "response", "r1")
    outputs = json.loads(event.body)["outputs"]
    assert isinstance(outputs, list)
    return outputs


def test_raw_output_contents_of_every_datatype() -> None:
    kinds = {"FP64": struct.pack("<2d", 0.25, 1.5), "INT32": struct.pack("<2i", -3, 7),
             "INT64": struct.pack("<2q", 2**40, -1), "BOOL": struct.pack("<2?", True, False),
             "BYTES": struct.pack("<I", 3) + b"cat" + struct.pack("<I", 2) + b"ox",
             "FP32": struct.pack("<2f", 0.1, 0.7)}
    outputs = _outputs(_response([wire_tensor(k, k, [2]) for k in kinds], list(kinds.values())))
    assert {o["name"]: o["data"] for o in outputs} == {
        "FP64": [0.25, 1.5], "INT32": [-3, 7], "INT64": [2**40, -1], "BOOL": [True, False],
        "BYTES": ["cat", "ox"], "FP32": [0.1, 0.7]}


def test_typed_contents_and_the_rows_they_make() -> None:
    packed_int64 = b"".join(bytes([v]) for v in (2, 0, 1))  # varints below 128
    labels = wire_field(8, b"setosa") + wire_field(8, b"virginica")
    outputs = _outputs(_response([wire_tensor("class", "INT64", [3, 1], wire_field(3, packed_int64)),
                                  wire_tensor("label", "BYTES", [2], labels)], []))
    assert [o["data"] for o in outputs] == [[2, 0, 1], ["setosa", "virginica"]]
    event = from_kafka(TOPIC, {}, _response([wire_tensor("class", "INT64", [3, 1],
                                                         wire_field(3, packed_int64))], []), NOW, None)
    assert (event.model, event.variant, event.request_id) == ("iris-shadow", "main", None)  # no route
    assert [(r["index"], r["output"]) for r in rows(event, "production")] == [(0, 2.0), (1, 0.0), (2, 1.0)]


@pytest.mark.parametrize(("value", "reason"), [
    (b"\xff\xff\xff", "not a V2 protobuf response"),
    (_response([wire_tensor("a", "FP32", [1]), wire_tensor("b", "FP32", [1])], [struct.pack("<f", 1)]),
     "1 raw contents for 2 tensors"),
    (_response([wire_tensor("a", "FP32", [1])], [b"\x00\x00\x80"]), "3 raw bytes are no whole number"),
    (_response([wire_tensor("a", "BYTES", [1])], [struct.pack("<I", 9) + b"abc"]), "end inside an element"),
    (_response([wire_tensor("a", "COMPLEX", [1])], [b"\x00"]), "raw contents of datatype 'COMPLEX'"),
])
def test_what_is_no_v2_message_is_malformed(value: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        from_kafka(TOPIC, {}, value, NOW, None)


def test_json_from_the_rest_gateway_is_kept_as_it_is() -> None:
    body = b'{"model_name":"iris","outputs":[{"name":"p","shape":[1],"datatype":"FP64","data":[0.5]}]}'
    assert from_kafka("seldon.models.model.iris.outputs", {}, body, NOW, None).body == body
