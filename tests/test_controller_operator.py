"""The operator end to end: kopf's KopfRunner against an emulated API server, a real registry and
a real Git remote. A new ImageAutomation commits the seed scenario's update and says so in its
status and events; a broken spec, or a bad policy in the repository, stalls with a readable
message; deleting or suspending an automation stops its cycles; a registry push notification
reaches the webhook receiver and produces the commit without waiting for the poll interval.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kopf.testing import KopfRunner

from imagebot.config import Settings
from imagebot.controller.handlers import Controller
from imagebot.controller.login import Login
from imagebot.controller.operator import OperatorOptions, build_operator, operator_settings
from imagebot.controller.webhooks import Sender
from imagebot.model import RunResult
from imagebot.reconcile import Edges
from tests.controller_support import NEW, KopfRun, push_seed_images, seed_manifest
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks, git_dirs_under
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port
from tests.rig.registry import RegistryServer, start_registry

pytestmark = pytest.mark.slow
NS = "my-demo"
AUTOMATIONS = f"/apis/imagebot.io/v1alpha1/namespaces/{NS}/imageautomations"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll an outside process (the operator thread) until ``probe`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Cluster:
    """Plain HTTP access to the emulated API server, as kubectl would do it (with its token)."""

    def __init__(self, api: RunningApi) -> None:
        self.api, self.url, self.http = api, api.url, api.session

    def create(self, path: str, body: dict[str, Any]) -> None:
        self.http.post(self.url + path, json=body, timeout=5).raise_for_status()

    def automation(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"{self.url}{AUTOMATIONS}/{name}", timeout=5)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def exists(self, name: str) -> bool:
        return self.http.get(f"{self.url}{AUTOMATIONS}/{name}", timeout=5).status_code != 404

    def events(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.url}/api/v1/namespaces/{NS}/events", timeout=5)
        items: list[dict[str, Any]] = response.json().get("items", [])
        return items

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        for condition in self.automation(name).get("status", {}).get("conditions", []):
            if condition["type"] == kind:
                found: dict[str, Any] = condition
                return found
        return None

    def stalled(self, name: str) -> dict[str, Any] | None:
        """The Stalled condition while it is True, else None."""
        found = self.condition(name, "Stalled")
        return found if found is not None and found["status"] == "True" else None


def automation(name: str, remote: Path, registry: RegistryServer, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "interval": "1h",  # long on purpose: anything sooner came from a trigger
            "git": {"url": f"file://{remote}", "branch": "main"},
            "registries": {"hosts": [{"host": registry.host, "insecure": True}]},
            **spec,
        },
    }


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    api = RunningApi().start()
    api.create_namespace(NS)
    yield Cluster(api)
    api.stop()


class Operator:
    """Factory for a running operator (use as a context manager) watching ``my-demo``; counts
    the cycles that reached the reconcile."""

    def __init__(self, cluster: Cluster, cache: Path) -> None:
        self.cluster, self.cache = cluster, cache
        self.cycles: list[str] = []
        self.controllers: list[Controller] = []

    def __call__(self, **options: Any) -> KopfRunner:
        opts = OperatorOptions(
            namespaces=(NS,),
            webhook_host="127.0.0.1",
            standalone=True,
            login=Login(kubeconfig=str(self.cluster.api.kubeconfig)),
            tick_seconds=0.5,
            cache_dir=self.cache,
            **options,
        )
        registry, controller = build_operator(opts)
        self.controllers.append(controller)
        real = controller.run_reconcile

        def counted(settings: Settings, edges: Edges, since: str | None) -> RunResult:
            self.cycles.append(settings.git.repo)
            return real(settings, edges, since)

        controller.run_reconcile = counted
        args = ["run", "--standalone", "--namespace", NS]
        return KopfRun(args, registry=registry, settings=operator_settings(opts), timeout=30)


@pytest.fixture
def operator(cluster: Cluster, tmp_path: Path) -> Operator:
    return Operator(cluster, tmp_path / "cache")


def remote_file(remote: Path, path: str = "deployment.yaml") -> str:
    return run_git("--git-dir", str(remote), "show", f"main:{path}")


def test_new_automation_commits_the_seed_update_and_reports_it(
    operator: Callable[..., KopfRunner],
    cluster: Cluster,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
) -> None:
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "fluxdemo", "namespace": NS},
        "spec": {},
    }
    cluster.create(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment)

    with operator(webhook_port=free_port()):
        cluster.create(AUTOMATIONS, automation("seed", remote, registry))
        status = wait_for(
            "a pushed commit in status",
            lambda: cluster.automation("seed").get("status", {}).get("lastPushedCommit"),
        )
        wait_for("the events", lambda: len(cluster.events()) >= 2)

    assert f"/{unique_repo}/flaskapp:develop-v1.9.0" in remote_file(remote)
    assert cluster.condition("seed", "Ready")["status"] == "True"  # type: ignore[index]
    commit = run_git("--git-dir", str(remote), "rev-parse", "main").strip()
    assert status == commit
    expected = f"imagebot committed flask develop-v1.9.0 in {commit[:7]}"
    posted = {(e["involvedObject"]["kind"], e["message"]) for e in cluster.events()}
    assert ("ImageAutomation", expected) in posted
    assert ("Deployment", expected) in posted


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param({"interval": "soon"}, "spec.interval", id="interval-not-a-duration"),
        pytest.param({"git": {"branch": "main"}}, "spec.git.url is required", id="no-git-url"),
    ],
)
def test_broken_spec_stalls_with_a_readable_message(
    operator: Callable[..., KopfRunner],
    cluster: Cluster,
    registry: RegistryServer,
    bare_remote: Callable[..., Path],
    spec: dict[str, Any],
    message: str,
) -> None:
    remote = bare_remote()
    with operator(webhook_port=free_port()):
        cluster.create(AUTOMATIONS, automation("broken", remote, registry, **spec))
        stalled = wait_for("Stalled=True", lambda: cluster.stalled("broken"))
    assert message in stalled["message"]
    assert cluster.condition("broken", "Ready")["status"] == "False"  # type: ignore[index]
    assert any(e["reason"] == "Stalled" and message in e["message"] for e in cluster.events())


def test_registry_push_notification_commits_within_seconds(
    operator: Callable[..., KopfRunner],
    cluster: Cluster,
    tmp_path: Path,
    bare_remote: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token, port = uuid.uuid4().hex, free_port()
    notified = start_registry(
        tmp_path / "registry",
        notifications_url=f"http://127.0.0.1:{port}/hooks/distribution",
        notifications_headers={"Authorization": f"Bearer {token}"},
    )
    images = ImagePusher(notified)
    try:
        push_seed_images(images, "demo", released=False)
        remote = bare_remote({"deployment.yaml": seed_manifest(notified.host, "demo")})
        with operator(webhook_port=port, webhook_secrets={Sender.DISTRIBUTION: token}) as runner:
            cluster.create(AUTOMATIONS, automation("hooked", remote, notified))
            wait_for("the first cycle", lambda: cluster.condition("hooked", "Ready"))
            images.push_image("demo/flaskapp", "develop-v1.9.0", created=NEW)
            # The interval is an hour: a commit within wait_for's timeout came from the push.
            wait_for("the commit of the new tag", lambda: "develop-v1.9.0" in remote_file(remote))
            forged = requests.post(
                f"http://127.0.0.1:{port}/hooks/distribution",
                data=json.dumps({"events": []}),
                headers={"Authorization": "Bearer forged"},
                timeout=5,
            )
            metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        images.close()
        notified.stop()
    assert forged.status_code == 401
    assert (
        'imagebot_webhook_deliveries_total{outcome="bad_signature",sender="distribution"} 1.0'
        in metrics
    )
    assert 'outcome="accepted",sender="distribution"' in metrics
    assert_no_leaks(
        [token],
        texts={
            "operator output": runner.output,
            "log": caplog.text,
            "events": json.dumps(cluster.events()),
            "automation": json.dumps(cluster.automation("hooked")),
            "refusal": forged.text,
            "metrics": metrics,
        },
        git_dirs=git_dirs_under(remote, tmp_path / "cache"),
        trees=[tmp_path / "cache"],
    )


BROKEN = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  namespace: my-demo
  annotations:
    flux.weave.works/automated: 'true'
    flux.weave.works/tag.app: 'semver:~>>1'
spec:
  template:
    spec:
      containers:
      - name: app
        image: HOST/REPO/app:1.0.0
"""


def test_a_bad_policy_in_the_repository_stalls_readably_and_keeps_the_other_commit(
    operator: Operator,
    cluster: Cluster,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
) -> None:
    push_seed_images(pusher, unique_repo)
    broken = BROKEN.replace(b"HOST", registry.host.encode()).replace(b"REPO", unique_repo.encode())
    remote = bare_remote(
        {"deployment.yaml": seed_manifest(registry.host, unique_repo), "apps/broken.yaml": broken}
    )
    with operator(webhook_port=free_port()):
        cluster.create(AUTOMATIONS, automation("mixed", remote, registry))
        stalled = wait_for("Stalled=True", lambda: cluster.stalled("mixed"))
        wait_for(
            "the problem event", lambda: any(e["reason"] == "Problem" for e in cluster.events())
        )

    assert stalled["reason"] == "InvalidPolicy"
    assert stalled["message"].startswith(
        "apps/broken.yaml:14: invalid policy 'semver:~>>1' (annotation flux.weave.works/tag.app): "
        "invalid semver range '~>>1'"
    )
    commit = run_git("--git-dir", str(remote), "rev-parse", "main").strip()
    assert stalled["message"].endswith(f"; pushed {commit[:7]} for the rest")
    status = cluster.automation("mixed")["status"]
    assert status["lastPushedCommit"] == commit
    assert f"/{unique_repo}/flaskapp:develop-v1.9.0" in remote_file(remote)
    assert "app:1.0.0" in remote_file(remote, "apps/broken.yaml")
    ready = cluster.condition("mixed", "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("False", "InvalidPolicy")
    problems = [e["message"] for e in cluster.events() if e["reason"] == "Problem"]
    assert problems == [status["problems"][0]]


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(
            lambda c: c.http.delete(f"{c.url}{AUTOMATIONS}/ticking", timeout=5), id="delete"
        ),
        pytest.param(
            lambda c: c.http.patch(
                f"{c.url}{AUTOMATIONS}/ticking",
                json={"spec": {"suspend": True}},
                headers={"Content-Type": "application/merge-patch+json"},
                timeout=5,
            ),
            id="suspend",
        ),
    ],
)
def test_deleting_or_suspending_an_automation_stops_its_cycles(
    operator: Operator,
    cluster: Cluster,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    stop: Callable[[Cluster], requests.Response],
) -> None:
    push_seed_images(pusher, unique_repo, released=False)
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    with operator(webhook_port=free_port()):
        cluster.create(AUTOMATIONS, automation("ticking", remote, registry, interval="1s"))
        wait_for("timer cycles", lambda: len(operator.cycles) >= 3)
        stop(cluster).raise_for_status()
        wait_for("the operator to notice", lambda: _stopped(cluster))
        if not cluster.exists("ticking"):  # nothing is left behind for a deleted automation
            (controller,) = operator.controllers
            wait_for("the controller to forget it", lambda: not controller.remembered())
        seen = len(operator.cycles)
        time.sleep(2.5)  # five timer ticks and more than two intervals: none may run a cycle
        assert len(operator.cycles) == seen


def _stopped(cluster: Cluster) -> bool:
    # One GET, not exists() then condition(): a deleted object may vanish between two reads.
    response = cluster.http.get(f"{cluster.url}{AUTOMATIONS}/ticking", timeout=5)
    if response.status_code == 404:
        return True
    response.raise_for_status()
    conditions = response.json().get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["reason"] == "Suspended" for c in conditions)
