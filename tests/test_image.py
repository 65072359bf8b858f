"""The container image, built by ``scripts/build-image`` and run as the Deployment runs it.

No Docker daemon: podman builds and runs the image (tests/image_support.py). Every run is UID
10001 with a read-only root filesystem and ``/tmp`` a writable volume, on the host's network so
the rig's loopback registry, Git server and test API server are in reach. The first run on a
machine builds the Debian base and the image (about two minutes); later runs find both cached.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.controller_support import apply_deploy_namespaces, deployment_args, seed_manifest
from tests.controller_support import push_seed_images as push_operator_seed
from tests.image_support import (
    SERVICE_ACCOUNT,
    UID,
    Container,
    build_image,
    image_config,
    podman_run,
    writable_volume,
)
from tests.kube_emulator import RunningApi
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.rig.githttp import GitHttpServer
from tests.rig.procs import free_port
from tests.run_support import T0, mirror_config, push_seed_images

pytestmark = [pytest.mark.slow, pytest.mark.rig]

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "manifests" / "seed-example" / "original" / "deployment.yaml"
NS = "imagebot-system"  # deploy/'s namespace, where the Deployment's --namespace points


@pytest.fixture(scope="module")
def image() -> str:
    return build_image()


def test_image_runs_as_10001_with_imagebot_as_entrypoint(image: str) -> None:
    config = image_config(image)
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["imagebot"]

    # The image's own user (no --user), root filesystem read-only, no writable volume at all.
    shown = podman_run(image, ["--help"], user=None)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Usage: imagebot")

    probe = "import os; print(os.getuid(), os.getgid(), os.geteuid(), os.getegid(), os.getgroups())"
    ids = podman_run(image, ["-c", probe], user=None, entrypoint="python3")
    assert ids.stdout.strip().split(maxsplit=4) == [str(UID)] * 4 + [f"[{UID}]"], ids.stderr


def test_seed_scenario_in_the_image_pushes_the_one_line_commit(
    image: str,
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    http_git_server: GitHttpServer,
    tmp_path: Path,
) -> None:
    seed = SEED.read_bytes().replace(b"docker.io//flaskapp", f"docker.io/{flask_repo}".encode())
    push_seed_images(pusher, flask_repo)
    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0)
    url = http_git_server.make_repo(f"{flask_repo}.git", {"deployment.yaml": seed})
    volume = writable_volume(tmp_path / "tmp")
    mirror_config(volume, registry)  # /tmp/imagebot-test.yaml inside the container

    started = time.monotonic()
    args = ["run", "--repo", url, "--config", "/tmp/imagebot-test.yaml", "--output", "json"]
    ran = podman_run(image, args, tmp=volume, env={"GIT_TERMINAL_PROMPT": "0"})
    elapsed = time.monotonic() - started
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout)
    assert result["pushed"] is True, result
    assert [(c["container"], c["tag"]) for c in result["changes"]] == [("flask", "develop-v1.9.0")]
    print(f"imagebot run in the image: {elapsed:.1f} s")

    clone = tmp_path / "check"
    run_git("clone", "--quiet", url, str(clone))
    assert (clone / "deployment.yaml").read_bytes() == seed.replace(
        b"develop-v1.8.0", b"develop-v1.9.0"
    )
    numstat = run_git("-C", str(clone), "show", "--format=", "--numstat", "HEAD")
    assert numstat.split() == ["1", "1", "deployment.yaml"]
    # Everything the run wrote is on the volume, and belongs to the image's user.
    written = [p for p in volume.rglob("*") if p.name != "imagebot-test.yaml"]
    assert written and all(p.lstat().st_uid == UID for p in written)
    assert (volume / ".cache" / "imagebot").is_dir()


@pytest.fixture
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    yield running
    running.stop()


def service_account(api: RunningApi, where: Path) -> tuple[Path, int]:
    """The files the kubelet mounts at the service-account path (token, CA, namespace), readable
    by the image's user, and the port of a TLS front on ``api`` that the CA vouches for."""
    port = api.tls_front(where / "ca.crt")
    (where / "token").write_text(api.token)
    (where / "namespace").write_text(NS)
    for path in (where, *where.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return where, port


def test_controller_in_the_image_logs_in_as_its_service_account(
    image: str,
    api: RunningApi,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    http_git_server: GitHttpServer,
    tmp_path: Path,
) -> None:
    push_operator_seed(pusher, unique_repo)
    url = http_git_server.make_repo(
        f"{unique_repo}.git", {"deployment.yaml": seed_manifest(registry.host, unique_repo)}
    )
    account, port = service_account(api, tmp_path / "serviceaccount")
    apply_deploy_namespaces(api)
    args = deployment_args(free_port())  # the container args deploy/ renders
    assert args[args.index("--namespace") + 1] == NS
    if "--peering" in args:  # the HA layout: the peering object deploy/ installs with it
        peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering"}
        peering["metadata"] = {"name": args[args.index("--peering") + 1]}  # type: ignore[assignment]
        peerings = f"{api.url}/apis/kopf.dev/v1/namespaces/{NS}/kopfpeerings"
        api.session.post(peerings, json=peering, timeout=5).raise_for_status()
    automations = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/{NS}/imageautomations"
    started = time.monotonic()
    container = Container(
        image,
        args,
        tmp=writable_volume(tmp_path / "tmp"),
        mounts={account: SERVICE_ACCOUNT},
        # The one way to the API server: TLS, trusting the mounted CA, with the mounted token.
        env={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)},
    )
    try:  # applied while the operator starts: its first list or its watch must find it
        api.session.post(
            automations,
            json={
                "apiVersion": "imagebot.io/v1alpha1",
                "kind": "ImageAutomation",
                "metadata": {"name": "seed", "namespace": NS},
                "spec": {"interval": "1h", "git": {"url": url, "branch": "main"}},
            },
            timeout=5,
        ).raise_for_status()
        ready = _wait_for_ready(api, f"{automations}/seed", container)
        print(f"controller in the image: Ready after {time.monotonic() - started:.1f} s")
        uids = container.host_uids()
        logs = container.logs()
    finally:
        container.remove()

    clone = tmp_path / "check"
    run_git("clone", "--quiet", url, str(clone))
    assert (
        ready["status"]["lastPushedCommit"]
        == run_git("-C", str(clone), "rev-parse", "HEAD").strip()
    )
    assert f"/{unique_repo}/flaskapp:develop-v1.9.0" in (clone / "deployment.yaml").read_text()
    assert api.token not in logs
    assert uids == {str(UID)}  # no process in the container runs as root


def _wait_for_ready(api: RunningApi, path: str, container: Container) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found: dict[str, Any] = api.session.get(path, timeout=5).json()
        conditions = found.get("status", {}).get("conditions", [])
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return found
        if not container.running():
            break
        time.sleep(0.5)
    raise AssertionError(f"no Ready=True; the container's log:\n{container.logs()}")
