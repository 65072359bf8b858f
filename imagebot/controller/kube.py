"""The controller's own Kubernetes calls, through the official client, run in worker threads.

kopf watches ImageAutomations and posts events; everything else the controller asks of the API
server (a workload to attach an event to, the automations a pushed repository concerns, the
annotation that asks for a cycle now) goes through here, with the RBAC in deploy/base/rbac.yaml.
``kube_call`` is the one place the client's exceptions become imagebot's ``KubernetesError``.

Secrets are the one core/v1 kind the operator touches, and it does not import ``CoreV1Api`` for
them: since kubernetes 37 that module builds pydantic validators for the whole core API and every
model it names when imported, about 22 MB of the operator's resident memory for three calls on
one kind. ``SecretsApi`` sends them through the ApiClient's own request path instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from imagebot.controller.crd import GROUP, PLURAL, REQUESTED_AT, VERSION
from imagebot.controller.login import Login, refreshing
from imagebot.controller.status import WORKLOAD_APIS
from imagebot.errors import KubernetesError
from imagebot.model import WorkloadId
from imagebot.records import record


@contextmanager
def kube_call(what: str, messages: Mapping[int, str] | None = None) -> Iterator[None]:
    """Run one API call (``what`` names it); its failures leave as ``KubernetesError``, with the
    status, a message from ``messages`` for that status if given, and the cause chained."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ApiException as error:
        status = error.status if isinstance(error.status, int) and error.status else None
        message = (messages or {}).get(status or 0)
        if message is None:
            message = f"Kubernetes API: {what}: {status or 'no status'} {error.reason or ''}"
        raise KubernetesError(message.strip(), status, _retry_after(error)) from error
    except (HTTPError, OSError) as error:
        message = f"Kubernetes API: {what}: no answer ({type(error).__name__})"
        raise KubernetesError(message) from error


def _retry_after(error: Any) -> float | None:
    headers = getattr(error, "headers", None) or {}
    try:
        seconds = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


@record
class AutomationEntry:
    """An automation as the webhook receiver sees it: where it is and the images it last used."""

    namespace: str
    name: str
    images: frozenset[str]


def api_client(login: Login) -> Any:
    """An ApiClient logged in as ``login`` says, following rotated tokens (``refreshing``)."""
    from kubernetes import client

    return client.ApiClient(refreshing(login))


class SecretsApi:
    """get, create and patch on core/v1 Secrets, answered as the JSON objects (dicts).

    The requests are what ``CoreV1Api`` sends (paths, ``Accept``, a strategic merge patch) and go
    through the same ``ApiClient``: its credentials and their refresh hook, its TLS settings, and
    ``ApiException`` for an answer outside 2xx. Clients before kubernetes 37 have no
    ``param_serialize``; they imported every API module with ``kubernetes.client`` already, so
    ``CoreV1Api`` costs nothing more there and is used, its answer left undecoded.
    """

    def __init__(self, api: Any, *, generic: bool | None = None) -> None:
        self._api = api
        # ``generic=False`` takes the older clients' way on any client (tests run both ways).
        self._generic = hasattr(api, "param_serialize") if generic is None else generic

    @property
    def host(self) -> str:
        """The API server's URL."""
        return str(self._api.configuration.host)

    def read(self, namespace: str, name: str) -> dict[str, Any]:
        """The Secret ``namespace/name``."""
        if not self._generic:
            return self._legacy("read_namespaced_secret", name, namespace)
        return self._call("GET", "/namespaces/{namespace}/secrets/{name}", namespace, name)

    def create(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create the Secret ``body`` in ``namespace``; the answer is the stored object."""
        if not self._generic:
            return self._legacy("create_namespaced_secret", namespace, body)
        return self._call("POST", "/namespaces/{namespace}/secrets", namespace, body=body)

    def patch(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``body`` into the Secret ``namespace/name`` (a strategic merge patch)."""
        if not self._generic:
            return self._legacy("patch_namespaced_secret", name, namespace, body)
        path = "/namespaces/{namespace}/secrets/{name}"
        return self._call("PATCH", path, namespace, name, body=body, content_type=STRATEGIC_MERGE)

    def _call(
        self,
        method: str,
        path: str,
        namespace: str,
        name: str | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        api = self._api
        params = {"namespace": namespace} | ({"name": name} if name is not None else {})
        headers = {"Accept": "application/json"}
        if content_type is not None:  # none on a create, as CoreV1Api: the body is JSON anyway
            headers["Content-Type"] = content_type
        request = api.param_serialize(
            method=method,
            resource_path="/api/v1" + path,
            path_params=params,
            header_params=headers,
            body=dict(body) if body is not None else None,
            auth_settings=["BearerToken"],
        )
        response = api.call_api(*request)
        response.read()
        answer = api.response_deserialize(response, {"200": "object", "201": "object"}).data
        return cast("dict[str, Any]", answer)

    def _legacy(self, method: str, *args: Any) -> dict[str, Any]:
        from kubernetes import client

        call = getattr(client.CoreV1Api(self._api), method)
        return cast("dict[str, Any]", json.loads(call(*args, _preload_content=False).data))


STRATEGIC_MERGE = "application/strategic-merge-patch+json"


class Cluster:
    """Reads workloads and automations, and annotates automations; blocking calls."""

    def __init__(self, api: Any, namespaces: Sequence[str] = ()) -> None:
        from kubernetes import client

        self._api = api
        self._custom = client.CustomObjectsApi(api)
        self.secrets_api = SecretsApi(api)
        self._namespaces = tuple(namespaces)

    def workload(self, ref: WorkloadId) -> Mapping[str, Any] | None:
        """The workload's object, or None when it is not in the cluster (or not ours to read)."""
        group, version, plural = WORKLOAD_APIS[ref.kind]
        try:
            with kube_call(f"get {ref}"):
                found = self._custom.get_namespaced_custom_object(
                    group, version, ref.namespace or "default", plural, ref.name
                )
        except KubernetesError as error:
            if error.status in (403, 404):
                return None
            raise
        return cast("Mapping[str, Any]", found)

    def automations(self) -> list[AutomationEntry]:
        """Every watched automation with ``status.images`` (the repositories its cycle used)."""
        listings: list[Any]
        with kube_call(f"list {PLURAL}"):
            if self._namespaces:
                listings = [
                    self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
                    for namespace in self._namespaces
                ]
            else:
                listings = [self._custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)]
        items = [item for listing in listings for item in listing.get("items", [])]
        return [
            AutomationEntry(
                namespace=item["metadata"].get("namespace", ""),
                name=item["metadata"]["name"],
                images=frozenset((item.get("status") or {}).get("images") or ()),
            )
            for item in items
        ]

    def request_cycle(self, namespace: str, name: str, at: str) -> None:
        """Annotate the automation so that the operator holding the lead runs it now."""
        body = {"metadata": {"annotations": {REQUESTED_AT: at}}}
        with kube_call(f"annotate {PLURAL} {namespace}/{name}"):
            self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, body
            )
