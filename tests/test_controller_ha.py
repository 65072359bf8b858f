"""``deploy/ha/`` as shipped: two replicas started with the overlay's own args (ports swapped),
logged in through a kubeconfig, meeting at the KopfPeering the overlay installs.

Exactly one replica works while both live (kopf pauses *both* when they share a priority, which
is why each draws its own), and a ``kill -9`` of the working one hands the automation over to the
other within the overlay's ``--peering-lifetime``: it commits the next tag.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.controller_support import (
    ROOT,
    apply_deploy_namespaces,
    deployment_args,
    push_seed_images,
    rendered_deploy,
    seed_automation,
    seed_manifest,
)
from tests.kube_emulator import RunningApi
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port, spawn, stop
from tests.rig.registry import RegistryServer
from tests.test_controller_deployed import Kubectl, _answers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.rig]
HA = ROOT / "deploy" / "ha"
PAUSED = "Pausing operations in favour of"
RESUMED = "Resuming operations after the pause"
PRIORITY = re.compile(r"peering '[^']+' with priority (\d+)")


@pytest.fixture
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    yield running
    running.stop()


@dataclass
class Replica:
    """One pod of the Deployment: its own process, port, home and cache."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text()

    def priority(self) -> int:
        """The peering priority this replica drew, as its start-up line says."""
        found = PRIORITY.search(self.text())
        assert found, self.text()[-2000:]
        return int(found.group(1))


def start_replica(name: str, api: RunningApi, kubeconfig: Path, tmp_path: Path) -> Replica:
    port = free_port()
    home = tmp_path / name
    home.mkdir()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")},
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(home / "home"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    log = home / "operator.log"
    process = spawn(
        [sys.executable, "-m", "imagebot", *deployment_args(port, HA)],
        stdout=home / "operator.out",
        stderr=log,
        env=environ,
    )
    replica = Replica(name, process, log)
    wait_for(f"{name}'s /readyz", lambda: _answers(f"http://127.0.0.1:{port}/readyz"), log)
    return replica


def install_peering(kubectl: Kubectl) -> dict[str, Any]:
    """The KopfPeering object exactly as ``kubectl apply -k deploy/ha/`` creates it."""
    (peering,) = [o for o in rendered_deploy(HA) if o["kind"] == "KopfPeering"]
    namespace = peering["metadata"]["namespace"]
    kubectl.create(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings", peering)
    return peering


def test_one_replica_works_and_a_killed_one_hands_over(
    api: RunningApi,
    tmp_path: Path,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Any,
) -> None:
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    args = deployment_args(0, HA)
    namespace = args[args.index("--namespace") + 1]
    lifetime = args[args.index("--peering-lifetime") + 1]
    kubectl = Kubectl(api, namespace)
    apply_deploy_namespaces(api, HA)
    peering = install_peering(kubectl)
    peering_url = f"{api.url}/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/"
    peering_url += peering["metadata"]["name"]
    kubeconfig = api.write_kubeconfig(tmp_path / "kube" / "config", token_file=True)

    first = start_replica("first", api, kubeconfig, tmp_path)
    replicas = [first]
    try:
        automation = seed_automation("seed", remote, registry.host)
        kubectl.create(kubectl.automations.removeprefix(api.url), automation)
        wait_for("the first commit", lambda: _status(kubectl).get("lastPushedCommit"), first.log)

        second = start_replica("second", api, kubeconfig, tmp_path)
        replicas.append(second)
        wait_for(
            "both replicas in the peering object",
            lambda: len(api.session.get(peering_url, timeout=5).json().get("status", {})) == 2,
            second.log,
        )
        # The replica with the lower priority stands by. A replica pauses the moment it sees a
        # live peer of higher priority; one that starts paused (as every kopf operator does
        # until it has read the peering object) and meets a higher peer straight away simply
        # never resumes, and logs nothing: so the standby is told by the priority each replica
        # logged, and only the first, which worked alone before, must log its pause.
        standby = min(replicas, key=lambda r: r.priority())
        if standby is first:
            wait_for("the first replica to pause", lambda: PAUSED in first.text(), first.log, 60.0)
        else:
            time.sleep(2)  # long enough for it to have read the peering object at least once
            assert RESUMED not in second.text(), second.text()[-3000:]
        (active,) = [r for r in replicas if r is not standby]
        priorities = api.session.get(peering_url, timeout=5).json()["status"]
        assert len({p["priority"] for p in priorities.values()}) == 2, priorities
        assert "Pausing all operators" not in first.text() + second.text()

        active.process.kill()  # kill -9: no goodbye, its peering record stays until it expires
        active.process.wait()
        killed = time.monotonic()
        pusher.push_tags(
            f"{unique_repo}/flaskapp", {"develop-v1.10.0": datetime(2024, 3, 1, tzinfo=UTC)}
        )
        api.session.patch(
            f"{kubectl.automations}/seed",
            json={"metadata": {"annotations": {"imagebot.io/reconcile-at": "now"}}},
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=5,
        ).raise_for_status()
        wait_for(
            "the standby's commit of develop-v1.10.0",
            lambda: (
                "develop-v1.10.0" in str(_status(kubectl).get("lastUpdatedImages", ""))
                or "flaskapp:develop-v1.10.0"
                in run_git("--git-dir", str(remote), "show", "main:deployment.yaml")
            ),
            standby.log,
            timeout=60.0,
        )
        handover = time.monotonic() - killed
    finally:
        for replica in replicas:
            stop(replica.process, grace=10)
    text = standby.text()
    assert RESUMED in text, text[-3000:]
    assert "seed: cycle ok, commit" in text
    assert "Traceback" not in text
    limit = float(lifetime.removesuffix("s"))
    assert handover < limit + 15, f"hand-over took {handover:.1f}s (lifetime {lifetime})"
    print(f"hand-over after kill -9: {handover:.1f}s (peering lifetime {lifetime})")


def _status(kubectl: Kubectl) -> dict[str, Any]:
    found: dict[str, Any] = kubectl.automation("seed").get("status", {})
    return found
