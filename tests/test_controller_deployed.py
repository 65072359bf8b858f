"""The operator started as the Deployment starts it: ``python -m imagebot`` with the container
args that ``deploy/`` renders (only the port swapped for a free one), logged in through a
kubeconfig whose ``tokenFile`` holds the bearer token, nothing injected. It takes the seed
scenario to a pushed commit with ``Ready=True`` and an event, logs one line per cycle, keeps
working after the token rotates and never logs a credential.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.controller_support import (
    REGCRED_PASSWORD,
    apply_deploy_namespaces,
    deployment_args,
    push_seed_images,
    seed_automation,
    seed_manifest,
)
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port, spawn, stop, tail
from tests.rig.registry import RegistryServer

pytestmark = [pytest.mark.slow, pytest.mark.rig]
ROOT = Path(__file__).resolve().parent.parent


def wait_for(what: str, probe: Callable[[], Any], log: Path, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; operator log:\n{tail(log, 4000)}")


class Kubectl:
    """What a user does with kubectl, with the kubeconfig's token (``RunningApi.session``)."""

    def __init__(self, api: RunningApi, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.automations = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/{namespace}"
        self.automations += "/imageautomations"

    def create(self, path: str, body: dict[str, Any]) -> None:
        self.api.session.post(self.api.url + path, json=body, timeout=5).raise_for_status()

    def automation(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api.session.get(f"{self.automations}/{name}", timeout=5).json()
        return found

    def ready(self, name: str) -> dict[str, Any] | None:
        for condition in self.automation(name).get("status", {}).get("conditions", []):
            if condition["type"] == "Ready":
                found: dict[str, Any] = condition
                return found
        return None

    def events(self, namespace: str) -> list[dict[str, Any]]:
        url = f"{self.api.url}/api/v1/namespaces/{namespace}/events"
        items: list[dict[str, Any]] = self.api.session.get(url, timeout=5).json()["items"]
        return items


@pytest.fixture
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    yield running
    running.stop()


def test_the_deployment_args_and_a_kubeconfig_take_the_seed_scenario_to_a_pushed_commit(
    api: RunningApi,
    tmp_path: Path,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
) -> None:
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    port = free_port()
    args = deployment_args(port)
    namespace = args[args.index("--namespace") + 1]
    kubectl = Kubectl(api, namespace)
    apply_deploy_namespaces(api)
    workload = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fluxdemo"}}
    kubectl.create("/apis/apps/v1/namespaces/my-demo/deployments", workload)
    if "--peering" in args:  # the HA layout: the peering object deploy/ installs with it
        peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering"}
        peering["metadata"] = {"name": args[args.index("--peering") + 1]}  # type: ignore[assignment]
        kubectl.create(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings", peering)
    kubeconfig = api.write_kubeconfig(tmp_path / "kube" / "config", token_file=True)
    first_token = api.token
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")},
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "operator.log"
    started = time.monotonic()
    operator = spawn(
        [sys.executable, "-m", "imagebot", *args],
        stdout=tmp_path / "operator.out",
        stderr=log,
        env=environ,
    )
    try:
        ready = f"http://127.0.0.1:{port}/readyz"
        wait_for("/readyz", lambda: _answers(ready), log)
        startup = time.monotonic() - started
        automation = seed_automation("seed", remote, registry.host)
        kubectl.create(kubectl.automations.removeprefix(api.url), automation)
        pushed = wait_for(
            "a pushed commit in status",
            lambda: kubectl.automation("seed").get("status", {}).get("lastPushedCommit"),
            log,
        )
        commit = run_git("--git-dir", str(remote), "rev-parse", "main").strip()
        assert pushed == commit
        assert f"/{unique_repo}/flaskapp:develop-v1.9.0" in run_git(
            "--git-dir", str(remote), "show", "main:deployment.yaml"
        )
        assert kubectl.ready("seed")["status"] == "True"  # type: ignore[index]
        message = f"imagebot committed flask develop-v1.9.0 in {commit[:7]}"
        wait_for(
            "the event",
            lambda: any(e["message"] == message for e in kubectl.events(namespace)),
            log,
        )
        wait_for(
            "the cycle's log line",
            lambda: f"seed: cycle ok, commit {commit[:7]}" in log.read_text(),
            log,
        )

        # The token rotates: the old one is refused, kopf logs in again and reads the new one.
        api.rotate()
        automation["metadata"] = {"name": "after-rotation"}
        kubectl.create(kubectl.automations.removeprefix(api.url), automation)
        wait_for("Ready after rotation", lambda: kubectl.ready("after-rotation"), log)
        assert api.emulator is not None and api.emulator.refused, "the old token was never refused"
    finally:
        stop(operator, grace=10)
    text = log.read_text()
    assert f"{namespace}/after-rotation: cycle ok" in text
    assert "Traceback" not in text
    assert f"credentials from kubeconfig {kubeconfig}, watching {namespace}" in text
    assert_no_leaks(
        [first_token, api.token, REGCRED_PASSWORD],
        texts={"operator log": text, "events": json.dumps(kubectl.events(namespace))},
    )
    print(f"start to /readyz: {startup:.2f}s")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
