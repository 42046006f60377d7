"""Instant queries over Prometheus' HTTP API (`GET /api/v1/query`): plain urllib, timeouts, retries."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from modelops.diagnostics import Diagnostic, UserError


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class PrometheusError(UserError):
    """Prometheus is unreachable or answered something unreadable (one line, MO601)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__([Diagnostic(".", 1, 1, "MO601", f"Prometheus at {url} {reason}: no decision taken")])


class Prometheus:
    def __init__(self, url: str, *, timeout: float = 10.0, retries: int = 2, backoff: float = 0.5) -> None:
        self.url, self.timeout, self.retries, self.backoff = url.rstrip("/"), timeout, retries, backoff

    def query(self, promql: str) -> list[Sample]:
        """The instant vector `promql` evaluates to now (a scalar becomes one sample without labels)."""
        data = self._get({"query": promql})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "vector" and isinstance(result, list):
            return [Sample(dict(item.get("metric") or {}), _float(item["value"][1])) for item in result]
        if kind == "scalar" and isinstance(result, list):
            return [Sample({}, _float(result[1]))]
        raise PrometheusError(self.url, f"answered {promql!r} with a {kind}, not an instant vector")

    def _get(self, params: dict[str, str]) -> dict[str, Any]:
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(address, timeout=self.timeout) as answer:  # noqa: S310
                    return _data(self.url, answer.read())
            except urllib.error.HTTPError as exc:
                body = exc.read()
                if exc.code < 500:  # a bad query: retrying will not help
                    refused = f"refused the query ({exc.code}: {_error(body)})"
                    raise PrometheusError(self.url, refused) from exc
                reason = f"answered {exc.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = f"is unreachable ({getattr(exc, 'reason', exc)})"
        raise PrometheusError(self.url, f"{reason} after {self.retries + 1} attempts")


def _data(url: str, raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise PrometheusError(url, "answered something that is not JSON") from exc
    if not isinstance(document, dict) or document.get("status") != "success":
        raise PrometheusError(url, f"answered an error ({_error(raw)})")
    data = document.get("data")
    if not isinstance(data, dict):
        raise PrometheusError(url, "answered without data")
    return data


def _error(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("error") or "no reason given")
    except (ValueError, AttributeError):
        return raw[:200].decode(errors="replace")


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan
