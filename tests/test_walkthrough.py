"""docs/walkthrough.md, run: the seed's three steps with imagebot, on the rig (issue 19).

The commands are read from the page (its ``walkthrough`` examples, in order) and run as written,
with the rig in the reader's place: the GitHub URL becomes the rig's sshd, ``$GHUSER`` is set,
``KUBECONFIG`` points at the emulated API server.

1. ``imagebot install`` without known hosts exits 2 and prints an ``ssh-keyscan`` command, which
   runs against the rig's sshd and writes ``known_hosts``. The install itself is run twice: as
   printed for ``kubectl apply -f -``, and with ``--output-dir``, which ``kubectl kustomize``
   renders to the same objects. ``kubectl apply`` cannot talk to the emulated API server, so those
   objects are created through the Python client. The ImageAutomation is then patched as a test
   must: docker.io mirrored by the rig registry, and a 1s interval.
2. The operator starts as the rendered Deployment runs it (its args, the port swapped). Its first
   cycle makes the deploy key and is refused by the Git server; ``imagebot identity`` prints the
   key, which goes into the sshd's authorized keys (the deploy key step).
3. ``develop-v1.9.0`` is pushed to the registry, and the one-line commit lands on the SSH remote.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.controller_support import NEW, deployment_args, push_seed_images, rendered_deploy
from tests.doc_examples import examples
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks
from tests.rig.bare import run_git
from tests.rig.gitssh import SshGitServer
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port, spawn, stop, tail
from tests.rig.registry import RegistryServer

pytestmark = [pytest.mark.slow, pytest.mark.rig]
ROOT = Path(__file__).resolve().parent.parent
PAGE = "docs/walkthrough.md"
GITHUB_URL = "git@github.com:$GHUSER/gitops-demo"
APPLY = "| kubectl apply -f -"
SEED = ROOT / "fixtures" / "manifests" / "seed-example" / "original" / "deployment.yaml"


def walkthrough_commands() -> list[str]:
    """The page's ``walkthrough`` commands, in order."""
    return [
        command.text
        for example in examples(ROOT)
        if example.file == PAGE and example.marker and example.marker.walkthrough
        for command in example.commands()
    ]


class Reader:
    """Runs the page's commands as a reader would, in a work directory of their own."""

    def __init__(self, tmp_path: Path, api: RunningApi, url: str) -> None:
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.url = url
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "GIT_"))},
            "HOME": str(tmp_path / "home"),
            "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "GHUSER": "walkthrough-reader",
            "KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kubeconfig")),
        }

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        text = command.replace(GITHUB_URL, self.url)
        return subprocess.run(
            ["bash", "-c", text],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def create(api: RunningApi, found: dict[str, Any]) -> None:
    """Create one object of the install through the kubernetes client, as kubectl would."""
    from kubernetes import client, utils

    if found["kind"] == "ImageAutomation":
        group, version = found["apiVersion"].split("/")
        client.CustomObjectsApi(api.client()).create_namespaced_custom_object(
            group, version, found["metadata"]["namespace"], "imageautomations", found
        )
    elif found["kind"] == "Namespace":
        api.create_namespace(found["metadata"]["name"])  # the emulator keeps Namespaces apart
    else:
        utils.create_from_dict(api.client(), found)


def wait_for(what: str, probe: Callable[[], Any], log: Path, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; operator log:\n{tail(log, 4000)}")


def test_the_walkthrough_page_runs_step_for_step(
    tmp_path: Path,
    ssh_git_server: SshGitServer,
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    unique_repo: str,
) -> None:
    refused, install, identity = walkthrough_commands()
    # The reader's fork of the walkthrough repository: the seed, their flask image on Docker Hub.
    flask = f"docker.io/{flask_repo}/flaskapp".encode()
    seed = SEED.read_bytes().replace(b"docker.io//flaskapp", flask)
    seed = seed.replace(b"image: nginx:", f"image: docker.io/{flask_repo}/nginx:".encode())
    name = unique_repo.replace("/", "-")
    url = ssh_git_server.make_repo(f"{name}/gitops-demo.git", {"deployment.yaml": seed})
    remote = ssh_git_server.root / name / "gitops-demo.git"
    first = run_git("--git-dir", str(remote), "rev-parse", "HEAD").strip()
    push_seed_images(pusher, flask_repo, released=False)
    api = RunningApi().start()
    authorized = ssh_git_server.root.parent / "authorized_keys"
    trusted = authorized.read_text()
    reader = Reader(tmp_path, api, url)
    operator = None
    log = tmp_path / "operator.log"
    try:
        # Step 1: no known hosts yet: exit 2 and the command that writes them.
        asked = reader.run(refused)
        assert asked.returncode == 2, asked.stdout + asked.stderr
        keyscan = f"ssh-keyscan -p {ssh_git_server.port} 127.0.0.1 > known_hosts"
        assert f"\n  {keyscan}\n" in asked.stderr
        scanned = reader.run(keyscan)
        assert scanned.returncode == 0, scanned.stderr
        assert "ssh-ed25519" in (reader.work / "known_hosts").read_text()

        # The install, printed for kubectl apply and written as a kustomization: the same objects.
        assert install.endswith(APPLY), install
        printed = reader.run(install.removesuffix(APPLY))
        assert printed.returncode == 0, printed.stderr
        objects = [d for d in yaml.safe_load_all(printed.stdout) if d]
        written = reader.run(install.removesuffix(APPLY) + " --output-dir imagebot")
        assert written.returncode == 0, written.stderr
        assert rendered_deploy(reader.work / "imagebot") == objects
        assert "PRIVATE KEY" not in printed.stdout
        for found in objects:
            create(api, found)
        (automation,) = [o for o in objects if o["kind"] == "ImageAutomation"]
        namespace, automation_name = "flux", automation["metadata"]["name"]
        assert automation["metadata"]["namespace"] == namespace
        assert automation_name == "gitops-demo"
        base = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/{namespace}/imageautomations"
        resource = f"{base}/{automation_name}"
        # The test's part: Docker Hub is the rig registry, and the interval is short.
        patch = {
            "spec": {
                "interval": "1s",
                "registries": {"hosts": [{"host": "docker.io", "mirror": registry.host}]},
            }
        }
        api.session.patch(
            resource,
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=5,
        ).raise_for_status()

        # The operator, as the Deployment runs it; its first cycle makes the key and is refused.
        port = free_port()
        args = deployment_args(port, reader.work / "imagebot")
        assert args[: args.index("--webhook-port")] == [
            "controller", "--namespace", namespace, "--standalone",
        ]  # fmt: skip
        kubeconfig = api.write_kubeconfig(tmp_path / "operator" / "config", token_file=True)
        environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "GIT_"))},
            "KUBECONFIG": str(kubeconfig),
            "HOME": str(tmp_path / "operator-home"),
            "XDG_CACHE_HOME": str(tmp_path / "operator-cache"),
            "PYTHONPATH": str(ROOT),
        }
        operator = spawn(
            [sys.executable, "-m", "imagebot", *args],
            stdout=tmp_path / "operator.out",
            stderr=log,
            env=environ,
        )

        def status() -> dict[str, Any]:
            found: dict[str, Any] = api.session.get(resource, timeout=5).json().get("status", {})
            return found

        def refused_key() -> bool:
            conditions = status().get("conditions") or []
            return any(c.get("reason") == "DeployKeyRefused" for c in conditions)

        wait_for("the deploy key refused", refused_key, log)
        published = status()["deployKey"]

        # Step 2: the deploy key goes to the Git server.
        shown = reader.run(identity)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == published["publicKey"] + "\n"
        assert published["fingerprint"] in shown.stderr
        with authorized.open("a") as keys:
            keys.write(shown.stdout)

        # Step 3: a new image, and the one-line commit on the SSH remote.
        pusher.push_tags(f"{flask_repo}/flaskapp", {"develop-v1.9.0": NEW})

        def head() -> str | None:
            found = run_git("--git-dir", str(remote), "rev-parse", "HEAD").strip()
            return found if found != first else None

        commit = wait_for("the commit on the SSH remote", head, log)
        diff = run_git("--git-dir", str(remote), "diff", "-U0", first, commit).splitlines()
        changed = [ln for ln in diff if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        assert changed == [
            f"-        image: docker.io/{flask_repo}/flaskapp:develop-v1.8.0 ",
            f"+        image: docker.io/{flask_repo}/flaskapp:develop-v1.9.0 ",
        ]
        wait_for("lastPushedCommit", lambda: status().get("lastPushedCommit") == commit, log)
    finally:
        authorized.write_text(trusted)
        if operator is not None:
            stop(operator, grace=10)
        secret = api.session.get(
            f"{api.url}/api/v1/namespaces/flux/secrets/gitops-demo-deploy-key", timeout=5
        )
        api.stop()
    private = base64.b64decode(secret.json()["data"]["identity"]).decode()
    lines = [line for line in private.splitlines() if line and "-----" not in line]
    text = log.read_text()
    assert "Traceback" not in text
    assert_no_leaks(lines, texts={"operator log": text, "identity": shown.stdout + shown.stderr})
