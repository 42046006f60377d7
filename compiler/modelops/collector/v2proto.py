"""Open Inference Protocol (V2) protobuf messages as the JSON decode.py reads, without generated code.

Seldon Core 2 writes `inference.ModelInferRequest` / `ModelInferResponse` to its Kafka topics. The
message types are built from a hand-written descriptor of KServe's `grpc_predict_v2.proto`
(kserve/kserve, docs/predict-api/v2/grpc_predict_v2.proto; package `inference`). The field numbers
below are upstream's; `parameters` maps (field 4) are left out: the parser keeps them as unknown
fields and nothing here reads them. protobuf is imported when the first message is decoded.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import Any

PACKAGE = "inference"
# (name, number, type, label, message type): FieldDescriptorProto's type and label numbers
_STRING, _INT64, _BYTES, _MESSAGE, _BOOL, _INT32, _UINT32, _UINT64, _FLOAT, _DOUBLE = (
    9, 3, 12, 11, 8, 5, 13, 4, 2, 1)
_ONE, _MANY = 1, 3
TENSOR = (("name", 1, _STRING, _ONE, None), ("datatype", 2, _STRING, _ONE, None),
          ("shape", 3, _INT64, _MANY, None),
          ("contents", 5, _MESSAGE, _ONE, ".inference.InferTensorContents"))
MESSAGES: dict[str, tuple[tuple[str, int, int, int, str | None], ...]] = {
    "InferTensorContents": (
        ("bool_contents", 1, _BOOL, _MANY, None), ("int_contents", 2, _INT32, _MANY, None),
        ("int64_contents", 3, _INT64, _MANY, None), ("uint_contents", 4, _UINT32, _MANY, None),
        ("uint64_contents", 5, _UINT64, _MANY, None), ("fp32_contents", 6, _FLOAT, _MANY, None),
        ("fp64_contents", 7, _DOUBLE, _MANY, None), ("bytes_contents", 8, _BYTES, _MANY, None)),
    "ModelInferRequest.InferInputTensor": TENSOR,
    "ModelInferResponse.InferOutputTensor": TENSOR,
    "ModelInferRequest": (
        ("model_name", 1, _STRING, _ONE, None), ("model_version", 2, _STRING, _ONE, None),
        ("id", 3, _STRING, _ONE, None),
        ("inputs", 5, _MESSAGE, _MANY, ".inference.ModelInferRequest.InferInputTensor"),
        ("raw_input_contents", 7, _BYTES, _MANY, None)),
    "ModelInferResponse": (
        ("model_name", 1, _STRING, _ONE, None), ("model_version", 2, _STRING, _ONE, None),
        ("id", 3, _STRING, _ONE, None),
        ("outputs", 5, _MESSAGE, _MANY, ".inference.ModelInferResponse.InferOutputTensor"),
        ("raw_output_contents", 6, _BYTES, _MANY, None)),
}
# datatype -> struct format of one little-endian element (BYTES: 4-byte length, then the bytes)
RAW_FORMATS = {"BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "INT8": "b",
               "INT16": "h", "INT32": "i", "INT64": "q", "FP16": "e", "FP32": "f", "FP64": "d"}
CONTENTS = {"BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
            "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
            "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
            "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents"}


class Undecodable(ValueError):
    """Not a V2 protobuf message of the expected type, or tensors that do not fit their data."""


def file_descriptor() -> Any:
    """The `FileDescriptorProto` of the messages above."""
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.FileDescriptorProto(name="modelops_grpc_predict_v2.proto", package=PACKAGE,
                                               syntax="proto3")
    for full, fields in MESSAGES.items():
        outer, _, inner = full.partition(".")
        parent = next((m for m in proto.message_type if m.name == outer), None)
        if parent is None:
            parent = proto.message_type.add(name=outer)
        message = parent.nested_type.add(name=inner) if inner else parent
        for name, number, kind, label, type_name in fields:
            field = message.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name
    return proto


@cache
def _classes() -> dict[str, Any]:
    from google.protobuf import descriptor_pool, message_factory

    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_descriptor())
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
            for name in ("ModelInferRequest", "ModelInferResponse")}


def message_class(kind: str) -> Any:
    """`ModelInferRequest` (kind request) or `ModelInferResponse` (response)."""
    return _classes()["ModelInferRequest" if kind == "request" else "ModelInferResponse"]


def to_json(value: bytes, kind: str) -> dict[str, Any]:
    """A serialized request or response as V2 JSON: `{"model_name", "id", "inputs" | "outputs"}`."""
    from google.protobuf.message import DecodeError

    message = message_class(kind)()
    try:
        message.ParseFromString(value)
    except DecodeError as exc:
        raise Undecodable(f"not a V2 protobuf {kind}: {exc}") from None
    tensors, raw = (message.inputs, message.raw_input_contents) if kind == "request" else (
        message.outputs, message.raw_output_contents)
    if raw and len(raw) != len(tensors):
        raise Undecodable(f"{len(raw)} raw contents for {len(tensors)} tensors")
    side = "inputs" if kind == "request" else "outputs"
    found: dict[str, Any] = {"model_name": message.model_name}
    if message.model_version:
        found["model_version"] = message.model_version
    if message.id:
        found["id"] = message.id
    found[side] = [_tensor(t, raw[i] if raw else None) for i, t in enumerate(tensors)]
    return found


def _tensor(tensor: Any, raw: bytes | None) -> dict[str, Any]:
    datatype = tensor.datatype.upper()
    data = _raw(raw, datatype) if raw is not None else _contents(tensor.contents, datatype)
    return {"name": tensor.name, "shape": list(tensor.shape), "datatype": datatype, "data": data}


def _raw(raw: bytes, datatype: str) -> list[Any]:
    if datatype == "BYTES":
        return _raw_bytes(raw)
    code = RAW_FORMATS.get(datatype)
    if code is None:
        raise Undecodable(f"raw contents of datatype {datatype!r}")
    size = struct.calcsize(code)
    if len(raw) % size:
        raise Undecodable(f"{len(raw)} raw bytes are no whole number of {datatype} elements")
    values = list(struct.unpack(f"<{len(raw) // size}{code}", raw))
    return [_fp32(v) for v in values] if datatype in ("FP32", "FP16") else values


def _raw_bytes(raw: bytes) -> list[str]:
    values, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise Undecodable("raw BYTES contents end inside an element's length")
        (length,) = struct.unpack_from("<I", raw, at)
        if at + 4 + length > len(raw):
            raise Undecodable("raw BYTES contents end inside an element")
        values.append(raw[at + 4:at + 4 + length].decode("utf-8", "replace"))
        at += 4 + length
    return values


def _contents(contents: Any, datatype: str) -> list[Any]:
    field = CONTENTS.get(datatype)
    if field is None:
        raise Undecodable(f"contents of datatype {datatype!r}")
    values = list(getattr(contents, field))
    if datatype == "BYTES":
        return [v.decode("utf-8", "replace") for v in values]
    return [_fp32(v) for v in values] if datatype == "FP32" else values


def _fp32(value: float) -> float:
    """A float32 as the shortest decimal that is the same float32 (0.8, not 0.800000011920929)."""
    exact = struct.pack("<f", value)
    for digits in range(6, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == exact:
            return short
    return value
