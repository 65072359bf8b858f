"""Kubernetes API failures leave the client as ``KubernetesError``: permanent when a person must
act (401/403/404), transient otherwise (5xx, 429, no answer), and the cycle reports them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kopf
import pytest

from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from imagebot.controller.secrets import KubernetesSecretReader
from imagebot.errors import KubernetesError
from tests.controller_support import PUSHED, Recorder, body, send_json

URL = "file:///srv/fluxdemo.git"

pytestmark = pytest.mark.rig  # a loopback API server answers each status


class _Answer(BaseHTTPRequestHandler):
    status = 500
    retry_after: str | None = None
    only: str = ""  # answer ``status`` only on paths containing this; 404 elsewhere

    def do_GET(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def _answer(self) -> None:
        status = self.status if self.only in self.path else 404
        retry = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        send_json(self, status, {"kind": "Status", "code": status}, retry)

    def log_message(self, *_: object) -> None:
        pass


def _without_retries(url: str) -> Any:
    """An ApiClient that asks once: urllib3's own retries (which sleep out a Retry-After) are
    fixed when the client is built, so they are switched off in its configuration first."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = url
    configuration.retries = 0
    return client.ApiClient(configuration)


@contextmanager
def answering(status: int, retry_after: str | None = None, only: str = "") -> Iterator[Cluster]:
    """A ``Cluster`` on an API server that answers every request with ``status`` (with
    ``only``, just the requests whose path contains it; the rest get 404)."""
    attributes = {"status": status, "retry_after": retry_after, "only": only}
    handler = type("Answer", (_Answer,), attributes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    client = _without_retries(f"http://127.0.0.1:{server.server_address[1]}")
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
        KubernetesSecretReader(cluster.secrets_api).read("ns", "git")
    assert (raised.value.status, raised.value.permanent) == (status, permanent)


def test_an_api_server_that_does_not_answer_is_a_transient_kubernetes_error() -> None:
    with answering(500) as cluster:
        port = cluster.secrets_api.host
    closed = _without_retries(port)  # nothing listens there any more: connection refused
    try:
        with pytest.raises(KubernetesError, match="no answer") as raised:
            KubernetesSecretReader(Cluster(closed).secrets_api).read("ns", "git")
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


@pytest.mark.asyncio
async def test_a_429_from_the_api_server_is_retried_no_sooner_than_its_retry_after() -> None:
    # retry_delay honoured a registry's Retry-After but not the API server's: kopf came back
    # after 10 s to be told 429 again.
    recorder = Recorder(PUSHED)
    automation = body(git={"url": URL, "secretRef": {"name": "git"}})
    with answering(429, retry_after="120") as cluster:
        operator = Controller(cluster, emit=recorder.emit, run_reconcile=recorder.reconcile)
        with pytest.raises(kopf.TemporaryError, match="429") as raised:
            await operator.cycle(body=automation, patch=kopf.Patch())
    assert raised.value.delay == 120.0


@pytest.mark.asyncio
async def test_a_500_when_looking_up_the_workload_for_its_event_does_not_fail_the_cycle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The cycle had pushed and patched its status; the lookup's KubernetesError then escaped,
    # and kopf would have run the whole cycle again.
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    with answering(500, only="/deployments/") as cluster:
        operator = Controller(cluster, emit=recorder.emit, run_reconcile=recorder.reconcile)
        await operator.cycle(body=body(), patch=patch)
    conditions = {c["type"]: c for c in patch["status"]["conditions"]}
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("True", "Pushed")
    assert [(kind, reason) for kind, _, reason, _ in recorder.events] == [
        ("ImageAutomation", "Committed")
    ]
    assert "no event on Deployment" in caplog.text and "500" in caplog.text
