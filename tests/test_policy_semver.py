"""The semver policy: lenient version reading, precedence, ties, prereleases and ranges."""

from __future__ import annotations

import pytest

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy import parse_policy, parse_version, select_tag


def choose(policy: str, tags: list[str], current: str | None = None) -> str | None:
    decision = select_tag(parse_policy(policy), [TagInfo(t) for t in tags], current=current)
    return decision.chosen.tag if decision.chosen else None


@pytest.mark.parametrize(
    ("text", "spelled", "parts"),
    [
        pytest.param("1", "1.0.0", 1, id="one-part"),
        pytest.param("1.2", "1.2.0", 2, id="two-parts"),
        pytest.param("v1.2.3", "1.2.3", 3, id="lower-case-v"),
        pytest.param("v2025.02.03-rc.1", "2025.2.3-rc.1", 3, id="calver-leading-zeros"),
        pytest.param("1.2.3+build.7", "1.2.3", 3, id="metadata-dropped"),
        pytest.param("1.0.0-alpha.-1", "1.0.0-alpha.-1", 3, id="hyphen-identifier"),
        pytest.param("18446744073709551615", "18446744073709551615.0.0", 1, id="uint64-max"),
    ],
)
def test_versions_are_read_leniently(text: str, spelled: str, parts: int) -> None:
    version = parse_version(text)
    assert version is not None
    assert (str(version), version.parts) == (spelled, parts)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("V1.2.3", id="upper-case-v"),
        pytest.param("1.2.3.4", id="four-parts"),
        pytest.param("1.0.0p", id="suffix"),
        pytest.param("1.2.3-rc_1", id="underscore-in-prerelease"),
        pytest.param("1.2.3-01", id="leading-zero-prerelease-number"),
        pytest.param("1.2.3-", id="empty-prerelease"),
        pytest.param("18446744073709551616", id="past-uint64"),
        pytest.param("latest", id="word"),
        pytest.param("", id="empty"),
    ],
)
def test_non_versions_are_not_read(text: str) -> None:
    assert parse_version(text) is None


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        pytest.param("1.0.0-alpha", "1.0.0-alpha.1", id="longer-prerelease"),
        pytest.param("1.0.0-alpha.1", "1.0.0-alpha.beta", id="number-before-word"),
        pytest.param("1.0.0-beta.2", "1.0.0-beta.11", id="numbers-as-numbers"),
        pytest.param("1.0.0-rc.1", "1.0.0", id="release-after-prerelease"),
        pytest.param("1.9.0", "1.10.0", id="numeric-minor"),
        pytest.param("1.0.0-RC", "1.0.0-rc", id="ascii-order-of-words"),
        # Masterminds (Flux) reads a number past 64 bits as a word, compared as text; the spec
        # and the ``semver`` package compare it as a number and would order these the other way.
        pytest.param(
            "1.0.0-rc.100000000000000000000",
            "1.0.0-rc.99999999999999999999",
            id="numbers-past-uint64-are-words",
        ),
    ],
)
def test_precedence_follows_semver(lower: str, higher: str) -> None:
    low, high = parse_version(lower), parse_version(higher)
    assert low is not None and high is not None
    assert low.key < high.key


@pytest.mark.parametrize(
    ("policy", "tags", "expected"),
    [
        pytest.param("semver:*", ["1", "1.0", "1.0.0"], "1.0.0", id="most-specific-wins"),
        pytest.param("semver:*", ["v1.2.3", "1.2.3"], "v1.2.3", id="then-greater-string"),
        pytest.param("semver:*", ["1.2.3", "1.2.03"], "1.2.3", id="leading-zero-loses-tie"),
        pytest.param("semver:^1", ["1.10", "1.9.9", "2"], "1.10", id="short-forms-compete"),
        pytest.param("semver:*", ["1.1.0-rc.1", "1.0.0"], "1.0.0", id="star-skips-prereleases"),
        pytest.param("semver:>=1.0.0-0", ["1.1.0-rc.1", "1.0.0"], "1.1.0-rc.1", id="opt-in-pre"),
        pytest.param("semver:~1.2", ["1.2.9", "1.3.0", "1.2.10-rc.1"], "1.2.9", id="tilde"),
        pytest.param("semver:*", [], None, id="empty-list"),
        pytest.param("semver:*", ["latest", "main", "V2.0.0"], None, id="nothing-is-a-version"),
        pytest.param("semver:*", ["1.2.3-β", "0.1.0"], "0.1.0", id="unicode-tag-is-invalid"),
    ],
)
def test_semver_policy_picks_the_highest_version_in_range(
    policy: str, tags: list[str], expected: str | None
) -> None:
    assert choose(policy, tags) == expected


def test_semver_policy_refuses_versions_below_the_current_one() -> None:
    assert choose("semver:>=1.0.0", ["1.5.0", "1.9.0"], current="2.0.0") is None
    assert choose("semver:>=1.0.0", ["1.5.0", "2.1.0"], current="2.0.0") == "2.1.0"


def test_semver_policy_checks_downgrades_even_when_the_current_tag_is_outside_the_range() -> None:
    assert choose("semver:<2", ["1.9.0", "2.1.0"], current="2.1.0") is None


def test_semver_policy_skips_the_downgrade_check_when_the_current_tag_is_not_a_version() -> None:
    decision = select_tag(parse_policy("semver:*"), [TagInfo("1.0.0")], current="latest")
    assert decision.chosen == TagInfo("1.0.0")
    assert "no downgrade check" in decision.reason


def test_semver_explains_why_a_prerelease_is_out() -> None:
    decision = select_tag(parse_policy("semver:>=1.0.0"), [TagInfo("1.1.0-rc.1")])
    assert decision.verdicts[0].excluded == "a prerelease, and the range '>=1.0.0' admits none"


def test_invalid_range_is_a_policy_error_with_position() -> None:
    with pytest.raises(PolicyError, match=r"cannot read 'p' at position 5"):
        parse_policy("semver:1.0.0p")
