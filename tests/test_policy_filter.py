"""Flux v2 style filters: the pattern selects, the template extracts what the policy orders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imagebot.errors import PolicyError
from imagebot.model import PolicySpec, TagInfo
from imagebot.policy import parse_policy, select_tag


def choose(
    policy: str, tags: list[str], pattern: str, extract: str | None, current: str | None = None
) -> str | None:
    parsed = parse_policy(policy, filter_pattern=pattern, extract=extract)
    decision = select_tag(parsed, [TagInfo(t) for t in tags], current=current)
    return decision.chosen.tag if decision.chosen else None


@pytest.mark.parametrize(
    ("policy", "tags", "pattern", "extract", "expected"),
    [
        pytest.param(
            "numerical:asc",
            ["main-a-17", "main-b-5", "dev-c-99"],
            r"^main-\w+-(?P<ts>\d+)$",
            "$ts",
            "main-a-17",
            id="named-group",
        ),
        pytest.param("numerical:asc", ["v9", "v10"], r"^v(\d+)$", "$1", "v10", id="numbered-group"),
        pytest.param(
            "numerical:asc", ["v9", "v10"], r"^v(?P<n>\d+)$", "${n}", "v10", id="braced-name"
        ),
        pytest.param(
            "semver:^1.0",
            ["1.4", "1.10", "2.0"],
            r"^(?P<a>\d+)\.(?P<b>\d+)$",
            "$a.$b.0",
            "1.10",
            id="synthesised-version",
        ),
        pytest.param(
            "alphabetical:desc",
            ["rel-x", "other"],
            r"^(rel-(?P<n>.+))?",
            "$n",
            "other",
            id="unmatched-group-is-empty",
        ),
        pytest.param("alphabetical:asc", ["a-1", "b-2"], "", None, "b-2", id="empty-pattern"),
        pytest.param(
            "alphabetical:asc",
            ["Release-1", "release-2", "dev-9"],
            "(?i)^release-",
            None,
            "release-2",
            id="inline-flag",
        ),
        pytest.param("alphabetical:asc", ["x1", "x2"], "^y", None, None, id="filters-all-out"),
        pytest.param(
            "alphabetical:asc",
            ["a-1", "b-1"],
            "^(?P<n>.)-",
            "$$$n",
            "b-1",
            id="dollar-dollar-is-literal",
        ),
        pytest.param("alphabetical:asc", ["a-1", "b-1"], "-1", "$", "b-1", id="lone-dollar"),
    ],
)
def test_filters_select_and_extract(
    policy: str, tags: list[str], pattern: str, extract: str | None, expected: str | None
) -> None:
    assert choose(policy, tags, pattern, extract) == expected


def test_the_current_tag_is_extracted_for_the_downgrade_check() -> None:
    tags = ["main-b-400", "main-d-600"]
    pattern = r"^main-\w+-(?P<ts>\d+)$"
    assert choose("numerical:asc", tags, pattern, "$ts", current="main-a-500") == "main-d-600"
    assert choose("numerical:asc", tags[:1], pattern, "$ts", current="main-a-500") is None


def test_the_chosen_tag_is_reported_not_the_extracted_value() -> None:
    policy = parse_policy("alphabetical:asc", filter_pattern=r"^RELEASE\.(?P<t>.*)Z$", extract="$t")
    tags = [TagInfo("RELEASE.2023-01-31T02-24-19Z"), TagInfo("RELEASE.2023-02-09T05-16-53Z")]
    decision = select_tag(policy, tags)
    assert decision.chosen == tags[1]
    assert decision.verdicts[1].rank == "value '2023-02-09T05-16-53'"


def test_filters_apply_to_time_ordered_policies() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    policy = parse_policy("glob:*", filter_pattern="^prod-")
    decision = select_tag(policy, [TagInfo("dev-1", when), TagInfo("prod-1", when)])
    assert decision.chosen == TagInfo("prod-1", when)
    assert decision.verdicts[0].excluded == "does not match the filter"


@pytest.mark.parametrize(
    ("pattern", "extract", "message"),
    [
        pytest.param(
            r"^build-(?P<n>\d+)$", "$n0", "$n0 at position 0 names a group", id="longest-name"
        ),
        pytest.param(r"^v(\d+)$", "$2", "$2 at position 0 names a group", id="group-past-end"),
        pytest.param(r"^v(\d+)$", "x${y}", "$y at position 1", id="braced-unknown"),
        pytest.param(r"^v(\d+)$", "$01", "$01 at position 0", id="leading-zero-is-a-name"),
        pytest.param("[", None, "invalid filter '['", id="invalid-filter"),
        pytest.param(r"(?<=v)\d", None, "lookbehind", id="go-has-no-lookbehind"),
    ],
)
def test_bad_filters_and_templates_are_errors(
    pattern: str, extract: str | None, message: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy("numerical:asc", filter_pattern=pattern, extract=extract)
    assert message in str(caught.value)


def test_extract_without_a_filter_is_an_error() -> None:
    with pytest.raises(PolicyError, match="needs a filter"):
        parse_policy("numerical:asc", extract="$1")


def test_prefilter_applies_the_filter_and_the_policy() -> None:
    policy = parse_policy("numerical:asc", filter_pattern=r"^b-(?P<n>.*)$", extract="$n")
    assert [t for t in ("b-1", "b-x", "a-1") if policy.matches(t)] == ["b-1"]


def test_a_policy_spec_brings_its_own_filter() -> None:
    spec = PolicySpec("numerical:asc", "ImagePolicy flux-system/app", r"^b-(?P<n>.*)$", "$n")
    policy = parse_policy(spec)
    assert policy.text == "numerical:asc"
    assert [policy.value_of(t) for t in ("b-7", "a-7")] == ["7", None]
    with pytest.raises(TypeError, match="its own filter"):
        parse_policy(spec, filter_pattern="^x")


def test_a_policy_specs_bad_filter_is_refused_like_a_typed_one() -> None:
    with pytest.raises(PolicyError, match="needs a filter pattern"):
        parse_policy(PolicySpec("numerical:asc", "ImagePolicy a/b", None, "$n"))
