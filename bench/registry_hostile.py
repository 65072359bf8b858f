"""Benchmark how fast hostile registries become a problem for their image, and what it costs.

A loopback raw-socket registry (tests/test_registry_faults.py's) answers 20 good repositories
and one hostile one per case: bytes trickled one every 50 ms (headers, or a body), a tag list
nested 100,000 deep, a 100 MB chunked tag list, ``Link`` headers of 8 and 64 KiB. Each case is
one ``scan`` with ``timeoutSeconds`` 2; it prints the wall time, the hostile repository's
problem, and that the good ones were listed. Targets: a trickle ends within timeoutSeconds + 1 s;
every other case within 1 s. Then the deadline's own cost: 2,000 sequential requests to a quick
route, with the deadline machinery and with a plain adapter.
Run: .venv/bin/python bench/registry_hostile.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from requests.adapters import HTTPAdapter

from imagebot.config import RegistrySettings
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery
from tests.test_registry_faults import (
    Connection,
    RawServer,
    trickled_body,
    trickled_headers,
)

TIMEOUT = 2.0
GOOD = 20


def answer(body: bytes, extra: bytes = b"") -> Callable[[Connection], None]:
    def send(conn: Connection) -> None:
        conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + extra
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    return send


def huge_chunked(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.send(b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    chunk = b" " * (1 << 20)
    for _ in range(100):
        conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    conn.send(b"0\r\n\r\n")


GOOD_TAGS = answer(b'{"name": "x", "tags": ["1.0", "1.1"]}')
CASES: dict[str, tuple[Callable[[Connection], None], float]] = {
    "trickled headers": (trickled_headers, TIMEOUT + 1),
    "trickled body": (trickled_body, TIMEOUT + 1),
    "tag list 100,000 deep": (answer(b"[" * 100_000 + b"]" * 100_000), 1.0),
    "100 MB chunked tag list": (huge_chunked, 1.0),
    "8 KiB hostile Link header (read)": (
        answer(b'{"tags": ["1.0"]}', b"Link: " + b"<a>;" * 2047 + b"\r\n"),
        1.0,
    ),
    "64 KiB hostile Link header (refused)": (
        answer(b'{"tags": ["1.0"]}', b"Link: " + b"<a>;" * 16000 + b"\r\n"),
        1.0,
    ),
}


def scan_case(handler: Callable[[Connection], None]) -> tuple[float, str, int]:
    routes = {f"/v2/team/good{i}/": GOOD_TAGS for i in range(GOOD)}
    server = RawServer({"/v2/team/bad/": handler, **routes})
    settings = RegistrySettings(
        docker_config="/nonexistent", timeout_seconds=TIMEOUT, max_retries=0
    )
    client = RegistryClient(settings, cache=MetadataCache(None), workers=8)
    queries = [RepoQuery(parse_reference(f"{server.host}/team/bad:1.0"))] + [
        RepoQuery(parse_reference(f"{server.host}/team/good{i}:1.0")) for i in range(GOOD)
    ]
    try:
        started = time.perf_counter()
        scans = client.scan(queries)
        elapsed = time.perf_counter() - started
    finally:
        client.close()
        server.close()
    bad = scans[queries[0].image.name]
    listed = sum(1 for q in queries[1:] if scans[q.image.name].tags)
    return elapsed, (bad.problem or "none: tags listed")[:90], listed


def overhead(count: int = 2000) -> tuple[float, float]:
    server = RawServer({"/v2/": GOOD_TAGS})
    settings = RegistrySettings(docker_config="/nonexistent", timeout_seconds=TIMEOUT)
    image = parse_reference(f"{server.host}/team/app:1.0")
    timings: list[float] = []
    try:
        for plain in (False, True):
            session: requests.Session | None = None
            if plain:
                session = requests.Session()
                session.mount("http://", HTTPAdapter())
            client = RegistryClient(settings, session=session, cache=MetadataCache(None))
            started = time.perf_counter()
            for _ in range(count):
                client.scan([RepoQuery(image)])
            timings.append((time.perf_counter() - started) / count * 1000)
            client.close()
    finally:
        server.close()
    return timings[0], timings[1]


def main() -> int:
    missed = False
    print(f"| case (timeoutSeconds {TIMEOUT:g}) | s | target | good listed | problem |")
    print("|---|---|---|---|---|")
    for name, (handler, target) in CASES.items():
        elapsed, problem, listed = scan_case(handler)
        ok = elapsed < target and listed == GOOD
        missed |= not ok
        print(f"| {name} | {elapsed:.2f} | < {target:g} | {listed}/{GOOD} | {problem} |")
    with_deadline, plain = overhead()
    print(
        f"\nper request (scan of one repository, 2,000 in a row): deadline {with_deadline:.2f} ms,"
    )
    print(f"plain adapter {plain:.2f} ms")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
