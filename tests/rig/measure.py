"""Time the rig: start-up of every server, a 100-tag push, and what is left running afterwards.

Run from the repository root: `.venv/bin/python -m tests.rig.measure`. It prints one line per
figure (the numbers in docs/testing.md come from it). It is a measurement, not a test: no asserts.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.rig.git import start_git_http_server, start_ssh_git_server
from tests.rig.images import ImagePusher
from tests.rig.procs import live_processes
from tests.rig.registry import start_registry
from tests.rig.tokenserver import signing_identity


def timed(label: str, action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed * 1000:8.1f} ms")
    return elapsed, result


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="imagebot-rig-measure-"))
    stoppers: list[Callable[[], None]] = []
    total = 0.0
    # The token server's RSA key is made once per process; count it as part of start-up.
    starters: list[tuple[str, Callable[[], object]]] = [
        ("token key + certificate", signing_identity),
        ("registry (plain)", lambda: start_registry(base / "plain")),
        ("registry (basic auth)", lambda: start_registry(base / "basic", auth="basic")),
        ("registry (token auth + server)", lambda: start_registry(base / "token", auth="token")),
        ("git smart-HTTP server", lambda: start_git_http_server(base / "http")),
        (
            "git smart-HTTP server (basic)",
            lambda: start_git_http_server(base / "hb", basic_auth=True),
        ),
        ("sshd (keys, config, banner)", lambda: start_ssh_git_server(base / "ssh")),
    ]
    for label, start in starters:
        elapsed, server = timed(label, start)
        total += elapsed
        if hasattr(server, "stop"):
            stoppers.append(server.stop)
    print(f"{'all servers':<34} {total * 1000:8.1f} ms")

    with_registry = start_registry(base / "push")
    pusher = ImagePusher(with_registry)
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tags = {f"v{i}": when + dt.timedelta(minutes=i) for i in range(100)}
    timed("push_tags: 100 tags", lambda: pusher.push_tags("bench/bulk", tags))
    timed(
        "push_image x 100 (one by one)",
        lambda: [pusher.push_image("bench/serial", t, created=c) for t, c in tags.items()],
    )
    timed("read back 100 created times", lambda: [pusher.config("bench/bulk", t) for t in tags])
    pusher.close()
    stoppers.append(with_registry.stop)

    pids = [p.pid for p in live_processes()]
    for stop in stoppers:
        stop()
    # Other test runs may share the machine, so look for *our* pids, not for any registry.
    left = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    print(f"server processes started: {len(pids)}, still running after stop: {left or 'none'}")


if __name__ == "__main__":
    main()
