"""The deploy key Secret of an automation: read it, make it the first time, replace it on demand.

The operator calls ``ensure`` when an automation with an SSH URL names no identity of its own:
the Secret ``<automation>-deploy-key`` in the automation's namespace is read, or created with a
fresh ed25519 pair (``create`` on Secrets in that namespace is the one write the operator's RBAC
allows besides its own status and events). The Secret is owned by the automation, so deleting the
automation deletes its key and nothing else is left to clean. ``imagebot identity --regenerate``
calls ``replace`` with the user's own credentials.

Errors name the Secret, never its data; the private half is never logged (``deploykey`` makes
the redactor mask it as soon as it is read or made).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from imagebot.controller.crd import API_VERSION, KIND
from imagebot.controller.kube import SecretsApi, kube_call
from imagebot.errors import KubernetesError
from imagebot.gitrepo import deploykey
from imagebot.gitrepo.deploykey import DeployKey

MANAGED_BY = {"app.kubernetes.io/managed-by": "imagebot"}
AUTOMATION_LABEL = "imagebot.io/automation"


def key_comment(namespace: str, name: str) -> str:
    """The public key's comment: which automation the key belongs to, as a Git host lists it."""
    return f"imagebot@{namespace}/{name}"


def secret_body(automation: Mapping[str, Any], key: DeployKey) -> dict[str, Any]:
    """The Secret holding ``key`` for the automation ``automation`` (its object), owned by it."""
    meta = automation.get("metadata") or {}
    name = meta["name"]
    metadata: dict[str, Any] = {
        "name": deploykey.secret_name(name),
        "namespace": meta.get("namespace", ""),
        "labels": {**MANAGED_BY, AUTOMATION_LABEL: name},
    }
    if meta.get("uid"):
        # Garbage-collected with the automation. No blockOwnerDeletion: that would need
        # `update` on the automation's finalizers, which the operator is not given.
        metadata["ownerReferences"] = [
            {"apiVersion": API_VERSION, "kind": KIND, "name": name, "uid": meta["uid"]}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata,
        "data": key.secret_data(),
    }


class DeployKeys:
    """Deploy key Secrets over the API server."""

    def __init__(self, api: SecretsApi) -> None:
        self._api = api

    def read(self, namespace: str, automation: str) -> DeployKey | None:
        """The automation's key pair, or None when its Secret does not exist yet."""
        name = deploykey.secret_name(automation)
        where = f"Secret {namespace}/{name}"
        messages = {
            403: f"imagebot may not read {where}, the deploy key of {namespace}/{automation}: "
            "add it to the resourceNames of the controller's Secrets Role",
        }
        try:
            with kube_call(f"get {where}", messages):
                secret = self._api.read(namespace, name)
        except KubernetesError as error:
            if error.status == 404:
                return None
            raise
        data = {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}
        return deploykey.from_secret(data, where)

    def ensure(self, automation: Mapping[str, Any]) -> DeployKey:
        """The automation's key pair, made and stored first if it has none."""
        meta = automation.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta["name"]
        found = self.read(namespace, name)
        if found is not None:
            return found
        key = deploykey.generate(key_comment(namespace, name))
        where = f"Secret {namespace}/{deploykey.secret_name(name)}"
        messages = {
            403: f"imagebot may not create {where}, the deploy key of {namespace}/{name}: "
            "grant create on secrets in the controller's Secrets Role",
        }
        try:
            with kube_call(f"create {where}", messages):
                self._api.create(namespace, secret_body(automation, key))
        except KubernetesError as error:
            if error.status != 409:
                raise
            # Another replica (or an earlier attempt) made it first: use that one.
            raced = self.read(namespace, name)
            if raced is None:
                raise
            return raced
        return key

    def replace(self, automation: Mapping[str, Any], key: DeployKey) -> None:
        """Store ``key`` as the automation's deploy key, whether or not it had one."""
        meta = automation.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta["name"]
        secret = deploykey.secret_name(name)
        where = f"Secret {namespace}/{secret}"
        body = secret_body(automation, key)
        with kube_call(f"replace {where}"):
            if self._exists(namespace, secret):
                patch = {"data": body["data"]}
                self._api.patch(namespace, secret, patch)
            else:
                self._api.create(namespace, body)

    def _exists(self, namespace: str, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self._api.read(namespace, name)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True


def key_status(key: DeployKey, automation: str) -> dict[str, str]:
    """What the automation's status says of its deploy key: never the private half."""
    return {
        "secretName": deploykey.secret_name(automation),
        "publicKey": key.public,
        "fingerprint": key.fingerprint,
    }
