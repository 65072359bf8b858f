"""Build imagebot's container image and run it the way the Deployment does, with no Docker daemon.

``build_image`` calls ``scripts/build-image`` (the script users run; it caches the base and the
image by their inputs, so only the first run on a machine pays for them). ``podman_run`` runs the
image as the Deployment's pod would: UID 10001, read-only root filesystem, ``/tmp`` a writable
volume, on the host's network so the rig's loopback servers are in reach. The runtime flags are
what these machines need (docs/testing.md): runc, as crun fails on rlimits and hybrid cgroups;
cgroupfs, as no systemd runs; explicit ``--ulimit``s, without which runc fails on "rlimit type 7".
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.rig import procs

ROOT = Path(__file__).resolve().parent.parent
UID = 10001  # the one UID: deploy/Dockerfile, deploy/base/deployment.yaml, here
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def build_image() -> str:
    """``scripts/build-image``'s image reference (built, or found up to date)."""
    procs.require_binary("podman", "podman")
    procs.require_binary("mmdebstrap", "mmdebstrap")
    proc = subprocess.run(
        [str(ROOT / "scripts" / "build-image"), "--tag", "localhost/imagebot:test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"scripts/build-image -> {proc.returncode}\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


def writable_volume(path: Path) -> Path:
    """``path`` made as the pod's emptyDir is: a directory the image's user owns."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, UID, UID)
    return path


def _limit(which: int, cap: int) -> int:
    hard = resource.getrlimit(which)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def podman_command(
    image: str,
    args: Sequence[str],
    *,
    tmp: Path | None = None,
    user: str | None = str(UID),
    env: Mapping[str, str] | None = None,
    mounts: Mapping[Path, str] | None = None,
    entrypoint: str | None = None,
    name: str | None = None,
    detach: bool = False,
) -> list[str]:
    """The ``podman run`` command line; ``user=None`` keeps the image's own user."""
    nofile, nproc = _limit(resource.RLIMIT_NOFILE, 4096), _limit(resource.RLIMIT_NPROC, 4096)
    command = [
        "podman",
        "--runtime",
        "runc",
        "run",
        "--cgroup-manager=cgroupfs",
        "--network=host",
        f"--ulimit=nofile={nofile}:{nofile}",
        f"--ulimit=nproc={nproc}:{nproc}",
        "--read-only",
        "--name",
        name or f"imagebot-test-{uuid.uuid4().hex[:8]}",
    ]
    command.append("--detach" if detach else "--rm")
    if user is not None:
        command += ["--user", user]
    if tmp is not None:
        command += ["--volume", f"{tmp}:/tmp"]
    for source, target in (mounts or {}).items():
        command += ["--volume", f"{source}:{target}:ro"]
    for key, value in (env or {}).items():
        command += ["--env", f"{key}={value}"]
    if entrypoint is not None:
        command += ["--entrypoint", entrypoint]
    return [*command, image, *args]


def podman_run(
    image: str, args: Sequence[str], *, timeout: float = 120, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run the image to completion (see ``podman_command`` for ``options``)."""
    command = podman_command(image, args, **options)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


class Container:
    """A detached container (``podman run --detach``), removed with its logs on ``remove``."""

    def __init__(self, image: str, args: Sequence[str], **options: Any) -> None:
        self.name = f"imagebot-test-{uuid.uuid4().hex[:8]}"
        command = podman_command(image, args, name=self.name, detach=True, **options)
        subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)

    def running(self) -> bool:
        proc = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Running}}", self.name],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return proc.stdout.strip() == "true"

    def host_uids(self) -> set[str]:
        """The host UIDs of every process in the container (``podman top``; the image has no
        ``ps``, so only host-side descriptors work)."""
        proc = subprocess.run(
            ["podman", "top", self.name, "huser"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return set(proc.stdout.split()[1:])

    def logs(self) -> str:
        proc = subprocess.run(
            ["podman", "logs", self.name], capture_output=True, text=True, timeout=30, check=False
        )
        return proc.stdout + proc.stderr

    def remove(self) -> None:
        subprocess.run(
            ["podman", "rm", "--force", "--time", "2", self.name],
            capture_output=True,
            timeout=60,
            check=False,
        )


def image_config(image: str) -> dict[str, Any]:
    """``podman image inspect``'s ``Config`` of ``image``, plus its ``Size`` in bytes."""
    proc = subprocess.run(
        ["podman", "image", "inspect", image],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found = json.loads(proc.stdout)[0]
    return {"Size": found["Size"], **found["Config"]}
