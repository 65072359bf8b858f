"""Glob and regex policies: pattern matching, newest creation time, ties, 'latest', no times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy import parse_policy, select_tag

START = datetime(2024, 3, 1, tzinfo=UTC)


def choose(policy: str, created: dict[str, int | None], current: str | None = None) -> str | None:
    """``created`` maps each tag to its creation hour (None: unknown)."""
    tags = [
        TagInfo(tag, None if hour is None else START + timedelta(hours=hour))
        for tag, hour in created.items()
    ]
    decision = select_tag(parse_policy(policy), tags, current=current)
    return decision.chosen.tag if decision.chosen else None


@pytest.mark.parametrize(
    ("policy", "created", "expected"),
    [
        pytest.param("glob:*", {"1.0.0": 1, "0.9.0": 2, "feature": 3}, "feature", id="newest"),
        pytest.param("develop-v*", {"develop-v1": 2, "main-v9": 5}, "develop-v1", id="bare-glob"),
        pytest.param("glob:v1.?", {"v1.2": 1, "v1.3": 2, "v1.10": 3}, "v1.3", id="question-mark"),
        pytest.param("glob:rc-[0-9]", {"rc-1": 1, "rc-a": 2}, "rc-1", id="bracket-range"),
        pytest.param("glob:rc-[!0-9]", {"rc-1": 2, "rc-a": 1}, "rc-a", id="negated-bracket"),
        pytest.param("glob:Main-*", {"main-1": 2, "Main-1": 1}, "Main-1", id="case-sensitive"),
        pytest.param("glob:a\\*", {"a*": 1, "ab": 2}, None, id="escaped-star-is-literal"),
        pytest.param("glob:master-*", {"master-": 1, "master": 2}, "master-", id="star-empty"),
        pytest.param("glob:build-*", {"build-9": 1, "build-10": 1}, "build-10", id="natural-tie"),
        pytest.param("glob:*", {"b": None, "a": None}, None, id="no-times-no-choice"),
        pytest.param("glob:*", {"old": 1, "new": None}, "old", id="timeless-never-wins"),
        pytest.param("glob:*", {"latest": 9, "v1": 1}, "v1", id="latest-excluded"),
        pytest.param("glob:*", {"LaTeSt": 9}, None, id="latest-any-case"),
        pytest.param("glob:latest", {"latest": 1, "v1": 2}, "latest", id="exactly-latest"),
        pytest.param("glob:*", {"ok": 1, ".hidden": 5, "-dash": 6}, "ok", id="invalid-tags"),
        pytest.param("regex:^main-", {"main-b": 1, "main-a": 2}, "main-a", id="regex-newest"),
        pytest.param("regexp:[0-9]+$", {"a1": 1, "b2": 3, "c": 9}, "b2", id="regexp-unanchored"),
        pytest.param("regex:(?i)^RC-", {"rc-1": 2, "RC-2": 1}, "rc-1", id="inline-flag"),
        pytest.param("regex:^v", {"v1.10": 4, "v1.2": 4}, "v1.10", id="regex-natural-tie"),
        pytest.param("regex:^latest$", {"latest": 1}, None, id="anchored-latest-excluded"),
        # Flux v1 admits `latest` for the glob `latest` alone (pkg/update/images.go).
        pytest.param("regex:latest", {"latest": 1}, None, id="regex-latest-excluded"),
        pytest.param("glob:LATEST", {"LATEST": 1}, None, id="glob-latest-is-case-sensitive"),
        pytest.param("regex:", {"a": 1, "b": 2, "latest": 3}, "b", id="empty-regex-finds-all"),
        pytest.param("regex:[[:digit:]]{3}", {"a123": 1, "a12": 2}, "a123", id="posix-class"),
        pytest.param(r"regex:^v\d+$", {"v12": 1, "v1x": 2}, "v12", id="ascii-classes"),
    ],
)
def test_time_ordered_policies_pick_the_newest_match(
    policy: str, created: dict[str, int | None], expected: str | None
) -> None:
    assert choose(policy, created) == expected


def test_equal_times_in_any_time_zone_tie() -> None:
    east = datetime(2024, 5, 1, 10, tzinfo=UTC)
    west = datetime(2024, 5, 1, 3, tzinfo=timezone(timedelta(hours=-7)))
    decision = select_tag(parse_policy("glob:*"), [TagInfo("t9", east), TagInfo("t10", west)])
    assert decision.chosen is not None and decision.chosen.tag == "t10"


def test_images_older_than_the_current_one_are_refused() -> None:
    created = {"release-1": 2, "release-2": 4, "main-7": 3}
    assert choose("glob:release-*", created, current="main-7") == "release-2"
    assert choose("glob:release-*", {"release-1": 2, "main-7": 3}, current="main-7") is None


def test_without_the_current_images_time_there_is_no_downgrade_check() -> None:
    decision = select_tag(
        parse_policy("glob:release-*"),
        [TagInfo("release-1", START)],
        current="release-9",
    )
    assert decision.chosen == TagInfo("release-1", START)
    assert "no downgrade check for the current tag release-9: has no known creation time" in (
        decision.reason
    )


def test_an_explicit_current_creation_time_is_used() -> None:
    decision = select_tag(
        parse_policy("glob:release-*"),
        [TagInfo("release-1", START)],
        current="release-9",
        current_created=START + timedelta(hours=1),
    )
    assert decision.chosen is None


def test_explanation_names_tags_without_a_creation_time() -> None:
    decision = select_tag(parse_policy("glob:*"), [TagInfo("a"), TagInfo("b", START)])
    assert [str(v) for v in decision.verdicts] == [
        "a: excluded: has no known creation time",
        "b: chosen: created 2024-03-01T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        pytest.param("glob:", "the pattern is empty", id="empty-glob"),
        pytest.param("glob:rc-[0-9", "'[' at position 3 is never closed", id="open-bracket"),
        pytest.param("glob:[z-a]", "range z-a at position 1 is reversed", id="reversed-range"),
        pytest.param("glob:a\\", "trailing '\\' at position 1", id="trailing-backslash"),
        pytest.param("regex:[", "unterminated character set at position 0", id="open-set"),
        pytest.param("regexp:(?P<x", "unterminated name at position 4", id="open-group-name"),
        pytest.param("regex:^(?!latest)", "negative lookahead '(?!' at position 1", id="lookahead"),
        pytest.param(r"regex:(\w)\1", "the escape \\1 at position 4", id="backreference"),
        pytest.param("regex:a*+", "possessive repeat", id="possessive"),
        pytest.param("regex:a{1001}", "repeat count over 1000", id="huge-repeat"),
        pytest.param("regex:[[:nope:]]", "[:nope:] at position 1", id="unknown-class"),
    ],
)
def test_invalid_patterns_are_errors_with_a_position(policy: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy)
    assert message in str(caught.value)


def test_time_ordered_policies_ask_for_creation_times_of_matching_tags_only() -> None:
    policy = parse_policy("glob:develop-v*")
    assert policy.needs_created and not policy.needs_current
    assert [t for t in ("develop-v1", "main-v2", "latest", "develop-vé") if policy.matches(t)] == [
        "develop-v1"
    ]
