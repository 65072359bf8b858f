"""Cold-cache requests per registry kind: a creation-time policy and a semver policy, cold and warm.

A CI runner without a kept cache used to pay 1 list + N manifest + N config-blob GETs per
repository under a creation-time policy. Where a registry says when each tag was pushed through
an API (Docker Hub, Google, Quay, Harbor, GitHub, ECR), imagebot asks that API instead: 1 request
per page. Those services cannot run here, so their answers are ``responses`` fakes in the shapes
their documentation gives (tests/test_registry_pushtimes.py and tests/test_registry_ecr.py name
the sources); plain OCI is the rig's real registry. Each kind runs REPOS repositories of TAGS
tags through the real client, counting requests by kind. Exit 1 if any manifest or blob GET is
made for a kind that has a push-time API, or if that kind pays more than one request per page.
Run: .venv/bin/python bench/cold.py [--repos N --tags M]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import responses

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imagebot.config import PushTimes, RateLimit, RegistryHost, RegistrySettings
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery
from tests.registry_fakes import DOCKER_MANIFEST, digest_of, image
from tests.rig.images import ImagePusher
from tests.rig.registry import start_registry

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PAGE = 100
FAST = RateLimit(max_concurrency=8, requests_per_second=100_000)
TOKEN = "bench-token"  # noqa: S105 - a fake service's token
API_KINDS = ("Docker Hub", "Google", "Quay", "Harbor", "GitHub", "ECR")
ECR_PAGE = 1000  # DescribeImages' maxResults


def when(index: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=index)


def iso(index: int) -> str:
    return when(index).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_names(tags: int) -> list[str]:
    return [f"build-{i:04d}" for i in range(tags)]


def fake_digest(repo: int, tag: int) -> str:
    return f"sha256:{repo:032x}{tag:032x}"


def pages_of(items: list[int]) -> list[list[int]]:
    return [items[i : i + PAGE] for i in range(0, len(items), PAGE)] or [[]]


@dataclass(frozen=True, slots=True)
class Kind:
    """One registry kind: its image names, settings, and the fake answers it registers."""

    name: str
    images: Callable[[int], str]
    hosts: tuple[RegistryHost, ...]
    fake: Callable[[responses.RequestsMock, int, int], None]
    pages: Callable[[int], int]  # requests a cold creation-time scan may make per repository


def _tags_list(mock: responses.RequestsMock, base: str, tags: int, **extra: object) -> None:
    mock.get(f"{base}/tags/list?n=1000", json={"tags": tag_names(tags), **extra})


def _manifests(mock: responses.RequestsMock, base: str, tags: int, offset: int) -> None:
    # Each repository's images have their own times, so their own config blobs.
    for index, name in enumerate(tag_names(tags)):
        manifest, config = image(iso(offset + index))
        mock.get(f"{base}/manifests/{name}", body=manifest, content_type=DOCKER_MANIFEST)
        mock.get(f"{base}/blobs/{digest_of(config)}", body=config)


def fake_hub(mock: responses.RequestsMock, repos: int, tags: int) -> None:
    for r in range(repos):
        url = f"https://hub.docker.com/v2/namespaces/bench/repositories/svc{r}/tags"
        newest_first = list(reversed(range(tags)))
        chunks = pages_of(newest_first)
        for number, chunk in enumerate(chunks, start=1):
            query = "page_size=100&ordering=last_updated"
            here = f"{url}?{query}" if number == 1 else f"{url}?page={number}&{query}"
            following = f"{url}?page={number + 1}&{query}" if number < len(chunks) else None
            results = [
                {"name": f"build-{i:04d}", "digest": fake_digest(r, i), "images": [],
                 "last_updated": iso(i), "tag_last_pushed": iso(i)}
                for i in chunk
            ]  # fmt: skip
            mock.get(here, json={"count": tags, "next": following, "results": results})
        # The registry's own list, for a version-ordered policy when the Hub API is off.
        _tags_list(mock, f"https://registry-1.docker.io/v2/bench/svc{r}", tags)


def fake_google(mock: responses.RequestsMock, repos: int, tags: int) -> None:
    for r in range(repos):
        times = {
            fake_digest(r, i): {"tag": [f"build-{i:04d}"], "mediaType": DOCKER_MANIFEST,
                                "timeCreatedMs": str(int(when(i).timestamp() * 1000)),
                                "timeUploadedMs": str(int(when(i).timestamp() * 1000))}
            for i in range(tags)
        }  # fmt: skip
        _tags_list(mock, f"https://europe-docker.pkg.dev/v2/proj/repo/svc{r}", tags, manifest=times)


def fake_quay(mock: responses.RequestsMock, repos: int, tags: int) -> None:
    for r in range(repos):
        api = f"https://quay.io/api/v1/repository/bench/svc{r}/tag/"
        chunks = pages_of(list(reversed(range(tags))))
        for number, chunk in enumerate(chunks, start=1):
            entries = [
                {"name": f"build-{i:04d}", "reversion": False, "start_ts": int(when(i).timestamp()),
                 "manifest_digest": fake_digest(r, i), "is_manifest_list": False, "size": 1}
                for i in chunk
            ]  # fmt: skip
            mock.get(
                f"{api}?page={number}&limit=100&onlyActiveTags=true",
                json={"tags": entries, "page": number, "has_additional": number < len(chunks)},
            )
        _tags_list(mock, f"https://quay.io/v2/bench/svc{r}", tags)


def fake_harbor(mock: responses.RequestsMock, repos: int, tags: int) -> None:
    for r in range(repos):
        path = f"/api/v2.0/projects/bench/repositories/svc{r}/artifacts"
        chunks = pages_of(list(reversed(range(tags))))
        for number, chunk in enumerate(chunks, start=1):
            artifacts = [
                {"id": i, "type": "IMAGE", "digest": fake_digest(r, i), "push_time": iso(i),
                 "tags": [{"id": i, "name": f"build-{i:04d}", "push_time": iso(i)}]}
                for i in chunk
            ]  # fmt: skip
            headers = {"X-Total-Count": str(tags)}
            if number < len(chunks):
                link = f"{path}?page={number + 1}&page_size=100&with_tag=true"
                headers["Link"] = f'<{link}>; rel="next"'
            mock.get(
                f"https://harbor.bench.example{path}?page={number}&page_size=100&with_tag=true",
                json=artifacts,
                headers=headers,
            )
        _tags_list(mock, f"https://harbor.bench.example/v2/bench/svc{r}", tags)


def fake_github(mock: responses.RequestsMock, repos: int, tags: int) -> None:
    for r in range(repos):
        api = f"https://api.github.com/orgs/bench/packages/container/svc{r}/versions"
        chunks = pages_of(list(reversed(range(tags))))
        for number, chunk in enumerate(chunks, start=1):
            versions = [
                {"id": i, "name": fake_digest(r, i), "created_at": iso(i), "updated_at": iso(i),
                 "metadata": {"package_type": "container",
                              "container": {"tags": [f"build-{i:04d}"]}}}
                for i in chunk
            ]  # fmt: skip
            headers = {}
            if number < len(chunks):
                headers["Link"] = f'<{api}?per_page=100&page={number + 1}>; rel="next"'
            mock.get(f"{api}?per_page=100&page={number}", json=versions, headers=headers)
        _tags_list(mock, f"https://ghcr.io/v2/bench/svc{r}", tags)


def fake_ecr(mock: responses.RequestsMock, repos: int, tags: int) -> None:
    """DescribeImages: one POST endpoint for every repository, paged by nextToken."""

    def describe(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "Authorization" not in request.headers:
            return 400, {}, json.dumps({"__type": "MissingAuthenticationTokenException"})
        asked = json.loads(request.body or b"{}")
        r = int(asked["repositoryName"].removeprefix("svc"))
        start = int(asked.get("nextToken", "0"))
        chunk = range(start, min(start + min(asked["maxResults"], ECR_PAGE), tags))
        details = [
            {"registryId": "123456789012", "repositoryName": f"svc{r}",
             "imageDigest": fake_digest(r, i), "imageTags": [f"build-{i:04d}"],
             "imagePushedAt": when(i).timestamp(), "imageSizeInBytes": 1}
            for i in chunk
        ]  # fmt: skip
        answer: dict[str, object] = {"imageDetails": details}
        if chunk.stop < tags:
            answer["nextToken"] = str(chunk.stop)
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(answer)

    mock.add_callback(responses.POST, ECR_API, callback=describe)
    for r in range(repos):
        _tags_list(mock, f"https://{ECR}/v2/svc{r}", tags)


ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ECR_API = "https://api.ecr.eu-west-1.amazonaws.com/"
ECR_KEYS = PushTimes("ecr", access_key_id="AKIDBENCH", secret_access_key="bench")  # noqa: S106


def kinds(tags: int) -> list[Kind]:
    per_page = math.ceil(tags / PAGE) or 1
    ecr_pages = math.ceil(tags / ECR_PAGE) or 1
    return [
        # Newest first: a time-ordered scan stops after the first page with a wanted tag.
        Kind("Docker Hub", lambda r: f"docker.io/bench/svc{r}", (), fake_hub, lambda _: 1),
        Kind("Google", lambda r: f"europe-docker.pkg.dev/proj/repo/svc{r}",
             (RegistryHost("europe-docker.pkg.dev", rate_limit=FAST),), fake_google,
             lambda _: 1),
        Kind("Quay", lambda r: f"quay.io/bench/svc{r}",
             (RegistryHost("quay.io", rate_limit=FAST),), fake_quay, lambda _: per_page),
        Kind("Harbor", lambda r: f"harbor.bench.example/bench/svc{r}",
             (RegistryHost("harbor.bench.example", rate_limit=FAST,
                           push_times=PushTimes("harbor")),), fake_harbor, lambda _: per_page),
        Kind("GitHub", lambda r: f"ghcr.io/bench/svc{r}",
             (RegistryHost("ghcr.io", rate_limit=FAST, push_times=PushTimes(token=TOKEN)),
              RegistryHost("api.github.com", rate_limit=FAST)), fake_github,
             lambda _: per_page),
        Kind("ECR", lambda r: f"{ECR}/svc{r}",
             (RegistryHost(ECR, rate_limit=FAST, push_times=ECR_KEYS),
              RegistryHost("api.ecr.eu-west-1.amazonaws.com", rate_limit=FAST)), fake_ecr,
             lambda _: ecr_pages),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    kind: str
    cold: Counter[str]
    warm: Counter[str]
    semver: Counter[str]
    repos: int

    def per_repo(self, counts: Counter[str]) -> str:
        total = sum(counts.values()) / self.repos
        detail = ", ".join(f"{k} {v / self.repos:g}" for k, v in sorted(counts.items()))
        return f"{total:g} ({detail})"


def measure(
    name: str, images: list[str], client_for: Callable[[], RegistryClient]
) -> tuple[Row, int]:
    """Cold and warm creation-time scans on one client, then a semver scan on a fresh one;
    and how many of the tags the cold scan listed it gave no time."""

    def wanted(tag: str) -> bool:
        return tag.startswith("build-")

    timed = [RepoQuery(parse_reference(f"{i}:build-0000"), True, wanted) for i in images]
    client = client_for()
    scans = client.scan(timed)
    untimed = sum(1 for s in scans.values() for t in s.tags if t.created is None)
    untimed += sum(1 for s in scans.values() if s.problem or not s.tags)
    cold = Counter(client.stats.by_kind())
    client.scan(timed)
    warm = Counter(client.stats.by_kind()) - cold
    fresh = client_for()
    fresh.scan([RepoQuery(parse_reference(f"{i}:build-0000")) for i in images])
    return Row(name, cold, warm, Counter(fresh.stats.by_kind()), len(images)), untimed


def run_fakes(repos: int, tags: int) -> list[tuple[Row, int, int]]:
    """Each faked kind: its row, the most requests a cold scan may make per repository, and
    the number of listed tags without a time."""
    found = []
    for kind in kinds(tags):
        settings = RegistrySettings(hosts=kind.hosts, docker_config="/nonexistent/config.json")
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            kind.fake(mock, repos, tags)
            row, untimed = measure(
                kind.name,
                [kind.images(r) for r in range(repos)],
                lambda settings=settings: RegistryClient(
                    settings, session=requests.Session(), cache=MetadataCache(None)
                ),
            )
        found.append((row, kind.pages(tags), untimed))
    return found


def run_rig(repos: int, tags: int, work: Path) -> tuple[Row, int]:
    """Plain OCI: the rig's real registry, REPOS x TAGS pushed images."""
    server = start_registry(work / "registry")
    try:
        with ImagePusher(server) as pusher:
            for r in range(repos):
                times = {name: when(r * tags + i) for i, name in enumerate(tag_names(tags))}
                pusher.push_tags(f"bench/svc{r}", times, workers=8)
        settings = RegistrySettings(
            hosts=(RegistryHost(server.host, rate_limit=FAST),), docker_config="/nonexistent"
        )
        return measure(
            "plain OCI (rig registry)",
            [f"{server.host}/bench/svc{r}" for r in range(repos)],
            lambda: RegistryClient(settings, cache=MetadataCache(None)),
        )
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repos", type=int, default=5)
    parser.add_argument("--tags", type=int, default=150)
    options = parser.parse_args(argv)
    repos, tags = options.repos, options.tags
    rows = run_fakes(repos, tags)
    with tempfile.TemporaryDirectory(prefix="imagebot-cold-") as work:
        rig_row, rig_untimed = run_rig(repos, tags, Path(work))
    rows.append((rig_row, 1 + 2 * tags, rig_untimed))

    print(f"\nrequests per repository, {repos} repositories x {tags} tags (pages of {PAGE})\n")
    print("| registry kind | creation-time, cold | creation-time, warm | semver, cold |")
    print("|---|---|---|---|")
    failures = []
    for row, allowed, untimed in rows:
        print(f"| {row.kind} | {row.per_repo(row.cold)} | {row.per_repo(row.warm)} | "
              f"{row.per_repo(row.semver)} |")  # fmt: skip
        if untimed:
            failures.append(f"{row.kind}: {untimed} listed tags (or repositories) without a time")
        if row.kind in API_KINDS:
            fetched = row.cold["manifest"] + row.cold["blob"]
            if fetched:
                failures.append(f"{row.kind}: {fetched} manifest/blob GETs with a push-time API")
            if sum(row.cold.values()) > allowed * repos:
                failures.append(
                    f"{row.kind}: {sum(row.cold.values())} requests, more than {allowed} "
                    f"per page-bounded repository"
                )
    for failure in failures:
        print(f"FAIL {failure}")
    print("\nOK" if not failures else f"\n{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
