"""``RegistryClient.examine`` against the rig registry: the candidate about to be chosen costs a
HEAD; its manifest (and config) are fetched once per digest and then come from the metadata
cache, also in a later process; a tag that moved is read again. Counted in the registry's log."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer
from tests.test_registry_rig import make_client

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def served(registry: RegistryServer, repo: str, since: int) -> Counter[str]:
    return Counter(f"{e.method} {e.kind}" for e in registry.request_log(repo=repo)[since:])


def test_an_examined_index_costs_one_get_then_only_a_head(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, tmp_path: Path
) -> None:
    digest = pusher.push_index(
        unique_repo, "2.0", created=T0, platforms=["linux/amd64", "linux/arm64/v8"]
    )
    image = parse_reference(f"{registry.host}/{unique_repo}")
    before = len(registry.request_log(repo=unique_repo))

    facts = make_client(registry, MetadataCache(tmp_path)).examine(image, "2.0")

    assert (facts.digest, facts.platforms, facts.created) == (
        digest,
        ("linux/amd64", "linux/arm64/v8"),
        T0,
    )
    # The index, the amd64 child and its config: once.
    assert served(registry, unique_repo, before) == Counter(
        {"HEAD manifest": 1, "GET manifest": 2, "GET blob": 1}
    )

    before = len(registry.request_log(repo=unique_repo))
    again = make_client(registry, MetadataCache(tmp_path)).examine(image, "2.0")  # a new process
    assert again == facts
    assert served(registry, unique_repo, before) == Counter({"HEAD manifest": 1})


def test_a_tag_completed_with_another_platform_is_read_again(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, tmp_path: Path
) -> None:
    image = parse_reference(f"{registry.host}/{unique_repo}")
    client = make_client(registry, MetadataCache(tmp_path))
    pusher.push_index(unique_repo, "3.0", created=T0, platforms=["linux/amd64"])
    assert client.examine(image, "3.0").platforms == ("linux/amd64",)

    pusher.push_index(unique_repo, "3.0", created=T0, platforms=["linux/amd64", "linux/arm64"])

    assert client.examine(image, "3.0").platforms == ("linux/amd64", "linux/arm64")


def test_a_single_platform_image_offers_its_config_s_platform(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_image(unique_repo, "arm", created=T0, arch="arm64", variant="v8")
    image = parse_reference(f"{registry.host}/{unique_repo}")

    facts = make_client(registry).examine(image, "arm")

    assert (facts.platforms, facts.created) == (("linux/arm64/v8",), T0)
