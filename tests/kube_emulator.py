"""A Kubernetes API server in memory, for the operator tests: just what kopf and the client use.

No real kube-apiserver can run on the test machines, and kmock's emulator needed its private
methods overridden to give objects a ``uid``, ``resourceVersion`` and ``creationTimestamp``, honour
``metadata.generateName``, list namespaces and name the kind of lists. So this is our own, on
aiohttp (which kopf already brings): discovery for the resources in ``RESOURCES``; list, watch
(from a ``resourceVersion``, as kopf asks), get, create, merge or JSON patch, and delete with
finalizers; namespaces are those created and those objects live in. ``RunningApi`` serves it on
127.0.0.1 from a thread of its own, so that synchronous tests, ``KopfRunner``'s thread and the
kubernetes client can all talk to it.

Not a real API server: label and field selectors are ignored, there is no optimistic concurrency
(no 409 on a stale ``resourceVersion``), no ``PUT``, no status subresource, and strategic merge
patches are applied as merge patches. Tests must not rely on any of those.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp.web

Json = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """One served resource; ``group`` is empty for the core API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = (
    Resource("imagebot.io", "v1alpha1", "imageautomations", "ImageAutomation", True,
             ("get", "list", "watch", "patch", "create", "delete")),
    Resource("", "v1", "events", "Event", True, ("create", "list")),
    Resource("", "v1", "secrets", "Secret", True, ("get", "create")),
    Resource("", "v1", "namespaces", "Namespace", False, ("get", "list", "watch")),
    Resource("apps", "v1", "deployments", "Deployment", True, ("get", "list", "create")),
)  # fmt: skip

Key = tuple[Resource, str | None, str]  # resource, namespace (None: cluster-scoped), name


class ApiError(Exception):
    """Answered as a Kubernetes ``Status`` with this HTTP code and reason."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason = code, reason

    def response(self) -> aiohttp.web.Response:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        body = {**status, "message": str(self), "reason": self.reason, "code": self.code}
        return aiohttp.web.json_response(body, status=self.code)


@dataclass
class KubeEmulator:
    """The objects, their versions and the open watches; ``app()`` serves them over HTTP."""

    objects: dict[Key, Json] = field(default_factory=dict)
    _versions: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _version: int = 0
    _history: list[tuple[int, Resource, Json]] = field(default_factory=list)  # every change
    _watches: dict[Resource, set[asyncio.Queue[Json | None]]] = field(default_factory=dict)

    def app(self) -> aiohttp.web.Application:
        app = aiohttp.web.Application()
        app.router.add_get("/version", self._serve_version)
        app.router.add_get("/api", self._serve_core_versions)
        app.router.add_get("/apis", self._serve_groups)
        app.router.add_route("*", "/api/{version}{rest:.*}", self._serve_core)
        app.router.add_route("*", "/apis/{group}/{version}{rest:.*}", self._serve_group)
        return app

    def close_watches(self) -> None:
        for queues in self._watches.values():
            for queue in queues:
                queue.put_nowait(None)

    # Discovery

    async def _serve_version(self, _: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"major": "1", "minor": "30", "gitVersion": "v1.30.0"})

    async def _serve_core_versions(self, _: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"kind": "APIVersions", "versions": ["v1"]})

    async def _serve_groups(self, _: aiohttp.web.Request) -> aiohttp.web.Response:
        groups = sorted({(r.group, r.version) for r in RESOURCES if r.group})
        items = [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{version}", "version": version}],
                "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version},
            }
            for group, version in groups
        ]
        return aiohttp.web.json_response(
            {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}
        )

    def _resource_list(self, group: str, version: str) -> aiohttp.web.Response:
        served = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
        if not served:
            raise ApiError(404, "NotFound", f"no API {group}/{version}")
        resources = [
            {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
             "kind": r.kind, "verbs": list(r.verbs)}
            for r in served
        ]  # fmt: skip
        body = {"kind": "APIResourceList", "groupVersion": served[0].api_version}
        return aiohttp.web.json_response({**body, "resources": resources})

    # Objects

    async def _serve_core(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        return await self._serve(request, "", request.match_info["version"])

    async def _serve_group(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        info = request.match_info
        return await self._serve(request, info["group"], info["version"])

    async def _serve(
        self, request: aiohttp.web.Request, group: str, version: str
    ) -> aiohttp.web.StreamResponse:
        try:
            parts = [part for part in request.match_info["rest"].split("/") if part]
            if not parts:
                return self._resource_list(group, version)
            resource, namespace, name = _locate(group, version, parts)
            if name is None:
                return await self._serve_collection(request, resource, namespace)
            return await self._serve_object(request, (resource, namespace, name))
        except ApiError as e:
            return e.response()

    async def _serve_collection(
        self, request: aiohttp.web.Request, resource: Resource, namespace: str | None
    ) -> aiohttp.web.StreamResponse:
        if request.method == "GET" and request.query.get("watch") in ("true", "1"):
            return await self._watch(request, resource, namespace)
        if request.method == "GET":
            items = [copy.deepcopy(o) for o in self._matching(resource, namespace)]
            listing = {"kind": f"{resource.kind}List", "apiVersion": resource.api_version}
            metadata = {"resourceVersion": str(self._version)}
            return aiohttp.web.json_response({**listing, "metadata": metadata, "items": items})
        if request.method == "POST":
            created = self._create(resource, namespace, await request.json())
            return aiohttp.web.json_response(created, status=201)
        raise ApiError(405, "MethodNotAllowed", f"{request.method} on a collection")

    async def _serve_object(self, request: aiohttp.web.Request, key: Key) -> aiohttp.web.Response:
        if request.method == "GET":
            found = [o for o in self._matching(key[0], key[1]) if o["metadata"]["name"] == key[2]]
            if not found:
                raise ApiError(404, "NotFound", f'{key[0].plural} "{key[2]}" not found')
            return aiohttp.web.json_response(found[0])
        if key not in self.objects:
            raise ApiError(404, "NotFound", f'{key[0].plural} "{key[2]}" not found')
        if request.method == "PATCH":
            changes = await request.json()
            kind = request.content_type
            return aiohttp.web.json_response(self._patch(key, changes, json_patch="json-" in kind))
        if request.method == "DELETE":
            return aiohttp.web.json_response(self._delete(key))
        raise ApiError(405, "MethodNotAllowed", f"{request.method} on an object")

    def _matching(self, resource: Resource, namespace: str | None) -> list[Json]:
        if _is_namespaces(resource):  # those created, and those that objects live in
            created = {name: obj for (r, _, name), obj in self.objects.items() if r == resource}
            implied = {ns: _namespace(ns) for _, ns, _ in self.objects if ns}
            return list({**implied, **created}.values())
        return [
            obj
            for (r, ns, _), obj in self.objects.items()
            if r == resource and (namespace is None or ns == namespace)
        ]

    def _create(self, resource: Resource, namespace: str | None, obj: Json) -> Json:
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        if not metadata.get("name"):
            raise ApiError(422, "Invalid", "metadata.name: Required value")
        namespace = (namespace or metadata.get("namespace")) if resource.namespaced else None
        key = (resource, namespace, metadata["name"])
        if key in self.objects:
            raise ApiError(409, "AlreadyExists", f'{resource.plural} "{key[2]}" already exists')
        if namespace:
            metadata["namespace"] = namespace
        metadata.update(uid=str(uuid.uuid4()), generation=1, creationTimestamp=_now())
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        self.objects[key] = obj
        return self._changed(key, "ADDED")

    def _patch(self, key: Key, changes: Any, *, json_patch: bool) -> Json:
        before = self.objects[key]
        after = _json_patch(before, changes) if json_patch else _merge_patch(before, changes)
        if after.get("spec") != before.get("spec"):  # the API server bumps it on spec changes only
            after["metadata"]["generation"] = before["metadata"].get("generation", 1) + 1
        self.objects[key] = after
        if after["metadata"].get("deletionTimestamp") and not after["metadata"].get("finalizers"):
            return self._changed(key, "DELETED")
        return self._changed(key, "MODIFIED")

    def _delete(self, key: Key) -> Json:
        metadata = self.objects[key]["metadata"]
        if not metadata.get("finalizers"):
            return self._changed(key, "DELETED")
        if not metadata.get("deletionTimestamp"):
            metadata["deletionTimestamp"] = _now()
            return self._changed(key, "MODIFIED")
        return copy.deepcopy(self.objects[key])

    def _changed(self, key: Key, event: str) -> Json:
        """Give the object a new version and tell the watches; a deleted object is dropped."""
        self._version = next(self._versions)
        obj = self.objects.pop(key) if event == "DELETED" else self.objects[key]
        obj["metadata"]["resourceVersion"] = str(self._version)
        self._history.append((self._version, key[0], {"type": event, "object": copy.deepcopy(obj)}))
        for queue in self._watches.get(key[0], set()):
            queue.put_nowait(self._history[-1][2])
        return copy.deepcopy(obj)

    async def _watch(
        self, request: aiohttp.web.Request, resource: Resource, namespace: str | None
    ) -> aiohttp.web.StreamResponse:
        """From ``resourceVersion`` on (as a real API server), else every object as ADDED; then
        each change as it happens, until either side hangs up."""
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        queue: asyncio.Queue[Json | None] = asyncio.Queue()
        since = request.query.get("resourceVersion", "")
        if since.isdigit() and int(since) > 0:
            for version, changed, event in self._history:
                if changed == resource and version > int(since):
                    queue.put_nowait(event)
        else:
            for obj in self._matching(resource, namespace):
                queue.put_nowait({"type": "ADDED", "object": copy.deepcopy(obj)})
        self._watches.setdefault(resource, set()).add(queue)
        try:
            while (event := await queue.get()) is not None:
                ns = event["object"]["metadata"].get("namespace")
                if namespace is None or ns == namespace:
                    await response.write(json.dumps(event).encode() + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._watches[resource].discard(queue)
        return response


def _locate(group: str, version: str, parts: list[str]) -> tuple[Resource, str | None, str | None]:
    """(resource, namespace, name or None for the collection) of a path below the API version."""
    namespace = None
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    plural, name = parts[0], (parts[1] if len(parts) > 1 else None)
    for resource in RESOURCES:
        if (resource.group, resource.version, resource.plural) == (group, version, plural):
            return resource, namespace, name
    raise ApiError(404, "NotFound", f"the server could not find the resource {plural}")


def _is_namespaces(resource: Resource) -> bool:
    return resource.plural == "namespaces" and not resource.group


def _namespace(name: str) -> Json:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


def _json_patch(target: Json, operations: list[Json]) -> Json:
    """RFC 6902's add, remove, replace and test; a failed test or a bad path is a 422."""
    document = copy.deepcopy(target)
    for op in operations:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]
        ]
        holder: Any = document
        try:
            for part in parents:
                holder = holder[int(part)] if isinstance(holder, list) else holder[part]
            if op["op"] == "test":
                current = holder[int(last)] if isinstance(holder, list) else holder[last]
                if current != op["value"]:
                    raise ApiError(422, "Invalid", f"test failed at {op['path']}")
            elif op["op"] == "remove":
                del holder[int(last) if isinstance(holder, list) else last]
            elif op["op"] == "add" and isinstance(holder, list):
                holder.insert(len(holder) if last == "-" else int(last), op["value"])
            elif op["op"] in ("add", "replace"):
                holder[int(last) if isinstance(holder, list) else last] = op["value"]
            else:
                raise ApiError(422, "Invalid", f"unsupported JSON patch op {op['op']!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", f"bad JSON patch path {op['path']}: {e!r}") from e
    return document


class RunningApi:
    """A ``KubeEmulator`` served on 127.0.0.1 from a background thread's event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.emulator = KubeEmulator()
        self._thread = threading.Thread(target=self._serve, name="kube-emulator", daemon=True)

    def start(self) -> RunningApi:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Kubernetes emulator did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        runner = aiohttp.web.AppRunner(self.emulator.app(), access_log=None)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._started.set()
        await self._stop.wait()
        self.emulator.close_watches()
        await runner.cleanup()
