"""Retry-After that survives: across cycles (the token server's 429 included) and across runs,
through a 0600 file under the cache dir holding host -> blocked-until and nothing else. The bug:
`run --interval` forgot a 429's Retry-After (after one asking 120 s it made 6 requests in 11 s),
and every new run asked the host again at once."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
import responses

from imagebot.config import RegistrySettings
from imagebot.reconcile.registries import RegistryClients
from imagebot.registry import MetadataCache, RegistryClient
from imagebot.registry.blocks import FILE_NAME, MAX_BLOCK_SECONDS, MAX_HOSTS, BlockStore
from tests.run_support import imagebot
from tests.support import FakeClock
from tests.test_registry_faults import Connection, RawServer
from tests.test_registry_http import HOST, query, tags_url

pytestmark = pytest.mark.timeout(60)
WALL = 1_800_000_000.0


@dataclass
class Wall:
    """The wall clock a run reads for blocks that outlive it."""

    now: float = WALL

    def __call__(self) -> float:
        return self.now


def client(cache: Path, clock: FakeClock, wall: Wall) -> RegistryClient:
    settings = RegistrySettings(docker_config="/nonexistent/config.json", max_retries=0)
    return RegistryClient(
        settings,
        session=requests.Session(),
        cache=MetadataCache(cache),
        sleep=clock.sleep,
        clock=clock,
        wall=wall,
        workers=1,
    )


def test_a_429_keeps_the_host_shut_for_the_next_run_until_retry_after_has_passed(
    tmp_path: Path,
) -> None:
    wall = Wall()
    with responses.RequestsMock() as mock:
        mock.get(tags_url("team/app"), status=429, headers={"Retry-After": "120"})
        first = client(tmp_path, FakeClock(), wall).scan([query("team/app")])
        assert len(mock.calls) == 1
    assert first[f"{HOST}/team/app"].stale

    wall.now += 60  # a new run: a fresh client (and monotonic clock) on the same cache dir
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(tags_url("team/app"), json={"tags": ["1.0"]})
        second = client(tmp_path, FakeClock(now=5.0), wall).scan([query("team/app")])
        assert len(mock.calls) == 0, "no request to that host before its Retry-After"
    problem = second[f"{HOST}/team/app"].problem or ""
    assert second[f"{HOST}/team/app"].stale and "retry after 60 s" in problem

    wall.now += 61
    with responses.RequestsMock() as mock:
        mock.get(tags_url("team/app"), json={"tags": ["1.0"]})
        third = client(tmp_path, FakeClock(now=7.0), wall).scan([query("team/app")])
    assert [t.tag for t in third[f"{HOST}/team/app"].tags] == ["1.0"]


@responses.activate
def test_a_429_from_the_token_server_shuts_it_for_the_next_cycles(tmp_path: Path) -> None:
    # The token server's 429 was a plain error: every repository and every cycle asked again.
    realm = "https://auth.example/token"
    challenge = f'Bearer realm="{realm}",service="reg"'
    responses.get(tags_url("team/a"), status=401, headers={"WWW-Authenticate": challenge})
    responses.get(realm, status=429, headers={"Retry-After": "120"})
    clock = FakeClock()
    registry = client(tmp_path, clock, Wall())

    first = registry.scan([query("team/a"), query("team/b")])
    asked = len(responses.calls)
    clock.now += 60
    second = registry.scan([query("team/a"), query("team/b")])

    assert asked == 2, "one 401, one token request; team/b waits for the token server"
    assert len(responses.calls) == asked
    for scans in (first, second):
        assert all(scan.stale and "auth.example" in (scan.problem or "") for scan in scans.values())
    assert json.loads((tmp_path / FILE_NAME).read_text())["hosts"].keys() == {"auth.example"}


@responses.activate
def test_the_file_holds_only_hosts_and_times_readable_by_its_owner_alone(tmp_path: Path) -> None:
    realm = "https://auth.example/token"
    challenge = f'Bearer realm="{realm}",service="reg"'
    responses.get(tags_url("team/a"), status=401, headers={"WWW-Authenticate": challenge})
    responses.get(realm, json={"token": "s3cr3t-token-value"})
    responses.get(tags_url("team/a"), status=429, headers={"Retry-After": "30"})
    wall = Wall()

    client(tmp_path, FakeClock(), wall).scan([query("team/a")])

    path = tmp_path / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "s3cr3t" not in text and "Bearer" not in text
    assert json.loads(text) == {"hosts": {HOST: WALL + 30}}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"not json", id="garbage"),
        pytest.param(b"[" * 100_000, id="deep"),
        pytest.param(b'{"hosts": {"h": NaN}}', id="nan"),
        pytest.param(b'{"hosts": {"h": "soon"}}', id="string-time"),
        pytest.param(b'{"hosts": {"h": 1e999}}', id="infinite"),
        pytest.param(b'{"hosts": {"h": ' + b"9" * 4000 + b"}}", id="huge-int"),
        pytest.param(b'{"hosts": ["h"]}', id="list"),
        pytest.param(b'{"hosts": {"\\u0000\\n": 1}}', id="control-characters"),
        pytest.param(b'{"hosts": {"h": true}}', id="boolean"),
        pytest.param(b" " * (70 * 1024), id="too-big"),
        pytest.param(b"\xff\xfe\x00", id="binary"),
    ],
)
def test_a_corrupt_or_hostile_file_is_ignored_with_a_warning_and_then_replaced(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).write_bytes(content)
    store = BlockStore(tmp_path, Wall())

    with caplog.at_level(logging.WARNING):
        assert store.load() == {}
    assert "ignoring" in caplog.text and FILE_NAME in caplog.text

    store.block("reg.example", 30)
    assert store.load() == {}, "its own blocks are its owner's to keep"
    assert BlockStore(tmp_path, Wall()).load() == {"reg.example": 30.0}, "the next process"


@pytest.mark.parametrize("kind", ["symlink-to-dev-zero", "fifo", "directory"])
def test_a_file_that_is_not_a_regular_file_is_never_read(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")
    with caplog.at_level(logging.WARNING):
        assert BlockStore(tmp_path, Wall()).load() == {}
    assert "ignoring" in caplog.text


def test_no_file_can_shut_a_host_for_longer_than_a_day(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(json.dumps({"hosts": {"h": WALL + 10**9, "old": 5}}))
    assert BlockStore(tmp_path, Wall()).load() == {"h": MAX_BLOCK_SECONDS}


def test_the_file_keeps_the_latest_hosts_within_its_bound(tmp_path: Path) -> None:
    store = BlockStore(tmp_path, Wall())
    for number in range(MAX_HOSTS + 20):
        store.block(f"host{number}.example", 100.0 + number)
    kept = BlockStore(tmp_path, Wall()).load()
    assert len(kept) == MAX_HOSTS
    assert f"host{MAX_HOSTS + 19}.example" in kept and "host0.example" not in kept


def test_without_a_cache_dir_nothing_is_written(tmp_path: Path) -> None:
    store = BlockStore(None, Wall())
    store.block("h", 30)
    assert store.load() == {}


def limited(conn: Connection) -> None:
    conn.send(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n"
    )


@pytest.fixture
def limiting_server() -> Iterator[RawServer]:
    server = RawServer({"/v2/": limited})
    yield server
    server.close()


@pytest.mark.rig
def test_a_second_imagebot_process_leaves_a_rate_limited_host_alone(
    limiting_server: RawServer, tmp_path: Path
) -> None:
    image = f"{limiting_server.host}/team/app:1.0"
    first = imagebot("tags", image, tmp_path=tmp_path, check=False)
    second = imagebot("tags", image, tmp_path=tmp_path, check=False)

    assert limiting_server.requests == ["/v2/team/app/tags/list?n=1000"], "asked once in all"
    for proc in (first, second):
        assert proc.returncode == 1 and "retry after" in proc.stderr
    saved = tmp_path / "cache" / "imagebot" / "registry" / FILE_NAME
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


@responses.activate
def test_a_client_replaced_after_a_settings_change_keeps_the_hosts_shut() -> None:
    # What reset the blocks within a process: a new client for new settings started empty.
    responses.get(tags_url("team/app"), status=429, headers={"Retry-After": "120"})
    clock = FakeClock()

    def build(settings: RegistrySettings) -> RegistryClient:
        session = requests.Session()
        return RegistryClient(
            settings, session=session, cache=MetadataCache(None), sleep=clock.sleep, clock=clock
        )

    clients: RegistryClients[str] = RegistryClients(build)
    before = RegistrySettings(docker_config="/nonexistent/config.json", max_retries=0)
    clients.lease("loop", before).scan([query("team/app")])
    clock.now += 60
    after = replace(before, max_tags=500)
    scan = clients.lease("loop", after).scan([query("team/app")])[f"{HOST}/team/app"]
    clients.close()

    assert len(responses.calls) == 1
    assert scan.stale and "retry after" in (scan.problem or "")
