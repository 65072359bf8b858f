"""The deploy key an automation gets when it names no SSH identity (issue 19).

The controller's cycle is called directly against the emulated API server: the first cycle of an
``ssh://`` automation whose Secret holds only ``known_hosts`` creates ``<name>-deploy-key`` (an
ed25519 pair in OpenSSH format), hands the private half to git as its key file, and publishes
the public half and its fingerprint in the status; later cycles reuse it. The private half is
never in a log record (every logger at debug), an event or the status. A refusal of that key
says so and keeps the timer polling: the fix is adding the key at the Git host.
"""

from __future__ import annotations

import base64
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest

from imagebot.config import Settings
from imagebot.controller.handlers import _stalled
from imagebot.errors import GitAuthError
from imagebot.gitrepo import deploykey
from imagebot.model import RunResult
from tests.controller_support import PUSHED, Recorder, controller
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks

NAMESPACE = "keys"
KNOWN_HOSTS = b"[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheRig\n"
pytestmark = [pytest.mark.rig, pytest.mark.asyncio]


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    running.create_namespace(NAMESPACE)
    for name, data in {
        "known-hosts": {"known_hosts": KNOWN_HOSTS},
        "own-key": {"identity": b"-----BEGIN OPENSSH PRIVATE KEY-----\nx\n", "known_hosts": b""},
    }.items():
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        }
        url = f"{running.url}/api/v1/namespaces/{NAMESPACE}/secrets"
        running.session.post(url, json=secret, timeout=5).raise_for_status()
    yield running
    running.stop()


def automation(name: str, git: dict[str, Any], status: dict[str, Any] | None = None) -> Any:
    return {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": name, "namespace": NAMESPACE, "generation": 1, "uid": f"u-{name}"},
        "spec": {"git": git},
        "status": status or {},
    }


def secret(api: RunningApi, name: str) -> dict[str, Any] | None:
    url = f"{api.url}/api/v1/namespaces/{NAMESPACE}/secrets/{name}"
    answer = api.session.get(url, timeout=5)
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


class KeyFiles(Recorder):
    """Reads the SSH key and known_hosts files the cycle hands to git, while they exist."""

    def __init__(self, result: RunResult | Exception) -> None:
        super().__init__(result)
        self.keys: list[bytes] = []
        self.known: list[bytes] = []

    def reconcile(self, settings: Settings, edges: Any, unchanged_since: str | None) -> RunResult:
        if settings.git.ssh_key_file:
            self.keys.append(Path(settings.git.ssh_key_file).read_bytes())
        if settings.git.known_hosts_file:
            self.known.append(Path(settings.git.known_hosts_file).read_bytes())
        return super().reconcile(settings, edges, unchanged_since)


async def test_an_ssh_automation_without_identity_gets_one_key_published_in_its_status(
    api: RunningApi, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    git = {"url": "ssh://git@127.0.0.1:2222/srv/demo.git", "secretRef": {"name": "known-hosts"}}
    recorder, patch = KeyFiles(PUSHED), kopf.Patch()
    assert secret(api, "demo-deploy-key") is None
    await controller(api, recorder).cycle(body=automation("demo", git), patch=patch)

    stored = secret(api, "demo-deploy-key")
    assert stored is not None
    data = {k: base64.b64decode(v) for k, v in stored["data"].items()}
    assert set(data) == {"identity", "identity.pub"}
    assert stored["metadata"]["ownerReferences"][0]["uid"] == "u-demo"
    assert recorder.keys == [data["identity"]]  # git used exactly that key
    assert recorder.known == [KNOWN_HOSTS]
    public = data["identity.pub"].decode().strip()
    assert public.startswith("ssh-ed25519 ") and public.endswith(" imagebot@keys/demo")
    published = patch["status"]["deployKey"]
    assert published == {
        "secretName": "demo-deploy-key",
        "publicKey": public,
        "fingerprint": deploykey.fingerprint(public),
    }
    # ssh itself reads the private half and derives the same public key and fingerprint.
    private = tmp_path / "id"
    private.write_bytes(data["identity"])
    private.chmod(0o600)
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(private)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert derived[:2] == public.split()[:2]
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(private)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert listed[1] == published["fingerprint"]

    # The next cycle reuses the key and leaves the published status alone.
    again, second = KeyFiles(PUSHED), kopf.Patch()
    seen = automation("demo", git, status={"deployKey": published})
    await controller(api, again).cycle(body=seen, patch=second)
    assert again.keys == [data["identity"]]
    assert "deployKey" not in second["status"]

    body_lines = [line for line in data["identity"].decode().splitlines() if "-----" not in line]
    assert_no_leaks(
        body_lines,
        texts={
            "log": "\n".join(r.getMessage() for r in caplog.records),
            "events": repr(recorder.events),
            "status": repr(patch["status"]),
        },
    )


async def test_an_automation_with_its_own_identity_gets_no_deploy_key(api: RunningApi) -> None:
    git = {"url": "ssh://git@127.0.0.1:2222/srv/own.git", "secretRef": {"name": "own-key"}}
    recorder, patch = KeyFiles(PUSHED), kopf.Patch()
    await controller(api, recorder).cycle(body=automation("own", git), patch=patch)
    assert secret(api, "own-deploy-key") is None
    assert "deployKey" not in patch["status"]


async def test_https_and_file_urls_get_no_deploy_key(api: RunningApi) -> None:
    recorder, patch = KeyFiles(PUSHED), kopf.Patch()
    await controller(api, recorder).cycle(
        body=automation("local", {"url": "file:///srv/local.git"}), patch=patch
    )
    assert secret(api, "local-deploy-key") is None
    assert recorder.keys == []


async def test_without_known_hosts_the_key_is_made_and_the_cycle_stalls_saying_why(
    api: RunningApi,
) -> None:
    recorder, patch = KeyFiles(PUSHED), kopf.Patch()
    with pytest.raises(kopf.PermanentError, match="known_hosts"):
        await controller(api, recorder).cycle(
            body=automation("bare", {"url": "git@127.0.0.1:srv/bare.git"}), patch=patch
        )
    assert secret(api, "bare-deploy-key") is not None  # so `imagebot identity` can print it
    assert patch["status"]["deployKey"]["secretName"] == "bare-deploy-key"
    assert recorder.settings == []


async def test_a_refused_deploy_key_stalls_but_the_timer_keeps_polling(api: RunningApi) -> None:
    git = {"url": "ssh://git@127.0.0.1:2222/srv/new.git", "secretRef": {"name": "known-hosts"}}
    refusal = GitAuthError("git refused the credentials: Permission denied (publickey)")
    recorder, patch = KeyFiles(refusal), kopf.Patch()
    with pytest.raises(kopf.PermanentError):
        await controller(api, recorder).cycle(body=automation("new", git), patch=patch)
    status = patch["status"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Stalled"]["reason"] == "DeployKeyRefused"
    fingerprint = status["deployKey"]["fingerprint"]
    assert f"add the deploy key {fingerprint}" in conditions["Ready"]["message"]
    assert "imagebot identity" in conditions["Ready"]["message"]
    # A stall whose fix is at the Git host does not wait for a spec change.
    assert not _stalled({**status, "observedGeneration": 1}, 1)
    # An automation's own identity refused is still the stall that waits for the spec.
    own = {"url": "ssh://git@127.0.0.1:2222/srv/own.git", "secretRef": {"name": "own-key"}}
    recorder, patch = KeyFiles(refusal), kopf.Patch()
    with pytest.raises(kopf.PermanentError):
        await controller(api, recorder).cycle(body=automation("own2", own), patch=patch)
    conditions = {c["type"]: c for c in patch["status"]["conditions"]}
    assert conditions["Stalled"]["reason"] == "GitAuthError"
    assert _stalled({**patch["status"], "observedGeneration": 1}, 1)
