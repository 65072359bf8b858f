"""``imagebot identity`` (issue 19): the seed's ``fluxctl identity``, against the emulated API.

It logs in through a kubeconfig as ``controller`` does, finds the automation (named, or the only
one in the namespace), and prints the public half of the deploy key the operator made: from the
status, else from the Secret. ``--regenerate`` writes a new pair into the Secret, asks for a
cycle, prints the new public key and says the deploy key must be replaced; the operator's next
cycle uses the new pair. No mode ever prints a private key, old or new.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
from click.testing import CliRunner, Result

from imagebot.cli import cli
from imagebot.controller.crd import REQUESTED_AT
from imagebot.controller.deploykeys import DeployKeys
from imagebot.controller.kube import SecretsApi
from imagebot.gitrepo import deploykey
from tests.controller_support import PUSHED, controller
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks
from tests.test_controller_deploykey import KeyFiles

pytestmark = pytest.mark.rig
KNOWN_HOSTS = b"[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheRig\n"


@pytest.fixture
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    yield running
    running.stop()


@pytest.fixture
def kubeconfig(api: RunningApi, tmp_path: Path) -> str:
    return str(api.write_kubeconfig(tmp_path / "kubeconfig"))


def create(api: RunningApi, namespace: str, name: str, **status: Any) -> dict[str, Any]:
    api.create_namespace(namespace)
    body = {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "git": {"url": "ssh://git@127.0.0.1:2222/srv/demo.git", "secretRef": {"name": "kh"}}
        },
    }
    url = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/{namespace}/imageautomations"
    created: dict[str, Any] = api.session.post(url, json=body, timeout=5).json()
    if status:
        patch = {"status": status}
        api.session.patch(
            f"{url}/{name}/status",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=5,
        ).raise_for_status()
    return created


def automation(api: RunningApi, namespace: str, name: str) -> dict[str, Any]:
    url = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/{namespace}/imageautomations/{name}"
    found: dict[str, Any] = api.session.get(url, timeout=5).json()
    return found


def stored(api: RunningApi, namespace: str, name: str) -> dict[str, bytes]:
    url = f"{api.url}/api/v1/namespaces/{namespace}/secrets/{deploykey.secret_name(name)}"
    data = api.session.get(url, timeout=5).json()["data"]
    return {key: base64.b64decode(value) for key, value in data.items()}


def identity(kubeconfig: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["identity", "--kubeconfig", kubeconfig, *args])


def private_lines(*privates: bytes) -> list[str]:
    return [
        line
        for private in privates
        for line in private.decode().splitlines()
        if line and "-----" not in line
    ]


def test_prints_the_published_key_of_the_only_automation(api: RunningApi, kubeconfig: str) -> None:
    key = deploykey.generate("imagebot@imagebot-system/demo")
    published = {"publicKey": key.public, "fingerprint": key.fingerprint}
    create(api, "imagebot-system", "demo", deployKey=published)
    result = identity(kubeconfig)
    assert result.exit_code == 0, result.output
    assert result.stdout == key.public + "\n"
    assert key.fingerprint in result.stderr and "write access" in result.stderr
    document = json.loads(identity(kubeconfig, "--output", "json").stdout)
    assert document == {
        "schemaVersion": 1,
        "namespace": "imagebot-system",
        "automation": "demo",
        "secretName": "demo-deploy-key",
        "publicKey": key.public,
        "fingerprint": key.fingerprint,
        "regenerated": False,
    }


def test_reads_the_secrets_public_half_and_never_prints_the_private_one(
    api: RunningApi, kubeconfig: str
) -> None:
    body = create(api, "flux", "demo")
    made = DeployKeys(_core(api)).ensure(body)
    outputs = [
        identity(kubeconfig, "-n", "flux", "--automation", "demo", *mode)
        for mode in ((), ("--output", "json"))
    ]
    assert outputs[0].exit_code == 0, outputs[0].output
    assert outputs[0].stdout == made.public + "\n"
    assert json.loads(outputs[1].stdout)["fingerprint"] == made.fingerprint
    assert_no_leaks(
        private_lines(made.private),
        texts={f"output {i}": r.output for i, r in enumerate(outputs)},
    )


def test_regenerate_rotates_the_pair_and_the_operator_uses_the_new_one(
    api: RunningApi, kubeconfig: str
) -> None:
    api.create_namespace("flux")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "kh", "namespace": "flux"},
        "data": {"known_hosts": base64.b64encode(KNOWN_HOSTS).decode()},
    }
    api.session.post(f"{api.url}/api/v1/namespaces/flux/secrets", json=secret, timeout=5)
    body = create(api, "flux", "demo")
    old = DeployKeys(_core(api)).ensure(body)
    outputs = []
    privates = [old.private]
    for mode in ((), ("--output", "json")):
        result = identity(kubeconfig, "-n", "flux", "--regenerate", *mode)
        assert result.exit_code == 0, result.output
        outputs.append(result)
        now = stored(api, "flux", "demo")
        privates.append(now["identity"])
        public = now["identity.pub"].decode().strip()
        assert public.endswith(" imagebot@flux/demo")
        printed = json.loads(result.stdout)["publicKey"] if mode else result.stdout.strip()
        assert printed == public
        assert "replace the old deploy key" in result.stderr
    assert len({*privates}) == 3, "each --regenerate makes a new pair"
    assert f"({old.fingerprint})" in outputs[0].stderr
    annotations = automation(api, "flux", "demo")["metadata"].get("annotations") or {}
    assert REQUESTED_AT in annotations  # the operator runs a cycle with the new key now
    assert_no_leaks(
        private_lines(*privates),
        texts={f"output {i}": r.output for i, r in enumerate(outputs)},
    )

    # The operator's next cycle uses the new pair and publishes its public half.
    recorder, patch = KeyFiles(PUSHED), kopf.Patch()
    await_cycle(controller(api, recorder), automation(api, "flux", "demo"), patch)
    assert recorder.keys == [privates[-1]]
    assert patch["status"]["deployKey"]["publicKey"] == printed


def await_cycle(ctl: Any, body: dict[str, Any], patch: Any) -> None:
    import asyncio

    asyncio.run(ctl.cycle(body=body, patch=patch))


def test_no_key_yet_exits_1_and_no_automation_exits_2(api: RunningApi, kubeconfig: str) -> None:
    """And ``--regenerate`` then makes the first key."""
    api.create_namespace("imagebot-system")
    none = identity(kubeconfig)
    assert none.exit_code == 2
    assert "no ImageAutomation in namespace 'imagebot-system'" in none.stderr
    create(api, "imagebot-system", "one")
    early = identity(kubeconfig)
    assert early.exit_code == 1
    assert "has no deploy key yet" in early.stderr and early.stdout == ""
    create(api, "imagebot-system", "two")
    several = identity(kubeconfig)
    assert several.exit_code == 2
    assert "several automations (one, two): --automation" in several.stderr
    missing = identity(kubeconfig, "--automation", "three")
    assert missing.exit_code == 2
    assert "no ImageAutomation 'three'" in missing.stderr
    # --regenerate where the operator made no key yet: the Secret is created, owned by it.
    made = identity(kubeconfig, "--automation", "one", "--regenerate")
    assert made.exit_code == 0, made.output
    assert "PRIVATE KEY" not in made.output
    url = f"{api.url}/api/v1/namespaces/imagebot-system/secrets/one-deploy-key"
    secret = api.session.get(url, timeout=5).json()
    assert secret["metadata"]["ownerReferences"][0]["name"] == "one"
    public = base64.b64decode(secret["data"]["identity.pub"]).decode().strip()
    assert made.stdout == public + "\n"
    assert "replace the old deploy key at the Git host" in made.stderr


def _core(api: RunningApi) -> SecretsApi:
    return SecretsApi(api.client())
