"""The controller's own Kubernetes calls, through the official client, run in worker threads.

kopf watches ImageAutomations and posts events; everything else the controller asks of the API
server (a workload to attach an event to, the automations a pushed repository concerns, the
annotation that asks for a cycle now) goes through here, with the RBAC in deploy/base/rbac.yaml.
``kube_call`` is the one place the client's exceptions become imagebot's ``KubernetesError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from imagebot.controller.crd import GROUP, PLURAL, REQUESTED_AT, VERSION
from imagebot.controller.login import Login, refreshing
from imagebot.controller.status import WORKLOAD_APIS
from imagebot.errors import KubernetesError
from imagebot.model import WorkloadId


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


@dataclass(frozen=True, slots=True)
class AutomationEntry:
    """An automation as the webhook receiver sees it: where it is and the images it last used."""

    namespace: str
    name: str
    images: frozenset[str]


def api_client(login: Login) -> Any:
    """An ApiClient logged in as ``login`` says, following rotated tokens (``refreshing``)."""
    from kubernetes import client

    return client.ApiClient(refreshing(login))


class Cluster:
    """Reads workloads and automations, and annotates automations; blocking calls."""

    def __init__(self, api: Any, namespaces: Sequence[str] = ()) -> None:
        from kubernetes import client

        self._api = api
        self._custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
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
