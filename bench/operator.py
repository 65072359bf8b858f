"""The operator process as deploy/ runs it: time from start to Ready, and its peak RSS idle and
with N automations (50 by default), git children apart.

    .venv/bin/python bench/operator.py [--automations N]

The rig serves everything on loopback: a registry with the seed scenario's images, one bare Git
remote per automation, and the kmock API emulator (tests/kube_emulator.py) behind a kubeconfig
with a bearer token. The operator is ``python -m imagebot`` with the Deployment's own args
(``--webhook-port`` swapped for a free port), logged in through that kubeconfig. Peak RSS is the
operator's ``VmHWM`` from /proc: git runs in child processes, which it does not count.
Figures: "start to /readyz" (the probe answers), "start to Ready" (the first automation's
``Ready=True``, a pushed commit) and "N automations Ready" (every one of them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.controller_support import (  # noqa: E402
    apply_deploy_namespaces,
    deployment_args,
    push_seed_images,
    seed_manifest,
)
from tests.kube_emulator import RunningApi  # noqa: E402
from tests.rig.bare import make_bare_repo  # noqa: E402
from tests.rig.images import ImagePusher  # noqa: E402
from tests.rig.procs import free_port, spawn, stop, tail  # noqa: E402
from tests.rig.registry import start_registry  # noqa: E402


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (``VmHWM``), children not included."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def wait(what: str, probe: Callable[[], Any], log: Path, timeout: float = 300.0) -> float:
    """Seconds until ``probe`` is truthy (polled every 50 ms)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}:\n{tail(log, 3000)}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--automations", type=int, default=50)
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="imagebot-bench-operator-"))
    registry = start_registry(base / "registry")
    pusher = ImagePusher(registry)
    push_seed_images(pusher, "bench")
    api = RunningApi().start()
    port = free_port()
    args = deployment_args(port)
    namespace = args[args.index("--namespace") + 1]
    http = api.session
    apply_deploy_namespaces(api)
    if "--peering" in args:
        peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering"}
        peering["metadata"] = {"name": args[args.index("--peering") + 1]}  # type: ignore[assignment]
        url = f"{api.url}/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings"
        http.post(url, json=peering, timeout=5).raise_for_status()
    manifest = seed_manifest(registry.host, "bench")
    remotes = [
        make_bare_repo(base / f"remote-{i}.git", {"deployment.yaml": manifest})
        for i in range(options.automations)
    ]
    kubeconfig = api.write_kubeconfig(base / "kubeconfig", token_file=True)
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")},
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(base / "home"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    log = base / "operator.log"
    automations = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/{namespace}/imageautomations"

    def ready(name: str) -> bool:
        found = http.get(f"{automations}/{name}", timeout=5).json()
        conditions = found.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def create(index: int) -> None:
        body = {
            "apiVersion": "imagebot.io/v1alpha1",
            "kind": "ImageAutomation",
            "metadata": {"name": f"a{index}"},
            "spec": {
                "interval": "1h",
                "git": {"url": f"file://{remotes[index]}", "branch": "main"},
                "registries": {"hosts": [{"host": registry.host, "insecure": True}]},
            },
        }
        http.post(automations, json=body, timeout=5).raise_for_status()

    start = time.monotonic()
    operator = spawn(
        [sys.executable, "-m", "imagebot", *args], stdout=base / "out", stderr=log, env=environ
    )
    try:
        probe = wait("/readyz", lambda: answers(f"http://127.0.0.1:{port}/readyz"), log)
        time.sleep(2.0)  # let the watches settle: idle means logged in and watching
        idle = peak_rss_mib(operator.pid)
        before_first = time.monotonic()
        create(0)
        wait("the first Ready", lambda: ready("a0"), log)
        first_ready = time.monotonic() - start
        first_alone = time.monotonic() - before_first
        before_rest = time.monotonic()
        for index in range(1, options.automations):
            create(index)
        names = [f"a{i}" for i in range(options.automations)]
        wait("every Ready", lambda: all(ready(n) for n in names), log)
        every = time.monotonic() - before_rest
        loaded = peak_rss_mib(operator.pid)
    finally:
        stop(operator, grace=10)
        pusher.close()
        registry.stop()
        api.stop()
    print(f"operator args                     {' '.join(args)}")
    print(f"start to /readyz                  {probe:.2f} s")
    print(f"start to Ready (first automation) {first_ready:.2f} s ({first_alone:.2f} s its cycle)")
    print(f"{options.automations - 1} more automations Ready         {every:.2f} s")
    print(f"peak RSS idle                     {idle:.1f} MiB")
    print(f"peak RSS, {options.automations} automations          {loaded:.1f} MiB")


if __name__ == "__main__":
    main()
