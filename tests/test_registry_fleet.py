"""``SharedAnswers``: tag lists shared by the operator's clients, against the rig's registry.

Concurrent askers of one repository share the one request in flight; an answer is reused while
younger than the asker's interval, counted from the start of the cycle that fetched it,
and fetched again after; a request for a fresh look
(``not_before``) lists again only the repositories it names; a 429 with Retry-After shuts the
host for every client; a failure is never kept; the store stays within its bound; a key never
shows the secret it was made from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
import responses

from imagebot.config import RegistryHost, RegistrySettings
from imagebot.controller.registries import FleetBuild, build_client
from imagebot.errors import RegistryError
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery, RepoScan
from imagebot.registry.endpoints import resolve
from imagebot.registry.fleet import AnswerKey, Freshness, SharedAnswers
from tests.rig.images import ImagePusher
from tests.rig.proxy import Exchange, Proxy, start_proxy
from tests.rig.registry import RegistryServer
from tests.support import FakeClock
from tests.test_registry_http import HUB, hub_page

T0 = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = 3600.0


@dataclass
class Clock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def scan(client: RegistryClient, reference: str) -> RepoScan:
    return client.scan([RepoQuery(parse_reference(reference))])[reference]


def tag_lists(registry: RegistryServer, repo: str) -> int:
    return sum(1 for r in registry.request_log(repo=repo) if r.kind == "tags")


def settings_for(host: str) -> RegistrySettings:
    return RegistrySettings(hosts=(RegistryHost(host, insecure=True),))


def test_concurrent_askers_of_one_repository_share_one_request(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_tags(unique_repo, {"1.0": T0})
    build = FleetBuild()
    clients = [build(settings_for(registry.host)) for _ in range(8)]
    reference = f"{registry.host}/{unique_repo}"
    start = threading.Barrier(len(clients))
    found: list[list[str]] = []

    def ask(client: RegistryClient) -> None:
        client.lists.freshness = Freshness(HOUR)
        start.wait()
        found.append([t.tag for t in scan(client, reference).tags])

    threads = [threading.Thread(target=ask, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert found == [["1.0"]] * len(clients)
    assert tag_lists(registry, unique_repo) == 1
    assert build.shared.fetched == 1 and build.shared.reused == len(clients) - 1


def test_an_answer_serves_for_an_interval_and_a_request_names_what_to_list_again(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    first_repo, second_repo = f"{unique_repo}/a", f"{unique_repo}/b"
    pusher.push_tags(first_repo, {"1.0": T0})
    pusher.push_tags(second_repo, {"1.0": T0})
    clock, build = Clock(), FleetBuild()
    one, other = build(settings_for(registry.host)), build(settings_for(registry.host))
    first, second = f"{registry.host}/{first_repo}", f"{registry.host}/{second_repo}"

    def cycle(
        client: RegistryClient, not_before: float = 0.0, refresh: frozenset[str] = frozenset()
    ) -> None:
        client.lists.freshness = Freshness(HOUR, not_before, refresh, clock, started=clock.now)
        for reference in (first, second):
            assert scan(client, reference).problem is None

    cycle(one)
    clock.now += 0.9 * HOUR
    cycle(other)  # younger than the interval: taken
    assert (tag_lists(registry, first_repo), tag_lists(registry, second_repo)) == (1, 1)

    clock.now += 0.1 * HOUR
    cycle(one)  # its next cycle, an interval after its last began: listed again, once
    cycle(other)
    assert (tag_lists(registry, first_repo), tag_lists(registry, second_repo)) == (2, 2)

    pusher.push_tags(first_repo, {"2.0": T0})
    clock.now += 60
    asked_at = clock.now
    cycle(one, not_before=asked_at, refresh=frozenset({first}))  # a webhook named the first
    clock.now += 1
    cycle(other, not_before=asked_at, refresh=frozenset({first}))  # taken: fetched after it
    assert (tag_lists(registry, first_repo), tag_lists(registry, second_repo)) == (3, 2)
    assert {t.tag for t in scan(other, first).tags} == {"1.0", "2.0"}


def test_a_429_shuts_the_host_for_every_client_and_a_failure_is_never_kept(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    proxies: list[Proxy],
) -> None:
    proxy = start_proxy(registry.url)
    proxies.append(proxy)
    limited, other, broken = (f"{unique_repo}/{name}" for name in ("limited", "other", "broken"))
    for repo in (limited, other, broken):
        pusher.push_tags(repo, {"1.0": T0})

    def rewrite(exchange: Exchange) -> Exchange:
        if exchange.path.startswith(f"/v2/{limited}/tags/list"):
            exchange.status, exchange.body = 429, b""
            exchange.headers["Retry-After"] = "600"
        elif exchange.path.startswith(f"/v2/{broken}/tags/list"):
            exchange.status, exchange.body = 500, b""
        return exchange

    proxy.rewrite = rewrite
    build = FleetBuild()
    settings = RegistrySettings(hosts=(RegistryHost(proxy.host, insecure=True),), max_retries=0)
    one, two = build(settings), build(settings)
    for client in (one, two):
        client.lists.freshness = Freshness(HOUR)

    def lists(repo: str) -> int:
        return sum(1 for s in proxy.seen if s.path.startswith(f"/v2/{repo}/tags/list"))

    assert scan(one, f"{proxy.host}/{broken}").problem is not None
    assert scan(two, f"{proxy.host}/{broken}").problem is not None
    assert lists(broken) == 2, "a failure is not an answer to keep"

    assert scan(one, f"{proxy.host}/{limited}").stale
    refused = scan(two, f"{proxy.host}/{other}")  # another client, another repository
    assert refused.stale and "retry after" in (refused.problem or "")
    assert (lists(limited), lists(other)) == (1, 0)


def test_the_store_keeps_its_bound_and_drops_answers_no_asker_would_take() -> None:
    clock = Clock()
    store = SharedAnswers(max_entries=3)
    settings = RegistrySettings()
    fresh = Freshness(60, clock=clock)

    def key(name: str) -> AnswerKey:
        endpoint = resolve(parse_reference(f"registry.example/{name}"), settings)
        return store.key("tags", endpoint, endpoint.url("tags/list"), settings, None)

    for index in range(5):
        store.get(key(f"r{index}"), fresh, lambda: ["1.0"])
    assert len(store) == 3
    clock.now += 60
    store.get(key("late"), fresh, lambda: ["1.0"])
    assert len(store) == 1, "answers older than any asker takes are dropped"


def test_the_store_keeps_its_bound_on_tags_across_answers() -> None:
    store = SharedAnswers(max_tags=10)
    settings = RegistrySettings()
    fresh = Freshness(60)
    tags = [str(n) for n in range(4)]

    def key(name: str) -> AnswerKey:
        endpoint = resolve(parse_reference(f"registry.example/{name}"), settings)
        return store.key("tags", endpoint, endpoint.url("tags/list"), settings, None)

    for index in range(5):
        store.get(key(f"r{index}"), fresh, lambda: tags, weigh=len)
    assert len(store) == 2, "4 + 4 tags fit in 10, a third answer does not"


def test_a_key_tells_logins_apart_without_holding_them() -> None:
    store = SharedAnswers()
    reference = parse_reference("registry.example/team/app")

    def key_for(password: str | None) -> str:
        hosts = (RegistryHost("registry.example", username="bot", password=password),)
        settings = RegistrySettings(hosts=hosts if password else ())
        client = build_client(settings, shared=store)
        endpoint = resolve(reference, settings)
        found = store.key(
            "tags", endpoint, endpoint.url("tags/list"), settings, client.lists._credentials
        )
        return repr(found) + found.credential

    secret = "s3cret-Pa55-9d2c"
    assert key_for(secret) == key_for(secret)
    assert key_for(secret) != key_for("other-Pa55-1b7e")
    assert "anonymous" in key_for(None)
    assert secret not in key_for(secret) and "bot" not in key_for(secret)


@pytest.mark.parametrize("failing", [RegistryError("refused"), ValueError("broken")])
def test_a_failure_reaches_only_the_askers_waiting_on_it(failing: Exception) -> None:
    store = SharedAnswers()
    settings = RegistrySettings()
    endpoint = resolve(parse_reference("registry.example/team/app"), settings)
    key = store.key("tags", endpoint, endpoint.url("tags/list"), settings, None)
    fresh = Freshness(HOUR)
    calls: list[int] = []

    def fail() -> list[str]:
        calls.append(1)
        raise failing

    def answer() -> list[str]:
        calls.append(1)
        return ["1.0"]

    fetches: list[Callable[[], list[str]]] = [fail, answer, answer]
    with pytest.raises(type(failing)):
        store.get(key, fresh, fetches[0])
    assert store.get(key, fresh, fetches[1]) == ["1.0"]
    assert store.get(key, fresh, fetches[2]) == ["1.0"]
    assert len(calls) == 2


def test_a_hub_list_cut_short_serves_only_askers_who_would_have_stopped_there_too() -> None:
    # The Hub API is asked without a login, newest first; a time-ordered policy stops paging
    # once it has a wanted tag. A version-ordered asker needs every page: it must not take
    # that short answer, and a later time-ordered asker takes its complete one.
    store, clock = SharedAnswers(), FakeClock()
    second_url = f"{HUB}?page=2&page_size=100&ordering=last_updated"

    def client() -> RegistryClient:
        made = RegistryClient(
            RegistrySettings(docker_config="/nonexistent/config.json"),
            session=requests.Session(),
            cache=MetadataCache(None),
            sleep=clock.sleep,
            clock=clock,
            shared=store,
        )
        made.lists.freshness = Freshness(HOUR)
        return made

    def names(made: RegistryClient, needs_created: bool) -> list[str]:
        nginx = RepoQuery(
            parse_reference("nginx:1.26.0"), needs_created, lambda t: t.startswith("1.")
        )
        return [t.tag for t in made.scan([nginx])["docker.io/library/nginx"].tags]

    with responses.RequestsMock() as mock:
        first = mock.get(
            f"{HUB}?page_size=100&ordering=last_updated",
            json=hub_page([("1.27.1", "2024-06-02T10:00:00Z")], second_url),
        )
        second = mock.get(second_url, json=hub_page([("1.26.0", "2023-01-01T00:00:00Z")], None))
        assert names(client(), needs_created=True) == ["1.27.1"]
        assert names(client(), needs_created=False) == ["1.27.1", "1.26.0"]
        assert names(client(), needs_created=True) == ["1.27.1", "1.26.0"]
        assert (first.call_count, second.call_count) == (2, 1)
