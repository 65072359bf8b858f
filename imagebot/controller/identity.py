"""``imagebot identity``'s work: find the automation, read or replace its deploy key.

Logs in as ``imagebot controller`` does (``controller/login.py``: kubeconfig, context, or the
in-cluster service account) and reads what the operator published: ``status.deployKey`` of the
automation, else the public half in its deploy key Secret. ``regenerate`` writes a fresh pair
into that Secret and asks the operator for a cycle (``imagebot.io/reconcile-at``), which then
uses the new key and publishes it. Only public halves leave this module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from imagebot.controller.crd import GROUP, PLURAL, REQUESTED_AT, VERSION
from imagebot.controller.deploykeys import DeployKeys, key_comment
from imagebot.controller.kube import SecretsApi, api_client, kube_call
from imagebot.controller.login import Login
from imagebot.errors import KubernetesError, UsageError
from imagebot.gitrepo import deploykey
from imagebot.records import record


@record
class Identity:
    """An automation's deploy key as ``imagebot identity`` shows it: public parts only."""

    namespace: str
    automation: str
    public_key: str
    fingerprint: str
    previous_fingerprint: str | None = None  # set by ``regenerate``

    @property
    def secret_name(self) -> str:
        return deploykey.secret_name(self.automation)


class Identities:
    """Reads and rotates deploy keys with the user's own credentials."""

    def __init__(self, login: Login) -> None:
        from kubernetes import client

        api = api_client(login)
        self._custom: Any = client.CustomObjectsApi(api)
        self._keys = DeployKeys(SecretsApi(api))

    def automation(self, namespace: str, name: str | None) -> dict[str, Any]:
        """The automation ``name``, or the only one in ``namespace`` when no name is given."""
        if name is not None:
            messages = {404: f"there is no ImageAutomation {name!r} in namespace {namespace!r}"}
            with kube_call(f"get {PLURAL} {namespace}/{name}", messages):
                found: dict[str, Any] = self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name
                )
            return found
        with kube_call(f"list {PLURAL} in {namespace}"):
            listing = self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        items: list[dict[str, Any]] = listing.get("items") or []
        if len(items) == 1:
            return items[0]
        if not items:
            raise UsageError(f"there is no ImageAutomation in namespace {namespace!r}")
        names = ", ".join(sorted(item["metadata"]["name"] for item in items))
        raise UsageError(f"namespace {namespace!r} has several automations ({names}): --automation")

    def current(self, automation: dict[str, Any]) -> Identity | None:
        """The published deploy key, else the one in its Secret; None when none exists yet."""
        meta = automation["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        published = (automation.get("status") or {}).get("deployKey") or {}
        public = published.get("publicKey")
        if not isinstance(public, str) or not public:
            try:
                stored = self._keys.read(namespace, name)
            except KubernetesError as error:
                if error.status != 403:
                    raise
                stored = None  # the user may read the automation but not its Secret
            if stored is None:
                return None
            public = stored.public
        return Identity(namespace, name, public, deploykey.fingerprint(public))

    def regenerate(self, automation: dict[str, Any]) -> Identity:
        """Store a fresh key pair in the automation's deploy key Secret and ask for a cycle."""
        meta = automation["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        before = self.current(automation)
        key = deploykey.generate(key_comment(namespace, name))
        self._keys.replace(automation, key)
        body = {"metadata": {"annotations": {REQUESTED_AT: datetime.now(UTC).isoformat()}}}
        with kube_call(f"annotate {PLURAL} {namespace}/{name}"):
            self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, body
            )
        return Identity(
            namespace,
            name,
            key.public,
            key.fingerprint,
            previous_fingerprint=before.fingerprint if before else None,
        )
