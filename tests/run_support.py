"""What the end-to-end tests of ``imagebot run`` and the workflow commands share.

The real CLI as a child process with its own cache, a settings file that lets the rig registry
stand in for docker.io, and automated workload manifests. Servers come from the rig fixtures in
``conftest.py``; nothing here starts one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.rig import ImagePusher, RegistryServer
from tests.support import ROOT

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def imagebot(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python -m imagebot ARGS`` with caches under ``tmp_path``; ``check`` wants exit 0."""
    environment = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "GIT_TERMINAL_PROMPT": "0",
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "imagebot", *args],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"imagebot {' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}"
        )
    return proc


def fresh_python(code: str) -> str:
    """What ``code`` prints, run by a new interpreter at the project's root: a probe of what a
    process loads sees only its own imports. A failure shows the child's stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def push_seed_images(pusher: ImagePusher, flask_repo: str) -> None:
    """The seed's images as they were before develop-v1.9.0: nginx 1.16-perl, flask 1.8.0."""
    pusher.push_image("library/nginx", "1.16-perl", created=T0 - timedelta(days=900))
    pusher.push_image(flask_repo, "develop-v1.8.0", created=T0)


def mirror_config(tmp_path: Path, registry: RegistryServer, extra: str = "") -> Path:
    """Settings that make the rig registry stand in for docker.io (the seed uses Hub names)."""
    config = tmp_path / "imagebot-test.yaml"
    config.write_text(
        f"registries:\n  hosts:\n    docker.io:\n      mirror: {registry.host}\n{extra}"
    )
    return config


def workload(
    name: str, image: str, policy: str, *, locked: bool = False, kind: str = "Deployment"
) -> str:
    """An automated workload with one container ``app`` running ``image`` under ``policy``."""
    lock = (
        "    imagebot.io/locked: 'true'\n    imagebot.io/locked_msg: incident 42\n"
        if locked
        else ""
    )
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  annotations:\n"
        f"    imagebot.io/automated: 'true'\n    imagebot.io/tag.app: '{policy}'\n{lock}"
        f"spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: {image}  # keep this comment\n"
    )
