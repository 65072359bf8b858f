"""Selection rules shared by every kind: duplicates, invalid tags, downgrades, explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imagebot.errors import PolicyError
from imagebot.model import Digest, TagInfo
from imagebot.policy import Decision, Verdict, parse_policy, select_tag

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_repeated_tags_collapse_to_the_newest_entry() -> None:
    old, new = TagInfo("a", T0), TagInfo("a", T0 + timedelta(hours=1), Digest("sha256:1"))
    for order in ([old, new], [new, old]):
        decision = select_tag(parse_policy("glob:*"), [*order, TagInfo("a")])
        assert decision.chosen == new
        assert len(decision.verdicts) == 1


def test_allow_downgrade_lets_a_lower_candidate_win() -> None:
    policy = parse_policy("semver:*")
    tags = [TagInfo("1.5.0")]
    assert select_tag(policy, tags, current="2.0.0").chosen is None
    assert select_tag(policy, tags, current="2.0.0", allow_downgrade=True).chosen == tags[0]


def test_the_current_tag_itself_is_not_a_downgrade() -> None:
    tags = [TagInfo("1.0.0"), TagInfo("0.9.0")]
    decision = select_tag(parse_policy("semver:*"), tags, current="1.0.0")
    assert decision.chosen == tags[0]


def test_an_equal_version_spelled_less_specifically_ranks_below_the_current_tag() -> None:
    decision = select_tag(parse_policy("semver:*"), [TagInfo("1.2")], current="1.2.0")
    assert decision.chosen is None
    assert decision.verdicts == (
        Verdict("1.2", "ranks below the current tag 1.2.0 (version 1.2.0)"),
    )


def test_the_reason_summarises_why_nothing_qualifies() -> None:
    tags = [TagInfo(t) for t in ("latest", "main", "bad tag", "0.1.0")]
    decision = select_tag(parse_policy("semver:>=1"), tags)
    assert decision.chosen is None
    assert decision.reason == (
        "none of 4 tag(s) qualifies: not a version (2 tags); "
        "not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) (1 tag); "
        "outside the range '>=1' (1 tag)"
    )


def test_the_reason_names_the_winner_and_how_it_ranked() -> None:
    decision = select_tag(parse_policy("semver:*"), [TagInfo("1.0.0"), TagInfo("1.1.0")])
    assert decision.reason == "1.1.0 ranks first of 2 qualifying tag(s): version 1.1.0"


def test_an_empty_candidate_list_chooses_nothing() -> None:
    assert select_tag(parse_policy("glob:*"), []) == Decision(None, "no tags to choose from")


def test_verdicts_are_sorted_by_tag_and_mark_the_winner() -> None:
    tags = [TagInfo(t) for t in ("2.0.0", "x", "1.0.0")]
    decision = select_tag(parse_policy("semver:*"), tags)
    assert [str(v) for v in decision.verdicts] == [
        "1.0.0: ranked: version 1.0.0",
        "2.0.0: chosen: version 2.0.0",
        "x: excluded: not a version",
    ]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        pytest.param("", "empty policy", id="empty"),
        pytest.param("  ", "empty policy", id="blank"),
        pytest.param("foo:bar", "unknown policy kind 'foo'", id="unknown-kind"),
        pytest.param("semver", "write semver:RANGE", id="kind-without-argument"),
        pytest.param("alphabetical:", "takes 'asc' or 'desc'", id="missing-order"),
    ],
)
def test_malformed_policy_strings_are_errors(policy: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("policy", "needs_created", "needs_current"),
    [
        pytest.param("glob:*", True, False, id="glob"),
        pytest.param("develop-*", True, False, id="bare-glob"),
        pytest.param("regex:^a", True, False, id="regex"),
        pytest.param("semver:*", False, False, id="semver"),
        pytest.param("numerical:asc", False, False, id="numerical"),
        pytest.param("alphabetical:desc", False, False, id="alphabetical"),
        pytest.param("patch", False, True, id="patch"),
    ],
)
def test_policies_say_what_they_need(policy: str, needs_created: bool, needs_current: bool) -> None:
    parsed = parse_policy(policy)
    assert (parsed.text, parsed.needs_created, parsed.needs_current) == (
        policy,
        needs_created,
        needs_current,
    )


def test_prefilter_rejects_invalid_tags_for_every_kind() -> None:
    for policy in ("glob:*", "regex:.", "semver:*", "numerical:asc", "alphabetical:asc", "major"):
        assert not parse_policy(policy).matches("1.0.0+meta")
