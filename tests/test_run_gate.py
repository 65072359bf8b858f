"""Issue 17 on the rig: required platforms, minimum age and imagebot's own filter/extract
annotations, each taken through ``imagebot run`` against the real registry to a commit.

Images are pushed with creation times relative to the real clock, far from every boundary, so
``imagebot run`` needs no injected clock: 3h and 1h old straddle a 2h minimum by an hour.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.run_support import T0, imagebot, workload

HOUR = timedelta(hours=1)
BOTH = ("linux/amd64", "linux/arm64")


def run(remote: Path, tmp_path: Path, config: str | None = None) -> dict[str, Any]:
    args = ["run", "--repo", remote.as_uri(), "--output", "json"]
    if config is not None:
        settings = tmp_path / "settings.yaml"
        settings.write_text(config)
        args += ["--config", str(settings)]
    answer: dict[str, Any] = json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    return answer


def committed(remote: Path, path: str) -> str:
    return run_git("--git-dir", str(remote), "show", f"main:{path}")


def codes(answer: dict[str, Any], key: str = "problems") -> dict[str, str]:
    return {p["code"]: p["message"] for p in answer[key]}


def with_annotations(text: str, *lines: str) -> str:
    extra = "".join(f"    {line}\n" for line in lines)
    return text.replace(
        "    imagebot.io/automated: 'true'\n", f"    imagebot.io/automated: 'true'\n{extra}"
    )


def test_required_platforms_skip_a_newer_index_that_lacks_one(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The finding: with [linux/amd64, linux/arm64] required, an amd64-only tag was chosen."""
    pusher.push_index(unique_repo, "1.0.0", created=T0, platforms=BOTH)
    pusher.push_index(unique_repo, "2.0.0", created=T0 + HOUR, platforms=BOTH, media_type="oci")
    pusher.push_index(unique_repo, "3.0.0", created=T0 + 2 * HOUR, platforms=["linux/amd64"])
    pusher.push_image(unique_repo, "3.1.0", created=T0 + 3 * HOUR, arch="amd64")  # no index
    image = f"{registry.host}/{unique_repo}"
    remote = bare_remote({"app.yaml": workload("app", f"{image}:1.0.0", "semver:*").encode()})
    required = "registries:\n  requiredPlatforms: [linux/amd64, linux/arm64]\n"

    answer = run(remote, tmp_path, required)

    assert [c["tag"] for c in answer["changes"]] == ["2.0.0"], answer
    assert answer["pushed"] and f"{image}:2.0.0" in committed(remote, "app.yaml")
    skipped = codes(answer)["platform-missing"]
    assert "2 newer tag(s) skipped for registries.requiredPlatforms" in skipped
    assert "3.1.0 lacks linux/arm64 (offers linux/amd64)" in skipped
    assert "3.0.0 lacks linux/arm64 (offers linux/amd64)" in skipped
    assert [p["severity"] for p in answer["problems"]] == ["warning"]


def test_a_time_ordered_policy_skips_an_index_lacking_a_required_platform(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    pusher.push_index(unique_repo, "main-1", created=T0, platforms=BOTH)
    pusher.push_index(
        unique_repo, "main-2", created=T0 + HOUR, platforms=["linux/amd64/v3", *BOTH[1:]]
    )
    pusher.push_index(
        unique_repo,
        "main-3",
        created=T0 + 2 * HOUR,
        platforms=["linux/amd64", "linux/arm64/v8", "linux/s390x"],
    )
    pusher.push_index(unique_repo, "main-4", created=T0 + 3 * HOUR, platforms=["linux/arm64"])
    image = f"{registry.host}/{unique_repo}"
    remote = bare_remote({"app.yaml": workload("app", f"{image}:main-1", "glob:main-*").encode()})
    config = (
        "registries:\n  platform: linux/arm64\n  requiredPlatforms: [linux/amd64, linux/arm64]\n"
    )

    answer = run(remote, tmp_path, config)

    # main-4 lacks amd64; main-3 offers arm64 as its v8 variant, which an arch alone accepts.
    assert [c["tag"] for c in answer["changes"]] == ["main-3"], answer
    assert "main-4 lacks linux/amd64 (offers linux/arm64)" in codes(answer)["platform-missing"]


def test_an_arm64_only_repository_under_the_default_platform_says_why_it_is_not_updated(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The finding: with the default platform, an arm64-only repository was silently never
    updated. It is reported, and updated once registries.platform names its platform."""
    for n in (1, 2):
        pusher.push_index(
            unique_repo, f"main-{n}", created=T0 + n * HOUR, platforms=["linux/arm64"]
        )
    image = f"{registry.host}/{unique_repo}"
    remote = bare_remote({"app.yaml": workload("app", f"{image}:main-1", "glob:main-*").encode()})

    silent = run(remote, tmp_path)

    assert silent["changes"] == []
    message = codes(silent)["platform-missing"]
    assert "2 tag(s) the policy could choose offer no linux/amd64 image" in message
    assert "offers linux/arm64" in message and "set registries.platform" in message

    answer = run(remote, tmp_path, "registries:\n  platform: linux/arm64\n")
    assert [c["tag"] for c in answer["changes"]] == ["main-2"], answer
    assert "platform-missing" not in codes(answer)


def test_filter_and_extract_annotations_order_a_part_of_the_tag(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """Flux v2's filterTags + extract in imagebot's own annotations: numerical over the build
    number, so main-100 beats main-99 (alphabetical order of the tags would not), and tags the
    filter rejects (dev-999) are never candidates."""
    pusher.push_tags(
        unique_repo,
        {"main-7": T0, "main-99": T0, "main-100": T0 - HOUR, "dev-999": T0 + HOUR, "main-x": T0},
    )
    image = f"{registry.host}/{unique_repo}"
    text = with_annotations(
        workload("app", f"{image}:main-7", "numerical:asc"),
        "imagebot.io/filter.app: '^main-(?P<build>[0-9]+)$'",
        "imagebot.io/extract.app: '$build'",
    )
    remote = bare_remote({"app.yaml": text.encode()})

    answer = run(remote, tmp_path)

    assert [(c["tag"], c["policySource"]) for c in answer["changes"]] == [
        ("main-100", "annotation imagebot.io/tag.app")
    ], answer
    assert committed(remote, "app.yaml") == text.replace(":main-7", ":main-100")


def test_a_filter_annotation_without_a_tag_policy_filters_the_default_glob(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    pusher.push_tags(
        unique_repo, {"rel-0": T0 - HOUR, "rc-1": T0, "rel-2": T0 + HOUR, "rc-3": T0 + 2 * HOUR}
    )
    image = f"{registry.host}/{unique_repo}"
    text = with_annotations(
        workload("app", f"{image}:rel-0", "x").replace("    imagebot.io/tag.app: 'x'\n", ""),
        "imagebot.io/filter.app: '^rel-'",
    )
    remote = bare_remote({"app.yaml": text.encode()})

    answer = run(remote, tmp_path)

    assert [c["tag"] for c in answer["changes"]] == ["rel-2"], answer


def test_an_extract_without_a_filter_is_an_invalid_policy_and_nothing_changes(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    pusher.push_tags(unique_repo, {"1": T0, "2": T0})
    image = f"{registry.host}/{unique_repo}"
    text = with_annotations(
        workload("app", f"{image}:1", "numerical:asc"), "imagebot.io/extract.app: '$ts'"
    )
    remote = bare_remote({"app.yaml": text.encode()})

    answer = run(remote, tmp_path)

    assert answer["changes"] == []
    assert "needs a filter pattern" in codes(answer)["invalid-policy"]


def test_a_minimum_age_straddling_now_takes_the_older_tag_and_waits_for_the_newer(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """semver does not order by time: the creation time is read for the candidates about to be
    chosen only (1.3.0, 1.2.0), never for 1.0.0 or the 1.1.0 below the one taken."""
    now = datetime.now(UTC)
    for tag, age in {"1.0.0": 50, "1.1.0": 30, "1.2.0": 3, "1.3.0": 1}.items():
        pusher.push_image(unique_repo, tag, created=now - age * HOUR)
    image = f"{registry.host}/{unique_repo}"
    text = with_annotations(
        workload("app", f"{image}:1.0.0", "semver:^1"), "imagebot.io/min-age.app: 2h"
    )
    remote = bare_remote({"app.yaml": text.encode()})
    before = len(registry.request_log(repo=unique_repo))

    answer = run(remote, tmp_path)

    assert [c["tag"] for c in answer["changes"]] == ["1.2.0"], answer
    assert answer["problems"] == []
    (waiting,) = answer["skipped"]
    assert waiting["code"] == "too-new" and waiting["severity"] == "info"
    assert "1 newer tag(s) not taken yet (minimum age): 1.3.0 is 1h" in waiting["message"]
    blobs = [e for e in registry.request_log(repo=unique_repo)[before:] if e.kind == "blob"]
    assert len(blobs) == 2  # the configs of 1.3.0 and 1.2.0, not of every tag


def test_a_minimum_age_from_the_settings_refuses_unknown_and_future_times(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    pusher.push_image(unique_repo, "main-1", created=now - 30 * HOUR)
    pusher.push_image(unique_repo, "main-2", created=now - 5 * HOUR)
    # No time: a reproducible build's epoch is no creation time. Future: a clock gone wrong.
    pusher.push_image(unique_repo, "1.3.0", created=datetime(1970, 1, 1, tzinfo=UTC))
    pusher.push_image(unique_repo, "1.4.0", created=now + 48 * HOUR)
    pusher.push_image(unique_repo, "1.2.0", created=now - 5 * HOUR)
    image = f"{registry.host}/{unique_repo}"
    remote = bare_remote(
        {
            "app.yaml": workload("app", f"{image}:1.0.0", "semver:^1").encode(),
            "web.yaml": workload("web", f"{image}:main-1", "glob:main-*").encode(),
        }
    )

    answer = run(remote, tmp_path, "minAge: 4h\n")

    assert sorted(c["tag"] for c in answer["changes"]) == ["1.2.0", "main-2"], answer
    unknown = codes(answer)["age-unknown"]
    assert "2 newer tag(s) not taken: minimum age set, age unknown" in unknown
    assert "1.4.0 was created in the future" in unknown
    assert "1.3.0 has no known creation time to be 4h old" in unknown


def test_a_zero_minimum_age_annotation_overrides_the_setting(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    pusher.push_image(unique_repo, "1.1.0", created=datetime.now(UTC))
    image = f"{registry.host}/{unique_repo}"
    text = with_annotations(
        workload("app", f"{image}:1.0.0", "semver:^1"), "imagebot.io/min-age.app: 0s"
    )
    remote = bare_remote({"app.yaml": text.encode()})

    answer = run(remote, tmp_path, "minAge: 24h\n")

    assert [c["tag"] for c in answer["changes"]] == ["1.1.0"], answer
