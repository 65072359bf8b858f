"""``SecretsApi``: the operator's Secret calls without ``CoreV1Api`` (issue 20, operator RSS).

Importing ``kubernetes.client.api.core_v1_api`` builds pydantic validators for the whole core API
(about 22 MB of the operator's 100 MiB). ``SecretsApi`` sends the same three requests through
the ApiClient's generic path: the wire is pinned against ``CoreV1Api`` itself, both of its ways
run against the emulated API server, and a process that starts the operator and uses its Secrets
is checked never to import that module.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from imagebot.controller.deploykeys import DeployKeys
from imagebot.controller.kube import SecretsApi, kube_call
from imagebot.controller.secrets import KubernetesSecretReader
from imagebot.errors import KubernetesError
from tests.controller_support import send_json
from tests.kube_emulator import RunningApi

pytestmark = pytest.mark.rig  # a loopback API server answers

CORE_V1_API = "kubernetes.client.api.core_v1_api"
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "type": "Opaque",
    "metadata": {"name": "git", "namespace": "ns"},
    "data": {"token": base64.b64encode(b"s3cret").decode()},
}


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with ``SECRET`` and records what was asked."""

    seen: ClassVar[list[tuple[str, str, str, str, Any]]] = []

    def do_GET(self) -> None:
        self._answer(200)

    def do_POST(self) -> None:
        self._answer(201)

    def do_PATCH(self) -> None:
        self._answer(200)

    def _answer(self, status: int) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length)) if length else None
        accept, content_type = self.headers.get("Accept", ""), self.headers.get("Content-Type", "")
        self.seen.append((self.command, self.path, accept, content_type, sent))
        send_json(self, status, SECRET)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def recording() -> Iterator[tuple[Any, list[tuple[str, str, str, str, Any]]]]:
    """An ApiClient on a server that records each request: (method, path, Accept, type, body)."""
    from kubernetes import client

    handler = type("Recorder", (_Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    configuration.api_key = {"BearerToken": "Bearer t0ken"}
    api = client.ApiClient(configuration)
    try:
        yield api, handler.seen
    finally:
        api.close()
        server.shutdown()
        server.server_close()


CALLS: list[tuple[str, Callable[[SecretsApi], Any], Callable[[Any], Any]]] = [
    ("read", lambda s: s.read("ns", "git"), lambda c: c.read_namespaced_secret("git", "ns")),
    (
        "create",
        lambda s: s.create("ns", SECRET),
        lambda c: c.create_namespaced_secret("ns", SECRET),
    ),
    (
        "patch",
        lambda s: s.patch("ns", "git", {"data": {"a": "Yg=="}}),
        lambda c: c.patch_namespaced_secret("git", "ns", {"data": {"a": "Yg=="}}),
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("generic", [True, False], ids=["generic", "core-v1-api"])
def test_each_call_sends_what_core_v1_api_sends_and_answers_the_object(
    generic: bool, ours: Callable[[SecretsApi], Any], theirs: Callable[[Any], Any]
) -> None:
    from kubernetes import client

    with recording() as (api, seen):
        answer = ours(SecretsApi(api, generic=generic))
        theirs(client.CoreV1Api(api))
    assert answer == SECRET
    assert len(seen) == 2
    assert seen[0] == seen[1]
    method, path, accept, content_type, _ = seen[0]
    assert path.startswith("/api/v1/namespaces/ns/secrets")
    assert accept.startswith("application/json")
    if method == "PATCH":
        assert content_type == "application/strategic-merge-patch+json"


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    yield running
    running.stop()


@pytest.mark.parametrize("generic", [True, False], ids=["generic", "core-v1-api"])
def test_secrets_round_trip_through_the_api_server_either_way(
    api: RunningApi, generic: bool
) -> None:
    namespace = f"ns-{generic}".lower()
    api.create_namespace(namespace)
    secrets = SecretsApi(api.client(), generic=generic)
    with pytest.raises(KubernetesError) as missing, kube_call("get"):
        secrets.read(namespace, "git")
    assert missing.value.status == 404
    created = secrets.create(namespace, {**SECRET, "metadata": {"name": "git"}})
    assert created["metadata"]["namespace"] == namespace
    secrets.patch(namespace, "git", {"data": {"user": base64.b64encode(b"me").decode()}})
    kind, data = KubernetesSecretReader(secrets).read(namespace, "git")
    assert (kind, data) == ("Opaque", {"token": b"s3cret", "user": b"me"})
    automation = {"metadata": {"name": "demo", "namespace": namespace, "uid": "u-1"}}
    made = DeployKeys(secrets).ensure(automation)
    assert DeployKeys(secrets).read(namespace, "demo") == made


def test_the_operator_never_imports_the_core_v1_api_module(api: RunningApi) -> None:
    # Before: Cluster built a CoreV1Api, and importing it made the operator 22 MB bigger.
    api.create_namespace("imports")
    code = textwrap.dedent(f"""
        import sys
        from imagebot.controller.deploykeys import DeployKeys
        from imagebot.controller.operator import OperatorOptions, build_operator
        from imagebot.controller.login import Login
        from imagebot.controller.secrets import KubernetesSecretReader

        options = OperatorOptions(login=Login(kubeconfig={str(api.kubeconfig)!r}))
        _, controller = build_operator(options)
        secrets = controller.cluster.secrets_api
        body = {{"metadata": {{"name": "demo", "namespace": "imports", "uid": "u-2"}}}}
        key = DeployKeys(secrets).ensure(body)
        kind, data = KubernetesSecretReader(secrets).read("imports", "demo-deploy-key")
        assert data["identity.pub"].decode().strip() == key.public, data
        print("LOADED", {CORE_V1_API!r} in sys.modules)
        print("MODELS", sum(name.startswith("kubernetes.client.models.") for name in sys.modules))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "LOADED False" in out
    models = int(out.split("MODELS ")[1].split()[0])
    assert models < 20, f"{models} kubernetes.client.models modules imported"
