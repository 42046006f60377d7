"""An event's rows in the store's layout (`modelops.columns`): one per instance of a response.

Responses: seldon `{"data": {"names", "ndarray" | "tensor": {"shape", "values"}}}`, v2
`{"model_name", "outputs": [{name, shape, datatype, data}]}`, v1/tensorflow `{"predictions": [...]}`;
feedback events are decoded from their `truth` the same way. A request, or a body none of these
describes, is one row (index 0) with the payload and no output.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from modelops.collector.events import Event, parse_json

Row = dict[str, Any]


def rows(event: Event, environment: str | None) -> list[Row]:
    """Every row of `event`; the raw payload rides on index 0 only."""
    instances = _instances(event) if event.kind != "request" else []
    base = {"time": datetime.fromisoformat(event.time), "namespace": event.namespace,
            "environment": environment, "version": event.version, "request_id": event.request_id,
            "event_id": event.event_id, "kind": event.kind, "protocol": event.protocol,
            "source": event.source}
    if not instances:
        return [{**base, "index": 0, "output": None, "label": None, "outputs": None,
                 "payload": event.body}]
    return [{**base, "index": i, **_columns(values), "payload": event.body if i == 0 else None}
            for i, values in enumerate(instances)]


def _instances(event: Event) -> list[list[Any]]:
    """Per instance, the value of every output tensor."""
    message = parse_json(event.body)
    if event.kind == "feedback" and isinstance(message, dict):
        message = message.get("truth")
    if not isinstance(message, dict):
        return []
    if isinstance(message.get("outputs"), list):
        return _v2(message["outputs"])
    if isinstance(message.get("data"), dict):
        return [[value] for value in _seldon(message["data"])]
    if isinstance(message.get("predictions"), list):
        return [[value] for value in message["predictions"]]
    return []


def _seldon(data: dict[str, Any]) -> list[Any]:
    if isinstance(data.get("ndarray"), list):
        return list(data["ndarray"])
    tensor = data.get("tensor")
    if isinstance(tensor, dict) and isinstance(tensor.get("values"), list):
        return _split(tensor["values"], tensor.get("shape"))
    return []


def _v2(outputs: list[Any]) -> list[list[Any]]:
    tensors = [_split(o.get("data") or [], o.get("shape")) for o in outputs if isinstance(o, dict)]
    count = max((len(t) for t in tensors), default=0)
    return [[t[i] if i < len(t) else None for t in tensors] for i in range(count)]


def _split(values: list[Any], shape: Any) -> list[Any]:
    """A flat (row-major) tensor as its instances along the first dimension; nested data as given."""
    if any(isinstance(v, list) for v in values):
        return list(values)
    if not isinstance(shape, list) or len(shape) < 2 or not all(isinstance(d, int) for d in shape):
        return list(values)
    width = math.prod(shape[1:])
    if width <= 0:
        return list(values)
    return [_nest(values[i:i + width], shape[1:]) for i in range(0, len(values), width)]


def _nest(flat: list[Any], shape: list[int]) -> Any:
    if len(shape) <= 1:
        return flat
    step = math.prod(shape[1:])
    return [_nest(flat[i:i + step], shape[1:]) for i in range(0, len(flat), step)]


def _columns(values: list[Any]) -> Row:
    first = values[0] if values else None
    output, label = _first(first)
    return {"output": output, "label": label,
            "outputs": json.dumps(values, separators=(",", ":"), allow_nan=True)}


def _first(value: Any) -> tuple[float | None, str | None]:
    """`output` and `label` of an instance's first tensor: a scalar, a one-element vector's value, a
    longer vector's argmax; text (v2 BYTES, seldon strings) is the label."""
    flat = _flatten(value)
    if len(flat) == 1:
        only = flat[0]
        if isinstance(only, str):
            return None, only
        return (float(only), None) if _number(only) else (None, None)
    numbers = [v for v in flat if _number(v)]
    if flat and len(numbers) == len(flat):
        return float(max(range(len(numbers)), key=numbers.__getitem__)), None
    return None, None


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for part in value for item in _flatten(part)]
    return [value]


def _number(value: Any) -> bool:
    return isinstance(value, int | float)  # a bool counts as 0 / 1
