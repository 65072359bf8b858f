"""Keel's major / minor / patch: strictly newer, keep the named parts, stay on the track."""

from __future__ import annotations

import pytest

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy import parse_policy, select_tag


def choose(policy: str, tags: list[str], current: str) -> str | None:
    decision = select_tag(parse_policy(policy), [TagInfo(t) for t in tags], current=current)
    return decision.chosen.tag if decision.chosen else None


@pytest.mark.parametrize(
    ("policy", "tags", "current", "expected"),
    [
        pytest.param("major", ["1.9.0", "2.1.0", "3.0.0"], "2.0.0", "3.0.0", id="major-any-newer"),
        pytest.param("major", ["1.9.0", "2.0.0"], "2.0.0", None, id="major-strictly-newer"),
        pytest.param("minor", ["1.3", "2.5", "2.7", "3.8"], "2.5", "2.7", id="minor-keeps-major"),
        pytest.param("minor", ["1.10.0", "1.9.0"], "1.2.0", "1.10.0", id="minor-numeric"),
        pytest.param("minor", ["1.2.3", "1.1.9", "2.0.0"], "1.2.3", None, id="minor-nothing-new"),
        pytest.param("patch", ["1.3", "1.5", "2.0", "1.2.1"], "1.2", "1.2.1", id="patch-short"),
        pytest.param(
            "patch",
            ["1.4.6", "1.5.0", "1.4.7-rc1"],
            "1.4.5",
            "1.4.6",
            id="release-stays-on-releases",
        ),
        pytest.param(
            "patch",
            ["1.4.6", "1.4.6-rc1", "1.4.7-rc2"],
            "1.4.5-rc1",
            "1.4.6-rc1",
            id="prerelease-stays-on-its-track",
        ),
        pytest.param("patch", ["v1.2.4", "1.2.4"], "v1.2.3", "v1.2.4", id="v-prefix-tie"),
        pytest.param("major", ["3050", "1.4.6"], "1.4.5", "3050", id="lenient-one-part"),
        # Issue 17: Keel moves from `latest` (literally) to the highest version, prereleases
        # included, whatever the bump; imagebot chose nothing from it before.
        pytest.param("minor", ["1.3.0", "latest"], "latest", "1.3.0", id="from-latest"),
        pytest.param(
            "patch", ["1.9.0", "2.0.0-rc.1", "beta"], "latest", "2.0.0-rc.1", id="latest-pre"
        ),
        pytest.param("major", ["main", "stable"], "latest", None, id="latest-no-versions"),
        pytest.param("minor", ["1.3.0", "latest"], "main", None, id="current-not-a-version"),
        pytest.param("major", ["1.3.0"], "stable", None, id="stable-not-a-version"),
        pytest.param("major", ["1.3.0"], "Latest", None, id="latest-is-case-sensitive"),
        # Keel's `all`: any newer version, across prerelease tracks.
        pytest.param("all", ["1.4.6", "2.0.0-rc1"], "1.4.5", "2.0.0-rc1", id="all-any-track"),
        pytest.param("all", ["1.4.6-rc1", "1.4.5"], "1.4.5-rc1", "1.4.6-rc1", id="all-pre"),
        pytest.param("all", ["1.4.4", "1.4.5"], "1.4.5", None, id="all-strictly-newer"),
        pytest.param("all", ["1.0.0"], "main", None, id="all-not-from-main"),
        pytest.param("all", ["1.0.0", "1.1.0-rc1"], "latest", "1.1.0-rc1", id="all-latest"),
    ],
)
def test_bumps_pick_the_highest_allowed_newer_version(
    policy: str, tags: list[str], current: str, expected: str | None
) -> None:
    assert choose(policy, tags, current) == expected


def test_bumps_explain_each_refusal() -> None:
    tags = [TagInfo(t) for t in ("1.2.2", "2.0.0", "1.3.0-rc.1", "x", "1.2.4")]
    decision = select_tag(parse_policy("minor"), tags, current="1.2.3")
    assert {v.tag: v.excluded for v in decision.verdicts} == {
        "1.2.2": "not newer than the current tag 1.2.3",
        "1.2.4": None,
        "1.3.0-rc.1": "off the current tag's releases",
        "2.0.0": "changes a part a minor bump keeps (1.*)",
        "x": "not a version",
    }


@pytest.mark.parametrize("policy", ["major", "minor", "patch"])
def test_bumps_need_the_current_tag(policy: str) -> None:
    parsed = parse_policy(policy)
    assert parsed.needs_current and not parsed.needs_created
    with pytest.raises(PolicyError, match="current tag"):
        select_tag(parsed, [TagInfo("1.0.0")])


def test_bumps_prefilter_versions_only() -> None:
    assert [t for t in ("1.2", "v3", "latest", "1.2.3.4") if parse_policy("patch").matches(t)] == [
        "1.2",
        "v3",
    ]
