"""Benchmark the registry client's request budget against a real registry from the test rig.

Pushes REPOS x TAGS images (each tag its own config blob and creation time), then runs a cold
cycle and a steady-state cycle of a glob policy that needs creation times, and prints wall time
and requests by kind as the registry's access log saw them and as the client counted them.
Targets: cold fetches each config blob at most once; steady state is one list per repository,
no manifest or blob GETs, under 2 s.  Run: .venv/bin/python bench/registry.py [--repos N --tags M]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imagebot.config import RateLimit, RegistryHost, RegistrySettings
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery
from tests.rig.images import ImagePusher
from tests.rig.registry import LoggedRequest, RegistryServer, start_registry

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
GLOB = "build-*"
DECOYS = ("latest", "main-3f2c1ab", "1.0.0", "1.0.0-rc1", "stable")


def push_all(server: RegistryServer, repos: int, tags: int) -> list[str]:
    names = [f"team/svc{i:03d}" for i in range(repos)]
    builds = max(0, tags - len(DECOYS))

    def one(index: int) -> None:
        # A distinct time per repository and tag: every image has its own config blob.
        start = T0 + dt.timedelta(days=3 * index)
        times = {f"build-{j:03d}": start + dt.timedelta(hours=j) for j in range(builds)}
        times |= {
            d: start - dt.timedelta(days=k + 1) for k, d in enumerate(DECOYS[: tags - builds])
        }
        with ImagePusher(server) as pusher:
            pusher.push_tags(names[index], times, workers=4)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(repos)))
    return names


def by_kind(entries: list[LoggedRequest]) -> Counter[str]:
    labels = {("GET", "tags"): "list", ("HEAD", "manifest"): "HEAD manifest",
              ("GET", "manifest"): "GET manifest", ("GET", "blob"): "GET blob"}  # fmt: skip
    return Counter(labels.get((e.method, e.kind), f"{e.method} {e.kind}") for e in entries)


def cycle(
    label: str, server: RegistryServer, client: RegistryClient, names: list[str]
) -> list[LoggedRequest]:
    wants = re.compile(fnmatch.translate(GLOB)).fullmatch
    queries = [
        RepoQuery(
            parse_reference(f"{server.host}/{name}:build-000"), True, lambda t: bool(wants(t))
        )
        for name in names
    ]
    before = len(server.request_log())
    started = time.perf_counter()
    scans = client.scan(queries)
    elapsed = time.perf_counter() - started
    served = server.request_log()[before:]
    problems = [s.problem for s in scans.values() if s.problem]
    timed = sum(1 for s in scans.values() for t in s.tags if t.created is not None)
    print(f"\n{label}: {elapsed:.2f} s for {len(names)} repositories, {timed} tags with times")
    print(f"  registry access log: {dict(sorted(by_kind(served).items()))}")
    print(f"  client stats:        {dict(sorted(client.stats.by_kind().items()))}")
    if problems:
        print(f"  problems: {len(problems)}, first: {problems[0]}")
    return served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--tags", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-") as work:
        server = start_registry(Path(work) / "registry")
        try:
            started = time.perf_counter()
            names = push_all(server, options.repos, options.tags)
            print(f"pushed {options.repos} x {options.tags} images "
                  f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
            host = RegistryHost(server.host, rate_limit=RateLimit(16, 100_000))
            settings = RegistrySettings(hosts=(host,), docker_config="/nonexistent")
            cache_dir = Path(work) / "cache"

            cold = cycle("cold cycle", server, RegistryClient(settings,
                         cache=MetadataCache(cache_dir)), names)  # fmt: skip
            blobs = Counter(e.path for e in cold if e.method == "GET" and e.kind == "blob")
            print(f"  config blobs fetched: {sum(blobs.values())} for {len(blobs)} distinct "
                  f"(max per blob {max(blobs.values(), default=0)})")  # fmt: skip

            # The next cycle in a new process: a new client sharing only the cache directory.
            steady_client = RegistryClient(settings, cache=MetadataCache(cache_dir))
            steady = cycle("steady-state cycle (new client, same cache dir)", server,
                           steady_client, names)  # fmt: skip
            kinds = by_kind(steady)
            ok = kinds == Counter({"list": len(names)})
            print(f"\nsteady state is one list per repository and nothing else: {ok}")
            return 0 if ok and max(blobs.values(), default=0) <= 1 else 1
        finally:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
