"""MLflow registry webhooks: signature and freshness checks, and the events that matter.

MLflow signs `<delivery id>.<timestamp>.<raw body>` with HMAC-SHA256 and sends
`X-MLflow-Signature: v1,<base64>`, `X-MLflow-Delivery-Id` and `X-MLflow-Timestamp` (unix seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

EVENTS = {("model_version", "created"), ("model_version_alias", "created")}


class Rejected(Exception):
    """A delivery that must not be acted on; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: int = 300,
           now: float | None = None) -> None:
    """Raise Rejected unless the delivery is signed with `secret` and fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    delivery = lowered.get("x-mlflow-delivery-id", "")
    timestamp = lowered.get("x-mlflow-timestamp", "")
    signature = lowered.get("x-mlflow-signature", "")
    if not (delivery and timestamp and signature):
        raise Rejected(401, "missing X-MLflow-Signature, X-MLflow-Delivery-Id or X-MLflow-Timestamp")
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise Rejected(400, f"X-MLflow-Timestamp {timestamp!r} is not a unix time") from exc
    age = (time.time() if now is None else now) - sent
    if abs(age) > tolerance:
        raise Rejected(401, f"stale delivery: timestamp is {int(age)} s off (tolerance {tolerance} s)")
    expected = sign(secret, delivery, timestamp, body)
    if not any(hmac.compare_digest(expected, s.strip()) for s in signature.split(" ")):
        raise Rejected(401, "bad signature")


def registered_model(body: bytes) -> str | None:
    """The registered model a relevant event is about, else None (an event we do not act on)."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise Rejected(400, "body is not JSON") from exc
    if not isinstance(event, dict) or (event.get("entity"), event.get("action")) not in EVENTS:
        return None
    name = (event.get("data") or {}).get("name")
    return name if isinstance(name, str) and name else None
