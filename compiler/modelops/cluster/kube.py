"""A thin client for the few Kubernetes API calls sync needs, over the official `kubernetes` package.

The official client loads kubeconfig / in-cluster config, authenticates and speaks HTTP; this module
builds the paths for any kind, retries 429 and 5xx answers with bounded backoff, and turns every other
failure into an `ApiError` carrying the HTTP status. `kubernetes` is imported inside functions only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELD_MANAGER = "modelops"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
RETRYABLE = frozenset({429, 500, 502, 503, 504})
# Query parameters, in order; an alias because `list` inside Cluster is its method.
Query = list[tuple[str, str]]
_PLURALS = {"Endpoints": "endpoints", "Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}


class ApiError(Exception):
    """An answer the API server gave (status 0: it could not be reached)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if status else message)
        self.status = status
        self.reason = reason
        self.message = message


class ConfigError(Exception):
    """No usable kubeconfig or in-cluster configuration."""


def plural(kind: str) -> str:
    """The resource name of a kind, as the API server spells it in URLs."""
    if kind in _PLURALS:
        return _PLURALS[kind]
    lower = kind.lower()
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def collection_path(api_version: str, kind: str, namespace: str | None) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{scope}/{plural(kind)}"


def object_path(api_version: str, kind: str, namespace: str | None, name: str) -> str:
    return f"{collection_path(api_version, kind, namespace)}/{name}"


def load_configuration(kubeconfig: Path | None, context: str | None) -> Any:
    """Like kubectl: --kubeconfig, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account."""
    import os

    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    default = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()
    try:
        if kubeconfig is not None or default.is_file() or context is not None:
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                context=context,
                client_configuration=configuration,
            )
        else:
            config.load_incluster_config(client_configuration=configuration)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise ConfigError(f"no usable Kubernetes configuration: {exc}") from exc
    return configuration


@dataclass
class Cluster:
    """GET / LIST / server-side apply / DELETE with bounded retries on 429 and 5xx."""

    configuration: Any
    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: tuple[float, float] = (5.0, 60.0)
    sleep: Callable[[float], None] = time.sleep
    _api: Any = field(default=None, init=False, repr=False)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        try:
            return self._call("GET", object_path(api_version, kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[dict[str, Any]] | None:
        """Objects matching a label selector; None when the server does not serve the kind."""
        try:
            answer = self._call("GET", collection_path(api_version, kind, namespace),
                                query=[("labelSelector", selector)])
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        items = answer.get("items") or []
        for item in items:  # list items carry no apiVersion/kind
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def apply(self, obj: dict[str, Any], *, force: bool, dry_run: bool) -> dict[str, Any]:
        meta = obj["metadata"]
        query = [("fieldManager", FIELD_MANAGER)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        path = object_path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
        return self._call("PATCH", path, query=query, body=obj, content_type=APPLY_CONTENT_TYPE)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str, *,
               dry_run: bool, uid: str | None = None) -> None:
        query = [("dryRun", "All")] if dry_run else []
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions",
                                "propagationPolicy": "Background"}
        if uid:  # never delete a newer object that took the name meanwhile
            body["preconditions"] = {"uid": uid}
        if dry_run:
            body["dryRun"] = ["All"]
        self._call("DELETE", object_path(api_version, kind, namespace, name), query=query, body=body)

    def raw_get(self, path: str) -> dict[str, Any]:
        return self._call("GET", path)

    # --- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, query: Query | None = None,
              body: Any = None, content_type: str = "application/json") -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self._once(method, path, query or [], body, content_type)
            except ApiError as exc:
                retry_after = getattr(exc, "retry_after", None)
                if (exc.status not in RETRYABLE and exc.status != 0) or attempt >= self.max_retries:
                    raise
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                if retry_after is not None:
                    delay = min(self.max_backoff, retry_after)
                attempt += 1
                self.sleep(delay)

    def _once(self, method: str, path: str, query: Query, body: Any,
              content_type: str) -> dict[str, Any]:
        from urllib3.exceptions import HTTPError

        api = self._client()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = api.param_serialize(method=method, resource_path=path, query_params=query,
                                      header_params=headers, body=body, auth_settings=["BearerToken"])
        try:
            response = api.call_api(*request, _request_timeout=self.timeout)
            response.read()
        except HTTPError as exc:
            raise ApiError(0, "Unreachable", f"cannot reach the API server: {exc}") from exc
        data = response.data or b""
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {"message": data.decode("utf-8", "replace")[:200]}
        if 200 <= response.status < 300:
            return payload if isinstance(payload, dict) else {}
        error = ApiError(response.status, str(payload.get("reason") or response.reason or ""),
                         str(payload.get("message") or "").replace("\n", " ")[:500])
        error.retry_after = _retry_after(response.getheader("Retry-After"))  # type: ignore[attr-defined]
        raise error

    def _client(self) -> Any:
        if self._api is None:
            from kubernetes.client import ApiClient

            self._api = ApiClient(self.configuration)
            self._api.user_agent = "modelops"
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
