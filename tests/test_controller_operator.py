"""The operator end to end: kopf's KopfRunner against an emulated API server, a real registry and
a real Git remote. A new ImageAutomation commits the seed scenario's update and says so in its
status and events; a broken spec stalls with a readable message; a registry push notification
reaches the webhook receiver and produces the commit without waiting for the poll interval.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from kopf.testing import KopfRunner

from imagebot.controller.operator import OperatorOptions, build_operator, operator_settings
from imagebot.controller.webhooks import Sender
from tests.kube_emulator import RunningApi
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port
from tests.rig.registry import RegistryServer, start_registry

pytestmark = pytest.mark.slow
NS = "my-demo"
SEED = Path("/work/shared/seed-example/deployment.yaml")
AUTOMATIONS = f"/apis/imagebot.io/v1alpha1/namespaces/{NS}/imageautomations"
OLD, NEW = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)


def seed_manifest(registry: RegistryServer, repo: str) -> bytes:
    """The seed deployment with its broken flask reference repaired to point at the rig."""
    text = SEED.read_bytes()
    text = text.replace(b"docker.io//flaskapp", f"{registry.host}/{repo}/flaskapp".encode())
    return text.replace(b"image: nginx:", f"image: {registry.host}/{repo}/nginx:".encode())


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
    """Plain HTTP access to the emulated API server, as kubectl would do it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def create(self, path: str, body: dict[str, Any]) -> None:
        requests.post(self.url + path, json=body, timeout=5).raise_for_status()

    def automation(self, name: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}{AUTOMATIONS}/{name}", timeout=5)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def events(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/namespaces/{NS}/events", timeout=5)
        items: list[dict[str, Any]] = response.json().get("items", [])
        return items

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        for condition in self.automation(name).get("status", {}).get("conditions", []):
            if condition["type"] == kind:
                found: dict[str, Any] = condition
                return found
        return None


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
    yield Cluster(api.url)
    api.stop()


@pytest.fixture
def operator(cluster: Cluster) -> Callable[..., KopfRunner]:
    """Factory for a running operator (use as a context manager) watching ``my-demo``."""

    def start(**options: Any) -> KopfRunner:
        opts = OperatorOptions(
            namespaces=(NS,),
            webhook_host="127.0.0.1",
            standalone=True,
            api_server=cluster.url,
            tick_seconds=0.5,
            **options,
        )
        registry, _ = build_operator(opts)
        args = ["run", "--standalone", "--namespace", NS]
        return KopfRunner(args, registry=registry, settings=operator_settings(opts), timeout=30)

    return start


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
    pusher.push_tags(f"{unique_repo}/flaskapp", {"develop-v1.8.0": OLD, "develop-v1.9.0": NEW})
    pusher.push_tags(f"{unique_repo}/nginx", {"1.16-perl": OLD})
    remote = bare_remote({"deployment.yaml": seed_manifest(registry, unique_repo)})
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
        stalled = wait_for(
            "Stalled=True",
            lambda: (c := cluster.condition("broken", "Stalled")) and c["status"] == "True" and c,
        )
    assert message in stalled["message"]
    assert cluster.condition("broken", "Ready")["status"] == "False"  # type: ignore[index]
    assert any(e["reason"] == "Stalled" and message in e["message"] for e in cluster.events())


def test_registry_push_notification_commits_within_seconds(
    operator: Callable[..., KopfRunner],
    cluster: Cluster,
    tmp_path: Path,
    bare_remote: Callable[..., Path],
) -> None:
    token, port = uuid.uuid4().hex, free_port()
    notified = start_registry(
        tmp_path / "registry",
        notifications_url=f"http://127.0.0.1:{port}/hooks/distribution",
        notifications_headers={"Authorization": f"Bearer {token}"},
    )
    images = ImagePusher(notified)
    try:
        images.push_tags("demo/flaskapp", {"develop-v1.8.0": OLD})
        images.push_tags("demo/nginx", {"1.16-perl": OLD})
        remote = bare_remote({"deployment.yaml": seed_manifest(notified, "demo")})
        with operator(webhook_port=port, webhook_secrets={Sender.DISTRIBUTION: token}):
            cluster.create(AUTOMATIONS, automation("hooked", remote, notified))
            wait_for("the first cycle", lambda: cluster.condition("hooked", "Ready"))
            pushed_at = time.monotonic()
            images.push_image("demo/flaskapp", "develop-v1.9.0", created=NEW)
            wait_for(
                "the commit of develop-v1.9.0",
                lambda: "develop-v1.9.0" in remote_file(remote),
                timeout=5.0,
            )
            elapsed = time.monotonic() - pushed_at
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
    assert elapsed < 5.0
    assert forged.status_code == 401
    assert (
        'imagebot_webhook_deliveries_total{outcome="bad_signature",sender="distribution"} 1.0'
        in metrics
    )
    assert 'outcome="accepted",sender="distribution"' in metrics
