"""The numerical policy: plain numbers only, exact comparison, ties to the greater string."""

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
            "numerical:asc",
            ["1606234201", "1606364286", "1606334092"],
            "1606364286",
            id="asc-picks-largest",
        ),
        pytest.param("numerical:desc", ["5", "25", "70"], "5", id="desc-picks-smallest"),
        pytest.param("numerical:asc", ["9", "10", "100"], "100", id="numbers-not-strings"),
        pytest.param("numerical:asc", ["1", "2", "latest"], "2", id="latest-ignored"),
        pytest.param(
            "numerical:asc",
            ["1e3", "Inf", "0x1p4", "1_000", "1.2.3", "7"],
            "7",
            id="only-plain-numbers",
        ),
        pytest.param("numerical:desc", ["0010", "9", "10"], "9", id="leading-zeros"),
        pytest.param("numerical:desc", ["1e-3", "0.5", "5"], "0.5", id="decimals"),
        pytest.param(
            "numerical:asc",
            ["9007199254740993", "9007199254740992"],
            "9007199254740993",
            id="exact-beyond-float",
        ),
        pytest.param("numerical:asc", ["1.0", "1", "1.00"], "1.00", id="tie-greater-string"),
        pytest.param("numerical:desc", ["1.0", "1"], "1.0", id="desc-tie-greater-string"),
        pytest.param("numerical:asc", ["+5", "-3", ".5"], None, id="invalid-tags"),
        pytest.param("numerical:asc", [], None, id="empty"),
    ],
)
def test_numerical_policy_orders_numbers(
    policy: str, tags: list[str], expected: str | None
) -> None:
    assert choose(policy, tags) == expected


def test_numerical_policy_refuses_numbers_below_the_current_one() -> None:
    assert choose("numerical:asc", ["5", "25", "nightly"], current="20") == "25"
    assert choose("numerical:desc", ["5", "25"], current="20") == "5"
    assert choose("numerical:desc", ["25"], current="20") is None


def test_extracted_signed_numbers_count() -> None:
    policy = parse_policy("numerical:asc", filter_pattern="^n(?P<n>.*)$", extract="$n")
    tags = [TagInfo("n-3"), TagInfo("n-10"), TagInfo("n_x")]
    assert select_tag(policy, tags).chosen == TagInfo("n-3")


@pytest.mark.parametrize("policy", ["numerical:", "numerical:ASC", "numerical", "numerical:up"])
def test_numerical_needs_asc_or_desc(policy: str) -> None:
    with pytest.raises(PolicyError, match="asc"):
        parse_policy(policy)
