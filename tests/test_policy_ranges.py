"""Masterminds range semantics beyond the acceptance table (fixtures/acceptance/): quirks, groups,
and precise errors."""

from __future__ import annotations

import pytest

from imagebot.errors import PolicyError
from imagebot.policy import parse_range, parse_version


def satisfies(constraint: str, version: str) -> bool:
    parsed = parse_version(version)
    assert parsed is not None, version
    return parse_range(constraint).check(parsed.key)


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        pytest.param("^*", "0.0.1", False, id="caret-star-is-caret-zero"),
        pytest.param("~*", "7.1.2", True, id="tilde-star-is-anything"),
        pytest.param("!=*", "1.0.0", True, id="not-star-only-excludes-0.0.0"),
        pytest.param("!=1.2.x", "1.3.0", True, id="not-equal-wildcard-other-minor"),
        pytest.param("!=1.2.x", "1.2.7", False, id="not-equal-wildcard-same-line"),
        pytest.param("<=1.2", "1.2.99", True, id="less-equal-whole-line"),
        pytest.param(">1.2", "1.3.0", True, id="greater-than-line"),
        pytest.param("=>1.2.3", "1.2.3", True, id="reversed-greater-equal"),
        pytest.param("=<1.2.3", "1.2.4", False, id="reversed-less-equal"),
        pytest.param("~>1.2.3", "1.2.9", True, id="pessimistic"),
        pytest.param("^0.0", "0.0.9", True, id="caret-zero-zero"),
        pytest.param("1.2.3,1.2.3", "1.2.3", True, id="comma-without-space"),
        pytest.param(">=1.0.0-0 <2 || ^3", "3.0.0-rc.1", False, id="prerelease-group-is-local"),
        pytest.param(">=1.0.0-0 <2 || ^3", "1.5.0-rc.1", True, id="prerelease-group-admits"),
        pytest.param("1.2 - 1.4.5", "1.4.6", False, id="hyphen-upper-bound"),
        pytest.param("1.2.3 - 2 || 5", "5.1.0", True, id="hyphen-then-or"),
        pytest.param("  >= 1.0.0  ", "1.0.0", True, id="surrounding-space"),
        pytest.param("v1.x", "1.9.0", True, id="v-wildcard"),
    ],
)
def test_ranges_match_like_masterminds(constraint: str, version: str, expected: bool) -> None:
    assert satisfies(constraint, version) is expected


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        pytest.param("", "empty semver range", id="empty"),
        pytest.param("1.2.3 ||", "alternative 2 of 2 is empty (position 8)", id="empty-or"),
        pytest.param("|| 1.2.3", "alternative 1 of 2 is empty (position 0)", id="leading-or"),
        pytest.param("1.0.0p", "cannot read 'p' at position 5", id="suffix"),
        pytest.param(">=1 <2 foo", "cannot read 'foo' at position 7", id="word"),
        pytest.param("-1", "cannot read '-1' at position 0", id="negative"),
        pytest.param("*-*", "cannot read '-*' at position 1", id="star-dash-star"),
        pytest.param("1.2.3.4", "cannot read '.4' at position 5", id="four-parts"),
        pytest.param(">=1.0,", "cannot read ','", id="trailing-comma"),
        pytest.param("1|2", "'1|2' in '1|2' is not a version", id="single-bar"),
        pytest.param("~1.2.3-beta.02", "is not a version", id="leading-zero-prerelease"),
        pytest.param(">=18446744073709551616", "is not a version", id="past-uint64"),
        pytest.param(">= 1 - 2", "cannot read", id="operator-before-hyphen"),
    ],
)
def test_invalid_ranges_say_where_and_why(constraint: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_range(constraint)
    assert message in str(caught.value)
