"""The operator process as deploy/ runs it: time from start to Ready, its peak RSS idle and
with N automations (50 by default), git children apart, and its registry requests per interval.

    .venv/bin/python bench/operator.py [--automations N] [--shared 20] [--own 2]
        [--interval 60] [--intervals 2]

Each automation names the same ``--shared`` repositories plus ``--own`` of its own (50 x 2 + 20 =
120 distinct by default), every image under a semver policy (so a cycle's requests are its tag
lists). Once every automation is Ready, the registry's access log is read over ``--intervals``
intervals of ``--interval`` seconds (the automations' ``spec.interval``): with the registry
answers shared, requests per interval equal the number of distinct repositories (a client per
automation made them 50 x 22 = 1,100). To keep that window short the operator gets
``--interval-tick 2`` on top of the Deployment's args: the tick is how late a due cycle may
start, not how often it runs.

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
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.controller_support import (  # noqa: E402
    OLD,
    apply_deploy_namespaces,
    deployment_args,
    fleet_manifest,
)
from tests.kube_emulator import RunningApi  # noqa: E402
from tests.rig.bare import make_bare_repo  # noqa: E402
from tests.rig.images import ImagePusher  # noqa: E402
from tests.rig.procs import free_port, spawn, stop, tail  # noqa: E402
from tests.rig.registry import LoggedRequest, start_registry  # noqa: E402


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
    parser.add_argument("--shared", type=int, default=20, help="repositories every one names")
    parser.add_argument("--own", type=int, default=2, help="repositories each names alone")
    parser.add_argument("--interval", type=int, default=60, help="spec.interval, seconds")
    parser.add_argument("--intervals", type=int, default=2, help="intervals to count over")
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="imagebot-bench-operator-"))
    registry = start_registry(base / "registry")
    pusher = ImagePusher(registry)
    shared = [f"bench/shared-{k}" for k in range(options.shared)]
    own = [[f"bench/own-{i}-{k}" for k in range(options.own)] for i in range(options.automations)]
    distinct = shared + [repo for repos in own for repo in repos]
    for repo in distinct:
        pusher.push_tags(repo, {"1.0.0": OLD})
    api = RunningApi().start()
    port = free_port()
    args = [*deployment_args(port), "--interval-tick", "2"]
    namespace = args[args.index("--namespace") + 1]
    http = api.session
    apply_deploy_namespaces(api)
    if "--peering" in args:
        peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering"}
        peering["metadata"] = {"name": args[args.index("--peering") + 1]}  # type: ignore[assignment]
        url = f"{api.url}/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings"
        http.post(url, json=peering, timeout=5).raise_for_status()
    remotes = [
        make_bare_repo(
            base / f"remote-{i}.git",
            {
                "deployment.yaml": fleet_manifest(
                    f"app-{i}", [f"{registry.host}/{repo}:1.0.0" for repo in shared + own[i]]
                )
            },
        )
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
                "interval": f"{options.interval}s",
                "git": {"url": f"file://{remotes[index]}", "branch": "main"},
                "registries": {"hosts": [{"host": registry.host, "insecure": True}]},
            },
        }
        http.post(automations, json=body, timeout=5).raise_for_status()

    pushed = len(registry.request_log())  # the pusher's requests: not the operator's
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
        creation = requests_by_kind(registry.request_log()[pushed:])
        # The window opens an interval after the first creation: each repository's next list
        # then falls inside it however the creations were spread, and k lists fall in k
        # intervals (a window opened at any moment may cut one off at either end).
        time.sleep(max(0.0, before_first + options.interval - time.monotonic()))
        seen = len(registry.request_log())
        time.sleep(options.interval * options.intervals)
        window = registry.request_log()[seen:]
        steady = requests_by_kind(window)
        per_repo = Counter(r.repo for r in window if r.kind == "tags")
        held = peak_rss_mib(operator.pid)
        now_rss = rss_mib(operator.pid)
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
    n = options.intervals
    print(f"distinct repositories             {len(distinct)}")
    print(f"registry requests while creating  {dict(creation)}")
    print(f"registry requests per interval    {sum(steady.values()) / n:.1f} {dict(steady)} / {n}")
    print(f"tags/list per interval            {steady['tags'] / n:.1f}")
    lists = sorted(Counter(per_repo.values()).items())
    print(f"repositories by lists in window   {dict(lists)} ({len(per_repo)} listed)")
    print(f"peak RSS after {n} intervals       {held:.1f} MiB ({held * 1.048576:.1f} MB)")
    print(f"RSS now                           {now_rss:.1f} MiB")


def requests_by_kind(entries: list[LoggedRequest]) -> Counter[str]:
    return Counter(entry.kind for entry in entries)


def rss_mib(pid: int) -> float:
    """The process's resident set now (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc")


if __name__ == "__main__":
    main()
