"""The handlers over the real reconcile, the rig's registry and a real Git remote, cycle by cycle.

A timer cycle in which neither the files nor the registry's answers moved is skipped: no commit,
no event, only ``lastRunTime`` moves; a new tag makes the next one work again. (The cycle after a
commit runs in full once: its fingerprint is of the files before they were rewritten.) In front
of the registry sits a small proxy that adds Docker Hub's ``ratelimit-*`` headers (the rig's
registry sends none), so the pull-quota gauges are fed by the real client through the controller;
switched to ``refusing`` it answers 429 with ``Retry-After: 120`` instead, as a quota spent does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kopf
import pytest
import requests

from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from imagebot.controller.registries import build_client, operator_registries
from tests.controller_support import NOW, body, push_seed_images, seed_manifest, seeded_api
from tests.kube_emulator import RunningApi
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

pytestmark = pytest.mark.slow
NEWER = datetime(2024, 3, 1, tzinfo=UTC)
LIMIT = 100


class QuotaProxy:
    """Forwards GET/HEAD to a registry and answers with a pull quota that each manifest GET
    spends, the way Docker Hub counts pulls; while ``refusing``, a 429 for every request."""

    def __init__(self, upstream: str) -> None:
        self.remaining = LIMIT
        self.refusing = False
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward("GET")

            def do_HEAD(self) -> None:
                self._forward("HEAD")

            def _forward(self, method: str) -> None:
                if proxy.refusing:
                    proxy.refused += 1
                    self.send_response(429)
                    self.send_header("Retry-After", "120")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(
                    method, upstream + self.path, headers=headers, allow_redirects=False, timeout=5
                )
                if method == "GET" and "/manifests/" in self.path:
                    proxy.remaining -= 1
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Docker-Content-Digest", "Location", "Link"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.send_header("ratelimit-limit", f"{LIMIT};w=21600")
                self.send_header("ratelimit-remaining", f"{proxy.remaining};w=21600")
                self.end_headers()
                if method == "GET":
                    self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test's output is not the place for an access log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[QuotaProxy]:
    running = QuotaProxy(registry.url)
    yield running
    running.stop()


class Clock:
    """The controller's wall clock, moved on by hand between cycles."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        """The same clock for the registry client (Retry-After, token lifetimes)."""
        return self.now.timestamp()


def head(remote: Path) -> str:
    return run_git("--git-dir", str(remote), "rev-parse", "main").strip()


@pytest.mark.asyncio
async def test_an_unchanged_timer_cycle_is_skipped_and_a_new_tag_ends_the_skipping(
    api: RunningApi,
    proxy: QuotaProxy,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(proxy.host, unique_repo)})
    clock, metrics = Clock(), Metrics()
    events: list[tuple[str, str]] = []
    ctl = Controller(  # with the real reconcile
        cluster=Cluster(api.client()),
        metrics=metrics,
        emit=lambda obj, type_, reason, message: events.append((obj["kind"], message)),
        clock=clock,
        cache_root=tmp_path / "cache",
    )
    spec: dict[str, Any] = {
        "interval": "5m",
        "git": {"url": f"file://{remote}", "branch": "main"},
        "registries": {"hosts": [{"host": proxy.host, "insecure": True}]},
    }

    async def cycle(status: dict[str, Any], *, force: bool) -> dict[str, Any]:
        patch = kopf.Patch()
        await ctl.cycle(body=body(status=status, **spec), patch=patch, force=force)
        return {**status, **patch["status"]}

    first = await cycle({}, force=True)
    assert first["lastPushedCommit"] == head(remote)
    assert first["observedFingerprint"]
    assert (
        "Deployment",
        f"imagebot committed flask develop-v1.9.0 in {head(remote)[:7]}",
    ) in events
    posted = len(events)

    clock.now += timedelta(minutes=6)
    settled = await cycle(first, force=False)  # sees the files as imagebot left them
    assert settled["conditions"][0]["reason"] == "UpToDate"
    assert settled["observedFingerprint"] != first["observedFingerprint"]

    clock.now += timedelta(minutes=6)
    pulls_before = proxy.remaining
    patch = kopf.Patch()
    await ctl.cycle(body=body(status=settled, **spec), patch=patch, force=False)
    assert patch["status"] == {
        "lastRunTime": clock.now.isoformat(),
        "observedRevision": first["lastPushedCommit"],
    }
    assert len(events) == posted
    assert proxy.remaining == pulls_before  # tags listed again, no manifest pulled
    assert head(remote) == first["lastPushedCommit"]
    second = {**settled, **patch["status"]}

    pusher.push_tags(f"{unique_repo}/flaskapp", {"develop-v2.0.0": NEWER})
    clock.now += timedelta(minutes=6)
    third = await cycle(second, force=False)
    assert third["lastPushedCommit"] == head(remote) != first["lastPushedCommit"]
    assert "flaskapp:develop-v2.0.0" in run_git(
        "--git-dir", str(remote), "show", "main:deployment.yaml"
    )

    def sample(metric: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(metric, labels)

    labels = {"namespace": "my-demo", "name": "seed"}
    assert sample("imagebot_cycles_total", outcome="ok", **labels) == 3
    assert sample("imagebot_cycles_total", outcome="skipped", **labels) == 1
    assert sample("imagebot_commits_pushed_total", **labels) == 2
    assert sample("imagebot_registry_pull_quota_remaining", host=proxy.host) == proxy.remaining
    assert sample("imagebot_registry_pull_quota_spent", host=proxy.host) == LIMIT - proxy.remaining
    assert proxy.remaining < LIMIT


@pytest.mark.asyncio
async def test_a_429_keeps_the_host_shut_for_the_backoff_cycles_until_retry_after_has_passed(
    api: RunningApi,
    proxy: QuotaProxy,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    # The bug: a client per cycle forgot the 429, so kopf's retry 10 s later hit the host again.
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(proxy.host, unique_repo)})
    clock, metrics = Clock(), Metrics()
    ctl = Controller(
        cluster=Cluster(api.client()),
        metrics=metrics,
        emit=lambda obj, type_, reason, message: None,
        clock=clock,
        cache_root=tmp_path / "cache",
        registries=operator_registries(lambda s: build_client(s, clock=clock.seconds)),
    )
    spec: dict[str, Any] = {
        "git": {"url": f"file://{remote}", "branch": "main"},
        "registries": {"hosts": [{"host": proxy.host, "insecure": True}]},
    }
    start = head(remote)

    def refused_requests() -> float | None:
        labels = {"host": proxy.host, "kind": "list", "status": "429"}
        return metrics.registry.get_sample_value("imagebot_registry_requests_total", labels)

    async def cycle(retry: int) -> dict[str, Any]:
        patch = kopf.Patch()
        with pytest.raises(kopf.TemporaryError):
            await ctl.cycle(body=body(**spec), patch=patch, retry=retry, force=False)
        return dict(patch["status"])

    proxy.refusing = True
    first = await cycle(0)
    refused = proxy.refused  # both repositories may be in flight when the first 429 lands
    assert refused in (1, 2)
    assert refused_requests() == refused

    for retry in (1, 2):  # kopf's backoff retries, well inside the two minutes
        clock.now += timedelta(seconds=10)
        again = await cycle(retry)
        assert again["conditions"][0]["reason"] == first["conditions"][0]["reason"]
    assert proxy.refused == refused, "the retries answered stale from the block, not the host"
    assert refused_requests() == refused, "each cycle counts only its own requests"

    proxy.refusing = False
    clock.now += timedelta(seconds=101)  # 121 s after the 429
    patch = kopf.Patch()
    await ctl.cycle(body=body(**spec), patch=patch, retry=3, force=False)
    assert patch["status"]["lastPushedCommit"] == head(remote) != start

    ctl.forget("my-demo", "seed")
    assert ctl.remembered() == set()
