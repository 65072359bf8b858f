"""Never downgrade (issue 13): under every policy, a deployed tag missing from the registry's list
never lets an older tag in, and a creation time that could not be fetched is a problem, not a
silent exit 0.

Flux v1's rollback bug: under glob and regex (creation-time) policies, a deployed tag the list
lacked (deleted, a partial answer, cut off by ``maxTags``) left no time to compare with, and an
older tag was committed with exit 0. The plan tests are pure; the client and ``imagebot run``
tests use the rig registry behind a loopback proxy that hides or breaks answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.config import RegistryHost, RegistrySettings
from imagebot.controller.status import judge
from imagebot.errors import RegistryError, RegistryNotFound
from imagebot.model import (
    Automation,
    Location,
    PolicySpec,
    ProblemCode,
    RunResult,
    TagInfo,
    Target,
    TargetKind,
    WorkloadId,
)
from imagebot.policy import parse_policy, select_tag
from imagebot.reconcile.plan import Plan, finalize, registry_queries, screen, select
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery, RepoScan
from imagebot.registry.credentials import CredentialStore, DockerConfig
from imagebot.registry.metadata import malformed
from tests.registry_fakes import DOCKER_MANIFEST, digest_of, image
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.rig.proxy import Exchange, Proxy, start_proxy
from tests.run_support import imagebot, workload
from tests.support import FakeClock

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
APP = "registry.example/team/app"


def target(image: str, policy: str, line: int = 10, **extra: object) -> Target:
    return Target(
        location=Location("apps/app.yaml", line),
        kind=TargetKind.CONTAINER,
        image=parse_reference(image),
        workload=WorkloadId("Deployment", None, f"app{line}"),
        container="app",
        policy=PolicySpec(policy, "annotation imagebot.io/tag.app"),
        automation=Automation(automated=True, **extra),  # type: ignore[arg-type]
    )


def timed(**hours: int) -> tuple[TagInfo, ...]:
    """Tags created ``hours`` after T0 (``dev_1=3`` is the tag ``dev-1`` at T0+3h)."""
    return tuple(TagInfo(name.replace("_", "-"), T0 + h * HOUR) for name, h in hours.items())


def plan_for(targets: list[Target], scan: RepoScan, *, allow_downgrade: bool = False) -> Plan:
    screened = screen(targets)
    decisions = select(screened.automated, {APP: scan}, allow_downgrade=allow_downgrade)
    return finalize(decisions, {})


def changed(plan: Plan) -> list[str]:
    return [c.new_tag for c in plan.changes]


def codes(plan: Plan) -> list[str]:
    return [str(p.code) for p in plan.problems]


# --- the plan: pure -------------------------------------------------------------------------


def test_an_unlisted_current_tag_with_a_newer_time_keeps_an_older_candidate_out() -> None:
    """The campaign's case: dev-9 deployed, then deleted; dev-5 (older) must not come back."""
    scan = RepoScan(timed(dev_1=1, dev_5=5), unlisted={"dev-9": TagInfo("dev-9", T0 + 9 * HOUR)})
    plan = plan_for([target(f"{APP}:dev-9", "glob:dev-*")], scan)
    assert changed(plan) == [] and plan.problems == []


def test_an_unlisted_current_tag_with_an_older_time_still_moves_to_a_newer_tag() -> None:
    scan = RepoScan(timed(dev_1=1, dev_5=5), unlisted={"dev-0": TagInfo("dev-0", T0)})
    plan = plan_for([target(f"{APP}:dev-0", "regex:^dev-")], scan)
    assert changed(plan) == ["dev-5"]


@pytest.mark.parametrize(
    ("scan", "code", "says"),
    [
        pytest.param(
            RepoScan(timed(dev_1=1), failed={"dev-9": RegistryNotFound("manifest 404")}),
            "current-tag-missing",
            "manifest 404",
            id="deleted-404",
        ),
        pytest.param(
            RepoScan(timed(dev_1=1), failed={"dev-9": RegistryError("host answered 500")}),
            "registry-unavailable",
            "500",
            id="fetch-5xx",
        ),
        pytest.param(
            RepoScan(timed(dev_1=1), failed={"dev-9": malformed(RegistryError("not JSON"))}),
            "registry-malformed",
            "not JSON",
            id="fetch-malformed",
        ),
        pytest.param(
            RepoScan(timed(dev_1=1), unlisted={"dev-9": TagInfo("dev-9", None)}),
            "current-tag-missing",
            "no creation time",
            id="no-time-in-image",
        ),
        pytest.param(RepoScan(timed(dev_1=1)), "current-tag-missing", "looked up", id="no-answer"),
    ],
)
def test_an_unknown_time_for_an_unlisted_current_tag_changes_nothing(
    scan: RepoScan, code: str, says: str
) -> None:
    plan = plan_for([target(f"{APP}:dev-9", "glob:dev-*")], scan)
    assert changed(plan) == []
    assert codes(plan) == [code]
    message = plan.problems[0].message
    assert message.startswith("current tag dev-9 is not in the registry's list; not changed")
    assert says in message


def test_allow_downgrade_needs_no_time_for_the_current_tag() -> None:
    plan = plan_for(
        [target(f"{APP}:dev-9", "glob:dev-*")], RepoScan(timed(dev_1=1)), allow_downgrade=True
    )
    assert changed(plan) == ["dev-1"] and plan.problems == []


def test_a_listed_current_tag_outside_the_glob_still_sets_the_floor() -> None:
    """v2 deployed by hand (newer) under glob dev-*: dev-1 is older, so nothing changes."""
    plan = plan_for([target(f"{APP}:v2", "glob:dev-*")], RepoScan(timed(dev_1=1, v2=2)))
    assert changed(plan) == []


def test_a_listed_current_tag_whose_time_failed_is_not_changed() -> None:
    scan = RepoScan(
        (TagInfo("v2", None), *timed(dev_1=1)), failed={"v2": RegistryError("answered 503")}
    )
    plan = plan_for([target(f"{APP}:v2", "glob:dev-*")], scan)
    assert changed(plan) == [] and codes(plan) == ["registry-unavailable"]
    assert "current tag v2 has no known creation time" in plan.problems[0].message


def test_a_candidate_whose_time_failed_for_a_passing_reason_blocks_the_target() -> None:
    """Issue 13: a manifest 500 under a glob policy exited 0; dev-7 may be the newest."""
    scan = RepoScan(
        (*timed(dev_1=1, dev_5=5), TagInfo("dev-7", None)),
        failed={"dev-7": RegistryError("registry.example answered 500")},
    )
    plan = plan_for([target(f"{APP}:dev-1", "glob:dev-*")], scan)
    assert changed(plan) == [] and codes(plan) == ["registry-unavailable"]
    assert ProblemCode.REGISTRY_UNAVAILABLE.transient
    assert "dev-7" in plan.problems[0].message and "500" in plan.problems[0].message


def test_a_malformed_candidate_is_a_problem_and_the_rest_goes_ahead() -> None:
    scan = RepoScan(
        (*timed(dev_1=1, dev_5=5), TagInfo("dev-7", None)),
        failed={"dev-7": malformed(RegistryError("manifest dev-7: not JSON"))},
    )
    plan = plan_for([target(f"{APP}:dev-1", "glob:dev-*")], scan)
    assert changed(plan) == ["dev-5"] and codes(plan) == ["registry-malformed"]
    assert not ProblemCode.REGISTRY_MALFORMED.transient


@pytest.mark.parametrize(
    "failed",
    [
        pytest.param({"dev-7": RegistryNotFound("gone")}, id="deleted-since-listing"),
        pytest.param({"main-7": RegistryError("answered 500")}, id="outside-the-policy"),
    ],
)
def test_failures_the_policy_cannot_meet_do_not_block(failed: dict[str, RegistryError]) -> None:
    scan = RepoScan((*timed(dev_1=1, dev_5=5), TagInfo("dev-7", None)), failed=failed)
    plan = plan_for([target(f"{APP}:dev-1", "glob:dev-*")], scan)
    assert changed(plan) == ["dev-5"] and plan.problems == []


def test_targets_on_one_repository_each_keep_their_own_floor() -> None:
    scan = RepoScan(
        timed(dev_1=1, dev_3=3, dev_5=5), unlisted={"dev-9": TagInfo("dev-9", T0 + 9 * HOUR)}
    )
    plan = plan_for(
        [
            target(f"{APP}:dev-9", "glob:dev-*", line=10),
            target(f"{APP}:dev-1", "glob:dev-*", line=20),
            target(f"{APP}:gone", "glob:dev-*", line=30),
        ],
        scan,
    )
    assert changed(plan) == ["dev-5"]
    assert [p.line for p in plan.problems] == [30]  # gone: no time for it, not changed


def test_queries_carry_every_deployed_tag_of_a_repository() -> None:
    screened = screen(
        [
            target(f"{APP}:dev-9", "glob:dev-*", line=10),
            target(f"{APP}:1.2.0", "semver:^1", line=20),
            target(f"{APP}@sha256:{'0' * 64}", "glob:dev-*", line=30),
        ]
    )
    (query,) = registry_queries(screened.automated)
    assert query.current == ("1.2.0", "dev-9") and query.needs_created


# --- value-ordered policies: other routes to a downgrade -----------------------------------


@pytest.mark.parametrize(
    ("policy", "current", "listed", "expected"),
    [
        pytest.param("semver:*", "2.0.0", ["1.0.0", "1.5.0"], None, id="semver-current-unlisted"),
        pytest.param("semver:^1", "1.9.0", ["1.0.0", "1.5.0"], None, id="semver-outside-range"),
        pytest.param("semver:*", "v2", ["1.0.0", "1.5.0"], None, id="semver-lenient-current"),
        pytest.param("numerical:asc", "10", ["9", "2"], None, id="numerical-bytes-vs-numbers"),
        pytest.param("numerical:desc", "2", ["3", "9"], None, id="numerical-desc"),
        pytest.param("alphabetical:asc", "b", ["a", "Z"], None, id="alphabetical"),
        pytest.param("alphabetical:desc", "b", ["c", "z"], None, id="alphabetical-desc"),
        pytest.param("minor", "1.4.0", ["1.3.9", "2.0.0"], None, id="minor"),
        pytest.param("semver:*", "1.0.0", ["1.0.0", "0.9.0"], None, id="current-listed"),
    ],
)
def test_value_policies_never_choose_below_the_current_tag(
    policy: str, current: str, listed: list[str], expected: str | None
) -> None:
    decision = select_tag(parse_policy(policy), [TagInfo(t) for t in listed], current=current)
    chosen = decision.chosen.tag if decision.chosen else None
    assert chosen in (expected, current)


def test_an_extracting_filter_compares_the_current_tag_extracted_too() -> None:
    policy = parse_policy(
        "numerical:asc", filter_pattern=r"^main-[a-f0-9]+-(?P<ts>\d+)$", extract="$ts"
    )
    listed = [TagInfo("main-aaa-100"), TagInfo("main-bbb-150")]
    assert select_tag(policy, listed, current="main-ccc-200").chosen is None
    assert select_tag(policy, listed, current="main-ccc-120").chosen == listed[1]


@pytest.mark.timeout(120)
@settings(max_examples=150, deadline=None)
@given(
    hours=st.dictionaries(st.integers(0, 30), st.integers(0, 50), min_size=0, max_size=12),
    current=st.integers(0, 30),
    listed=st.booleans(),
    known=st.booleans(),
)
def test_property_a_time_ordered_plan_never_downgrades(
    hours: dict[int, int], current: int, listed: bool, known: bool
) -> None:
    """Random tags with random times; the deployed tag listed or not, its time known or not:
    whatever is chosen is never older than the deployed image."""
    current_time = T0 + hours.get(current, 25) * HOUR
    candidates = tuple(
        TagInfo(f"dev-{n}", T0 + h * HOUR) for n, h in hours.items() if n != current or listed
    )
    if listed:
        candidates += (TagInfo(f"dev-{current}", current_time),) if current not in hours else ()
        scan = RepoScan(candidates)
    elif known:
        scan = RepoScan(candidates, unlisted={f"dev-{current}": TagInfo("x", current_time)})
    else:
        scan = RepoScan(candidates, failed={f"dev-{current}": RegistryNotFound("gone")})
    plan = plan_for([target(f"{APP}:dev-{current}", "glob:dev-*")], scan)
    times = {c.tag: c.created for c in candidates}
    for change in plan.changes:
        chosen = times[change.new_tag]
        assert chosen is not None and chosen >= current_time
    if not listed and not known:
        assert plan.changes == [] and codes(plan) == ["current-tag-missing"]


def test_selection_on_its_own_keeps_its_documented_contract() -> None:
    """``imagebot policy select`` (select_tag): no time for the current tag means no check."""
    decision = select_tag(parse_policy("glob:dev-*"), list(timed(dev_1=1)), current="dev-9")
    assert decision.chosen is not None and decision.chosen.tag == "dev-1"
    assert "no downgrade check for the current tag dev-9" in decision.reason


# --- the registry client on the rig registry -------------------------------------------------


def client_for(host: str, cache: MetadataCache | None = None, **extra: object) -> RegistryClient:
    settings = RegistrySettings(
        hosts=(RegistryHost(host),),
        platform="linux/amd64",
        max_retries=0,
        **extra,  # type: ignore[arg-type]
    )
    return RegistryClient(
        settings,
        cache=cache or MetadataCache(None),
        credentials=CredentialStore(settings, DockerConfig({})),
        sleep=lambda _: None,
    )


def hiding(tag: str, manifest_status: int | None = None) -> Callable[[Exchange], Exchange]:
    """A proxy hook: the tag list leaves ``tag`` out; its manifest answers ``manifest_status``
    (None: the real manifest)."""

    def rewrite(exchange: Exchange) -> Exchange:
        if "/tags/list" in exchange.path:
            data = json.loads(exchange.body)
            data["tags"] = [t for t in data["tags"] if t != tag]
            exchange.body = json.dumps(data).encode()
        elif exchange.path.endswith(f"/manifests/{tag}") and manifest_status is not None:
            exchange.status, exchange.body = manifest_status, b'{"errors": []}'
            exchange.headers = {"Content-Type": "application/json"}
        return exchange

    return rewrite


def behind(registry: RegistryServer, proxies: list[Proxy], hook: Callable[..., Exchange]) -> Proxy:
    proxy = start_proxy(registry.url)
    proxy.rewrite = hook
    proxies.append(proxy)
    return proxy


def test_the_client_looks_up_an_unlisted_current_tag_once(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, proxies: list[Proxy]
) -> None:
    pusher.push_tags(unique_repo, {"dev-1": T0, "dev-9": T0 + 9 * HOUR})
    proxy = behind(registry, proxies, hiding("dev-9"))
    image = parse_reference(f"{proxy.host}/{unique_repo}:dev-9")
    cache = MetadataCache(None)
    query = RepoQuery(image, True, parse_policy("glob:dev-*").matches, current=("dev-9",))

    scan = client_for(proxy.host, cache).scan([query])[image.name]

    assert [t.tag for t in scan.tags] == ["dev-1"]
    assert scan.unlisted["dev-9"].created == T0 + 9 * HOUR and not scan.failed
    asked = [s.path for s in proxy.seen if s.path.endswith("/manifests/dev-9")]
    assert len(asked) == 1
    again = client_for(proxy.host, cache).scan([query])[image.name]  # from the cache now
    assert again.unlisted["dev-9"].created == T0 + 9 * HOUR
    assert len([s for s in proxy.seen if s.path.endswith("/manifests/dev-9")]) == 1


def test_a_deleted_current_tag_comes_back_as_not_found(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, proxies: list[Proxy]
) -> None:
    pusher.push_tags(unique_repo, {"dev-1": T0})
    proxy = behind(registry, proxies, hiding("dev-9", 404))
    image = parse_reference(f"{proxy.host}/{unique_repo}:dev-9")
    query = RepoQuery(image, True, None, current=("dev-9",))
    scan = client_for(proxy.host).scan([query])[image.name]
    assert isinstance(scan.failed["dev-9"], RegistryNotFound) and not scan.unlisted


def test_max_tags_never_cuts_off_the_current_tag(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    names = [f"{n:03d}" for n in range(12)]
    pusher.push_tags(unique_repo, {name: T0 + i * HOUR for i, name in enumerate(names)})
    image = parse_reference(f"{registry.host}/{unique_repo}")
    everything = client_for(registry.host).scan([RepoQuery(image)])[image.name]
    order = [t.tag for t in everything.tags]  # the registry's own order
    assert sorted(order) == names
    current = order[-1]
    query = RepoQuery(image, False, None, current=(current, "999"))
    scan = client_for(registry.host, max_tags=3).scan([query])[image.name]
    assert [t.tag for t in scan.tags] == [*order[:3], current]
    assert any("max_tags" in w for w in scan.warnings)


# --- imagebot run end to end ----------------------------------------------------------------


def run_once(tmp_path: Path, remote: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    proc = imagebot(
        "run", "--repo", remote.as_uri(), "--output", "json", *flags,
        tmp_path=tmp_path, check=False,
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout or "{}")


@pytest.fixture
def deployed(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    proxies: list[Proxy],
) -> Callable[[Callable[[Exchange], Exchange]], tuple[Proxy, Path]]:
    """dev-1 (old) and dev-9 (new, deployed) pushed; a remote whose workload runs dev-9 through
    a proxy with the given hook."""
    pusher.push_tags(unique_repo, {"dev-1": T0, "dev-9": T0 + 9 * HOUR})

    def make(hook: Callable[[Exchange], Exchange]) -> tuple[Proxy, Path]:
        proxy = behind(registry, proxies, hook)
        text = workload("app", f"{proxy.host}/{unique_repo}:dev-9", "glob:dev-*")
        return proxy, bare_remote({"app.yaml": text.encode()})

    return make


def test_run_keeps_a_deployed_tag_the_list_lacks(
    deployed: Callable[..., tuple[Proxy, Path]], unique_repo: str, tmp_path: Path
) -> None:
    """The rollback bug: dev-9 missing from the list made `run` commit dev-1 with exit 0."""
    _, remote = deployed(hiding("dev-9"))
    before = run_git("--git-dir", str(remote), "rev-parse", "main")
    code, result = run_once(tmp_path, remote, "--strict")
    assert code == 0, result
    assert result["changes"] == [] and result["problems"] == []
    assert run_git("--git-dir", str(remote), "rev-parse", "main") == before


def test_run_reports_a_deleted_deployed_tag_and_changes_nothing(
    deployed: Callable[..., tuple[Proxy, Path]], unique_repo: str, tmp_path: Path
) -> None:
    _, remote = deployed(hiding("dev-9", 404))
    before = run_git("--git-dir", str(remote), "rev-parse", "main")
    code, result = run_once(tmp_path, remote, "--strict")
    assert code == 3, result
    assert result["changes"] == []
    (problem,) = result["problems"]
    assert problem["code"] == "current-tag-missing"
    assert "current tag dev-9 is not in the registry's list; not changed" in problem["message"]
    assert run_git("--git-dir", str(remote), "rev-parse", "main") == before


def failing_manifest(tag: str, status: int) -> Callable[[Exchange], Exchange]:
    def rewrite(exchange: Exchange) -> Exchange:
        if exchange.path.endswith(f"/manifests/{tag}"):
            exchange.status, exchange.body = status, b"upstream trouble"
            exchange.headers = {"Content-Type": "text/plain"}
        return exchange

    return rewrite


def test_run_exits_1_when_a_manifest_answers_500_under_a_glob_policy(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    proxies: list[Proxy],
    tmp_path: Path,
) -> None:
    """Issue 13: a manifest 500 under a glob policy exited 0 and kept an older choice."""
    pusher.push_tags(unique_repo, {"dev-1": T0, "dev-5": T0 + 5 * HOUR, "dev-7": T0 + 7 * HOUR})
    proxy = behind(registry, proxies, failing_manifest("dev-7", 500))
    text = workload("app", f"{proxy.host}/{unique_repo}:dev-1", "glob:dev-*")
    remote = bare_remote({"app.yaml": text.encode()})
    code, result = run_once(tmp_path, remote)
    assert code == 1, result
    assert result["changes"] == [] and result["commit"] is None
    (problem,) = result["problems"]
    assert problem["code"] == "registry-unavailable" and "dev-7" in problem["message"]


def test_run_reports_a_malformed_manifest_and_updates_with_the_rest(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    proxies: list[Proxy],
    tmp_path: Path,
) -> None:
    pusher.push_tags(unique_repo, {"dev-1": T0, "dev-5": T0 + 5 * HOUR, "dev-7": T0 + 7 * HOUR})

    def garbled(exchange: Exchange) -> Exchange:
        if exchange.path.endswith("/manifests/dev-7"):
            exchange.body = b'{"schemaVersion": 2, "config": 7}'
            exchange.headers = {"Content-Type": "application/json"}
        return exchange

    proxy = behind(registry, proxies, garbled)
    text = workload("app", f"{proxy.host}/{unique_repo}:dev-1", "glob:dev-*")
    remote = bare_remote({"app.yaml": text.encode()})
    code, result = run_once(tmp_path, remote, "--strict")
    assert code == 3, result
    assert [c["tag"] for c in result["changes"]] == ["dev-5"]
    assert [p["code"] for p in result["problems"]] == ["registry-malformed"]


@pytest.mark.parametrize(
    ("scan", "outcome", "reason"),
    [
        pytest.param(
            RepoScan(timed(dev_1=1), failed={"dev-9": RegistryNotFound("gone")}),
            "stalled",
            "CurrentTagMissing",
            id="deleted",
        ),
        pytest.param(
            RepoScan(timed(dev_1=1), failed={"dev-9": RegistryError("answered 502")}),
            "transient",
            "RegistryUnavailable",
            id="passing",
        ),
    ],
)
def test_the_operator_stalls_on_a_missing_current_tag_and_retries_a_passing_failure(
    scan: RepoScan, outcome: str, reason: str
) -> None:
    plan = plan_for([target(f"{APP}:dev-9", "glob:dev-*")], scan)
    judged = judge(RunResult(problems=tuple(plan.problems)))
    assert (judged.outcome, judged.reason) == (outcome, reason)
    assert judged.retry is (outcome == "transient")  # a stall is polled on the timer instead


HUB_TAGS = "https://hub.docker.com/v2/namespaces/library/repositories/nginx/tags"
HUB_REGISTRY = "https://registry-1.docker.io/v2/library/nginx"


@responses.activate
def test_a_deployed_tag_past_the_hubs_first_page_is_looked_up_once() -> None:
    """The Hub list is newest first and stops at the first page with a wanted tag, so the
    deployed tag is often unread: its time comes from one manifest fetch, then the cache."""
    responses.get(
        f"{HUB_TAGS}?page_size=100&ordering=last_updated",
        json={
            "next": f"{HUB_TAGS}?page=2&page_size=100&ordering=last_updated",
            "results": [{"name": "1.27.1", "tag_last_pushed": "2024-06-02T10:00:00Z"}],
        },
    )
    manifest, config = image("2024-01-01T00:00:00Z")
    fetched = responses.get(
        f"{HUB_REGISTRY}/manifests/1.20.0", body=manifest, content_type=DOCKER_MANIFEST
    )
    responses.get(f"{HUB_REGISTRY}/blobs/{digest_of(config)}", body=config)
    cache = MetadataCache(None)
    query = RepoQuery(
        parse_reference("nginx:1.20.0"), True, lambda t: t.startswith("1."), current=("1.20.0",)
    )
    for _ in range(2):
        clock = FakeClock()
        client = RegistryClient(
            RegistrySettings(docker_config="/nonexistent/config.json"),
            session=requests.Session(),
            cache=cache,
            sleep=clock.sleep,
            clock=clock,
            workers=1,
        )
        scan = client.scan([query])["docker.io/library/nginx"]
        assert [t.tag for t in scan.tags] == ["1.27.1"]
        assert scan.unlisted["1.20.0"].created == datetime(2024, 1, 1, tzinfo=UTC)
    assert fetched.call_count == 1
