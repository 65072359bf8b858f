"""Benchmark `imagebot run` end to end: 500 manifests, 100 repositories, the real CLI process.

Pushes semver and glob repositories to a rig registry, builds a bare repo of workloads of several
kinds at older tags, then runs `imagebot run --output json` twice with one XDG_CACHE_HOME: a cold
run that updates, and a steady-state run that finds nothing to do. Prints wall time, peak RSS and
requests by kind (registry access log and imagebot's own count). Exits 1 when a target is missed:
steady state under 3 s, one tags/list per repository, no manifest or blob GETs.
Run: .venv/bin/python bench/run.py [--manifests 500 --repos 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import isolated_env  # noqa: E402
from tests.rig import LoggedRequest, RegistryServer, running_registry  # noqa: E402
from tests.rig.git import make_bare_repo, run_git  # noqa: E402

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SEMVER_TAGS = [f"1.{minor}.{patch}" for minor in range(6) for patch in range(4)]
SEMVER_DECOYS = ("2.0.0-rc1", "1.5.3-alpine", "latest")
GLOB_TAGS = [f"build-{n:03d}" for n in range(12)]
GLOB_DECOYS = ("latest", "main-3f2c1ab", "1.0.0")
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob")
STEADY_LIMIT_SECONDS = 3.0


def repo_name(index: int) -> str:
    return f"bench/svc{index:03d}"


def is_semver(index: int) -> bool:
    return index % 2 == 0


def push_all(server: RegistryServer, repos: int) -> None:
    """Semver repositories on even indexes, glob (newest build by creation time) on odd ones."""
    from tests.rig import ImagePusher

    def one(index: int) -> None:
        start = T0 + dt.timedelta(days=index)
        tags = [*SEMVER_TAGS, *SEMVER_DECOYS] if is_semver(index) else [*GLOB_TAGS, *GLOB_DECOYS]
        # Decoys come last, so they are the newest: a time-ordered policy must still skip them.
        times = {tag: start + dt.timedelta(hours=n) for n, tag in enumerate(tags)}
        with ImagePusher(server) as pusher:
            pusher.push_tags(repo_name(index), times, workers=4)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(repos)))


def container(name: str, host: str, index: int, serial: int) -> tuple[str, str, str]:
    """(container yaml, policy annotation, expected new image or "") for one container."""
    fresh = serial % 5 == 0  # about one in five is already at the newest tag
    if is_semver(index):
        policy = "semver:*" if serial % 2 else "semver:~1"
        tag, newest = ("1.5.3" if fresh else SEMVER_TAGS[serial % 20]), "1.5.3"
    else:
        policy = "glob:build-*"
        tag, newest = (GLOB_TAGS[-1] if fresh else GLOB_TAGS[serial % 8]), GLOB_TAGS[-1]
    image = f"{host}/{repo_name(index)}"
    body = f"      - name: {name}\n        image: {image}:{tag}\n"
    annotation = f"    imagebot.io/tag.{name}: '{policy}'\n"
    return body, annotation, "" if tag == newest else f"{image}:{newest}"


def manifest(number: int, host: str, repos: int) -> tuple[bytes, list[str]]:
    """One workload file (every 3rd with a Service, every 4th with a sidecar) and its updates."""
    kind = KINDS[number % len(KINDS)]
    parts = [container("app", host, number % repos, number)]
    if number % 4 == 3:
        parts.append(container("agent", host, (number * 7 + 3) % repos, number + 1))
    indent = "    " * (2 if kind == "CronJob" else 0)
    head = "spec:\n  jobTemplate:\n    spec:\n      template:\n" if kind == "CronJob" else ""
    spec = head or "spec:\n  template:\n"
    containers = "".join(
        "\n".join(indent + line if line else line for line in body.split("\n"))
        for body, _, _ in parts
    )
    text = (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: svc-{number:04d}\n"
        f"  annotations:\n    imagebot.io/automated: 'true'\n"
        + "".join(a for _, a, _ in parts)
        + spec
        + f"{indent}    spec:\n{indent}      containers:\n{containers}"
    )
    if number % 3 == 0:
        text += (
            f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{number:04d}\n"
            "spec:\n  ports:\n  - port: 80  # the workload's port\n"
        )
    return text.encode(), [new for _, _, new in parts if new]


@dataclass(frozen=True, slots=True)
class Measured:
    wall: float
    rss_mb: float
    code: int
    result: dict[str, Any]
    stderr: str
    served: list[LoggedRequest]


# Linux hands a process that calls exec the high-water RSS of the memory it ran in, and a
# vfork()ed child runs in its parent's: wait4 on a child of this (large) process would report our
# RSS, not imagebot's. A small launcher forks and execs imagebot and reports its wait4 figures.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - started} {usage.ru_maxrss} {code}")
"""


def measure(server: RegistryServer, args: list[str], env: dict[str, str], work: Path) -> Measured:
    """Run imagebot in a child process: wall time, peak RSS (its largest single process)."""
    before = len(server.request_log())
    out, err, stats = work / "stdout.json", work / "stderr.txt", work / "wait4.txt"
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(stats)]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        subprocess.run([*launcher, *args], stdout=stdout, stderr=stderr, env=env, check=True)
    wall, max_rss_kb, code = stats.read_text().split()
    text = out.read_text()
    result = json.loads(text) if text.strip() else {}
    served = server.request_log()[before:]
    return Measured(float(wall), int(max_rss_kb) / 1024, int(code), result, err.read_text(), served)


def by_kind(entries: list[LoggedRequest]) -> Counter[str]:
    return Counter(f"{e.method} {e.kind}" for e in entries)


def report(label: str, run: Measured) -> None:
    changes = run.result.get("changes", [])
    problems, commit = run.result.get("problems", []), str(run.result.get("commit"))[:12]
    print(f"\n{label}: exit {run.code}, {run.wall:.2f} s wall, {run.rss_mb:.1f} MB peak RSS, "
          f"{len(changes)} changes, {len(problems)} problems, commit {commit}, "
          f"pushed {run.result.get('pushed')}")  # fmt: skip
    print(f"  registry access log: {dict(sorted(by_kind(run.served).items()))}")
    print(f"  imagebot's count:    {dict(sorted(run.result.get('requests', {}).items()))}")
    if run.code != 0:
        print(f"  stderr: {run.stderr.strip()[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=500)
    parser.add_argument("--repos", type=int, default=100)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-run-") as scratch:
        work = Path(scratch)
        with running_registry(work / "registry") as (server, _):
            started = time.perf_counter()
            push_all(server, options.repos)
            print(f"pushed {options.repos} repositories in {time.perf_counter() - started:.1f} s")
            files, expected = {}, []
            for n in range(options.manifests):
                files[f"apps/svc-{n:04d}.yaml"], updates = manifest(n, server.host, options.repos)
                expected += updates
            remote = make_bare_repo(work / "remote.git", files)
            used = {repo_name(n % options.repos) for n in range(options.manifests)}
            used |= {repo_name((n * 7 + 3) % options.repos) for n in range(3, options.manifests, 4)}
            print(f"{len(files)} manifests, {len(used)} repositories, {len(expected)} updates due")

            env = isolated_env(work)
            imagebot = str(Path(sys.executable).parent / "imagebot")
            args = [imagebot, "run", "--repo", remote.as_uri(), "--branch", "main",
                    "--output", "json"]  # fmt: skip
            cold = measure(server, args, env, work)
            report("cold run (fresh cache, updates due)", cold)
            steady = measure(server, args, env, work)
            report("steady-state run (same cache, nothing to do)", steady)

        head = run_git("--git-dir", str(remote), "log", "--format=%s", "main").splitlines()
        print(f"\nremote main: {len(head)} commits, newest: {head[0]!r}")
        got = sorted(c["new"] for c in cold.result.get("changes", []))
        kinds = by_kind(steady.served)
        checks = {
            "cold run applied every due update": got == sorted(expected),
            "cold run made one commit": len(head) == 2,
            "steady state changed nothing": not steady.result.get("changes")
            and not steady.result.get("commit"),
            f"steady state under {STEADY_LIMIT_SECONDS:.0f} s": steady.wall < STEADY_LIMIT_SECONDS,
            "steady state: one tags/list per repository": kinds["GET tags"] == len(used),
            "steady state: nothing but tags/list": set(kinds) == {"GET tags"},
            "both runs exit 0": cold.code == 0 and steady.code == 0,
        }
        for name, ok in checks.items():
            print(f"  {'ok  ' if ok else 'MISS'} {name}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
