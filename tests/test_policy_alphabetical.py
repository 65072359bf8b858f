"""The alphabetical policy: byte order, both directions, ties to the greater tag."""

from __future__ import annotations

import pytest

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy import parse_policy, select_tag


def choose(policy: str, tags: list[str], current: str | None = None) -> str | None:
    decision = select_tag(parse_policy(policy), [TagInfo(t) for t in tags], current=current)
    return decision.chosen.tag if decision.chosen else None


@pytest.mark.parametrize(
    ("policy", "tags", "expected"),
    [
        pytest.param(
            "alphabetical:asc",
            ["16.04", "16.04.1", "20.10", "20.04"],
            "20.10",
            id="asc-picks-greatest",
        ),
        pytest.param(
            "alphabetical:desc", ["xenial", "zesty", "artful"], "artful", id="desc-picks-smallest"
        ),
        pytest.param("alphabetical:asc", ["9", "10", "100"], "9", id="strings-not-numbers"),
        pytest.param("alphabetical:asc", ["Zz", "yy"], "yy", id="upper-case-first"),
        pytest.param("alphabetical:desc", ["ab", "a"], "a", id="desc-prefix-first"),
        pytest.param("alphabetical:asc", ["ab", "a"], "ab", id="asc-prefix-last"),
        pytest.param("alphabetical:asc", ["zz/top", "a:b", "yy"], "yy", id="invalid-tags"),
        pytest.param("alphabetical:asc", ["ß", "Ω1", "zz"], "zz", id="unicode-invalid"),
        pytest.param("alphabetical:asc", ["latest", "1.0"], "latest", id="latest-is-a-word"),
        pytest.param("alphabetical:desc", [], None, id="empty"),
    ],
)
def test_alphabetical_policy_orders_bytes(
    policy: str, tags: list[str], expected: str | None
) -> None:
    assert choose(policy, tags) == expected


def test_alphabetical_policy_refuses_values_below_the_current_one() -> None:
    assert choose("alphabetical:asc", ["a", "b", "c"], current="b") == "c"
    assert choose("alphabetical:desc", ["b", "c"], current="b") == "b"
    assert choose("alphabetical:desc", ["c"], current="b") is None


def test_desc_ties_go_to_the_greater_tag_too() -> None:
    policy = parse_policy("alphabetical:desc", filter_pattern="^(?P<d>[0-9]+)-", extract="$d")
    tags = [TagInfo("1-a"), TagInfo("1-b"), TagInfo("2-z")]
    assert select_tag(policy, tags).chosen == TagInfo("1-b")


@pytest.mark.parametrize("policy", ["alphabetical:", "alphabetical", "alphabetical:Desc"])
def test_alphabetical_needs_asc_or_desc(policy: str) -> None:
    with pytest.raises(PolicyError, match="alphabetical"):
        parse_policy(policy)
