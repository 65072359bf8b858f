"""Kubernetes API failures leave the client as ``KubernetesError``: permanent when a person must
act (401/403/404), transient otherwise (5xx, 429, no answer), and the cycle reports them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kopf
import pytest

from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster, api_client
from imagebot.controller.metrics import Metrics
from imagebot.controller.secrets import KubernetesSecretReader
from imagebot.errors import KubernetesError
from tests.controller_support import PUSHED, Recorder, body

URL = "file:///srv/fluxdemo.git"

pytestmark = pytest.mark.rig  # a loopback API server answers each status


class _Answer(BaseHTTPRequestHandler):
    status = 500

    def do_GET(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = json.dumps({"kind": "Status", "code": self.status}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def answering(status: int) -> Iterator[Cluster]:
    """A ``Cluster`` on an API server that answers every request with ``status``."""
    handler = type("Answer", (_Answer,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    client = api_client(f"http://127.0.0.1:{server.server_address[1]}")
    client.configuration.retries = 0
    try:
        yield Cluster(client)
    finally:
        client.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "permanent", "message"),
    [
        pytest.param(500, False, "Kubernetes API: get Secret ns/git: 500", id="500"),
        pytest.param(503, False, "Kubernetes API: get Secret ns/git: 503", id="503"),
        pytest.param(429, False, "Kubernetes API: get Secret ns/git: 429", id="429"),
        pytest.param(403, True, "imagebot may not read Secret ns/git; grant get", id="403"),
        pytest.param(404, True, "Secret ns/git does not exist", id="404"),
        pytest.param(401, True, "Kubernetes API: get Secret ns/git: 401", id="401"),
    ],
)
def test_api_errors_become_kubernetes_errors_by_status(
    status: int, permanent: bool, message: str
) -> None:
    with (
        answering(status) as cluster,
        pytest.raises(KubernetesError, match=f"^{message}") as raised,
    ):
        KubernetesSecretReader(cluster.core).read("ns", "git")
    assert (raised.value.status, raised.value.permanent) == (status, permanent)


def test_an_api_server_that_does_not_answer_is_a_transient_kubernetes_error() -> None:
    with answering(500) as cluster:
        port = cluster.core.api_client.configuration.host
    closed = api_client(port)  # nothing listens there any more: connection refused
    closed.configuration.retries = 0
    try:
        with pytest.raises(KubernetesError, match="no answer") as raised:
            KubernetesSecretReader(Cluster(closed).core).read("ns", "git")
    finally:
        closed.close()
    assert raised.value.status is None and not raised.value.permanent


@pytest.mark.asyncio
async def test_a_500_from_the_api_server_is_retried_with_a_status_and_a_metric() -> None:
    # Finding 11: the raw ApiException escaped the cycle: no condition, no metric.
    metrics = Metrics()
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    automation = body(git={"url": URL, "secretRef": {"name": "git"}})
    with answering(500) as cluster:
        operator = Controller(
            cluster, metrics, emit=recorder.emit, run_reconcile=recorder.reconcile
        )
        with pytest.raises(kopf.TemporaryError, match="500"):
            await operator.cycle(body=automation, patch=patch)
    conditions = {c["type"]: c for c in patch["status"]["conditions"]}
    assert (conditions["Reconciling"]["reason"], conditions["Stalled"]["status"]) == (
        "Retrying", "False"
    )  # fmt: skip
    labels = {"namespace": "my-demo", "name": "seed", "outcome": "transient"}
    assert metrics.registry.get_sample_value("imagebot_cycles_total", labels) == 1.0
    assert not recorder.settings


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (403, True)])
def test_the_webhook_receivers_calls_map_their_errors_too(status: int, permanent: bool) -> None:
    with answering(status) as cluster:
        with pytest.raises(KubernetesError, match=f"list imageautomations: {status}") as listed:
            cluster.automations()
        with pytest.raises(KubernetesError, match=f"annotate imageautomations ns/a: {status}"):
            cluster.request_cycle("ns", "a", "now")
    assert (listed.value.status, listed.value.permanent) == (status, permanent)
