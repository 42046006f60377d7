"""kmock as the Kubernetes API server for sync tests, plus what kmock does not emulate.

kmock 0.8 treats server-side apply as a merge patch (404 for new objects), ignores labelSelector on
lists, and mutates on dryRun. `ApiServer` adds, on top of its in-memory objects: server-side apply
with managedFields and conflict detection, labelSelector filtering, dryRun=All, a few server-filled
fields, and scripted failures (`fail(...)`). It runs in its own event loop thread, so the synchronous
`kubernetes` client under test can call it from the test's thread.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import yaml

APPLY = "application/apply-patch+yaml"
_uids = itertools.count(1)


def resource_of(api_version: str, plural: str) -> kmock.resource:
    group, _, version = api_version.rpartition("/")
    return kmock.resource(group, version, plural)


def fields_v1(value: Any) -> dict[str, Any]:
    """managedFields of an applied body: dict keys as f:, lists atomic (like most CRD lists)."""
    if isinstance(value, dict):
        return {f"f:{k}": fields_v1(v) for k, v in value.items() if k not in ("apiVersion", "kind")} or {}
    return {}


def _remove_owned(obj: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, sub in fields.items():
        name = key[2:]
        if not key.startswith("f:") or name not in obj:
            continue
        if sub and isinstance(obj[name], dict):
            _remove_owned(obj[name], sub)
            if not obj[name]:
                del obj[name]
        else:
            del obj[name]


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _leaf_values(value: Any, fields: dict[str, Any], prefix: tuple = ()) -> dict[tuple, Any]:
    found = {}
    for key, sub in fields.items():
        name = key[2:]
        if not key.startswith("f:") or not isinstance(value, dict) or name not in value:
            continue
        if sub and isinstance(value[name], dict):
            found.update(_leaf_values(value[name], sub, (*prefix, name)))
        else:
            found[(*prefix, name)] = value[name]
    return found


def _selected(obj: dict[str, Any], selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def status(code: int, reason: str, message: str, **headers: str) -> aiohttp.web.Response:
    body = {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code,
            "reason": reason, "message": message, "metadata": {}}
    return aiohttp.web.json_response(body, status=code, headers=headers)


class ApiServer(kmock.KubernetesEmulator):
    """kmock's emulator with server-side apply, selectors, dryRun and scripted failures."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.failures: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.fill: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.honour_selectors = True  # False: behave like plain kmock, which ignores labelSelector

    def fail(self, method: str, path: str, *answers: int | tuple[int, str]) -> None:
        """Answer the next requests to METHOD PATH with these statuses, then behave normally."""
        queue = self.failures.setdefault((method.upper(), path), [])
        queue.extend(a if isinstance(a, tuple) else (a, "scripted failure") for a in answers)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        method = str(request.method.value).upper()
        queue = self.failures.get((method, request.url.path))
        if queue:
            code, message = queue.pop(0)
            reasons = {404: "NotFound", 409: "Conflict", 422: "Invalid", 403: "Forbidden",
                       429: "TooManyRequests"}
            return status(code, reasons.get(code, "InternalError"), message, **{"Retry-After": "0"})
        content_type = {k.lower(): v for k, v in request.headers.items()}.get("content-type", "")
        if method == "PATCH" and content_type.startswith(APPLY):
            return self._apply(request)
        if method == "DELETE" and request.params.get("dryRun") == "All":
            key = (request.resource, request.namespace, request.name)
            if key not in self.objects or self.objects[key].deleted:
                return status(404, "NotFound", "not found")
            return aiohttp.web.json_response(self.objects[key].raw)
        return await super()._handle(request)

    async def _serve_list(self, request: kmock.Request) -> Any:
        answer = await super()._serve_list(request)
        selector = request.params.get("labelSelector", "") if self.honour_selectors else ""
        answer["items"] = [item for item in answer["items"] if _selected(item, selector)]
        return answer

    def _apply(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        body = request.data
        manager = request.params.get("fieldManager")
        if not manager:
            return status(422, "Invalid", "fieldManager is required for apply requests")
        key = (request.resource, request.namespace, request.name)
        exists = key in self.objects and not self.objects[key].deleted
        current = copy.deepcopy(self.objects[key].raw) if exists else {}
        entries = current.get("metadata", {}).get("managedFields") or []
        if request.params.get("force") != "true":
            for entry in entries:
                if entry["manager"] == manager:
                    continue
                theirs = _leaf_values(current, entry.get("fieldsV1") or {})
                mine = _leaf_values(body, fields_v1(body))
                clash = sorted(".".join(p) for p in theirs.keys() & mine.keys() if theirs[p] != mine[p])
                if clash:
                    return status(409, "Conflict", f'Apply failed with 1 conflict: conflict with '
                                  f'"{entry["manager"]}": .{clash[0]}')
        for entry in entries:
            if entry["manager"] == manager and entry.get("operation") == "Apply":
                _remove_owned(current, entry.get("fieldsV1") or {})
        result = _merge(current, body)
        meta = result.setdefault("metadata", {})
        others = [e for e in entries if e["manager"] != manager]
        if request.params.get("force") == "true":  # forcing takes the fields away from the others
            mine = set(_leaf_values(body, fields_v1(body)))
            others = [e for e in others if not (set(_leaf_values(current, e.get("fieldsV1") or {})) & mine)]
        meta["managedFields"] = [*others, {"manager": manager, "operation": "Apply", "apiVersion":
                                           body.get("apiVersion"), "fieldsType": "FieldsV1",
                                           "fieldsV1": fields_v1(body)}]
        meta.setdefault("uid", f"uid-{next(_uids)}")
        meta["resourceVersion"] = str(int(meta.get("resourceVersion", "0")) + 1)
        filler = self.fill.get(body.get("kind", ""))
        if filler:
            filler(result)
        if request.params.get("dryRun") != "All":
            if key in self.objects:
                self.objects[key].create(result)
            else:
                self.objects[key] = result
        return aiohttp.web.json_response(result, status=200 if exists else 201)


def _fill_service(obj: dict[str, Any]) -> None:
    obj["spec"].setdefault("sessionAffinity", "None")
    obj["spec"].setdefault("ipFamilies", ["IPv4"])


def _fill_seldon(obj: dict[str, Any]) -> None:
    obj.setdefault("status", {"state": "Creating"})


class RunningServer:
    """An `ApiServer` served on 127.0.0.1 from a background event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.handler: ApiServer = self.call(self._start)
        self.handler.fill.update({"Service": _fill_service, "SeldonDeployment": _fill_seldon})

    async def _start(self) -> ApiServer:
        handler = ApiServer()
        await handler.__aenter__()
        self.server = kmock.Server(handler)
        await self.server.__aenter__()
        return handler

    def call(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        async def stop() -> None:
            await self.server.__aexit__(None, None, None)
            await self.handler.__aexit__(None, None, None)

        self.call(stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    # --- helpers for tests -------------------------------------------------------------------

    @property
    def requests(self) -> list[kmock.Request]:
        return list(self.handler)

    def clear(self) -> None:
        self.call(lambda: self.handler._requests.clear())

    def put(self, obj: dict[str, Any], plural: str) -> None:
        """Store an object as if someone else had created it."""
        meta = obj["metadata"]
        key = (resource_of(obj["apiVersion"], plural), meta.get("namespace"), meta["name"])
        meta.setdefault("uid", f"uid-{next(_uids)}")

        def store() -> None:
            self.handler.objects[key] = copy.deepcopy(obj)

        self.call(store)

    def get(self, api_version: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        key = (resource_of(api_version, plural), namespace, name)

        def read() -> dict[str, Any] | None:
            if key not in self.handler.objects or self.handler.objects[key].deleted:
                return None
            return copy.deepcopy(self.handler.objects[key].raw)

        return self.call(read)

    def edit(self, api_version: str, plural: str, namespace: str, name: str,
             change: Callable[[dict[str, Any]], None]) -> None:
        """Change a live object in place (a `kubectl edit` stand-in)."""
        key = (resource_of(api_version, plural), namespace, name)

        def apply() -> None:
            obj = copy.deepcopy(self.handler.objects[key].raw)
            change(obj)
            self.handler.objects[key].create(obj)

        self.call(apply)

    def kubeconfig(self, path: Path, token: str = "t0ken") -> Path:
        """A kubeconfig whose current context points nowhere and context `kmock` at this server."""
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
            "clusters": [{"name": "kmock", "cluster": {"server": self.url}},
                         {"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}}],
            "users": [{"name": "ci", "user": {"token": token}}],
            "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "ci"}},
                         {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "ci"}}],
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path
