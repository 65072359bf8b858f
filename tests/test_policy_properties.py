"""Properties that must hold for any input: order independence, the filter holds for the
chosen tag, and nothing below the current tag is chosen unless downgrades are allowed.

The downgrade property checks versions with the `semver` package, an implementation
independent of ours, so the property does not merely restate the code.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import semver
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy import RankMemo, parse_policy, select_tag
from tests.lane_support import examples

T0 = datetime(2024, 1, 1, tzinfo=UTC)
POLICIES = [
    "glob:*",
    "glob:v1.*",
    "regex:^v?[0-9]",
    "semver:*",
    "semver:>=1.0.0-0 <3",
    "semver:^1.x || ~2.1",
    "numerical:asc",
    "numerical:desc",
    "alphabetical:asc",
    "alphabetical:desc",
]
FILTERS = ["", "^v", "[0-9]$", r"^(?P<major>\d+)\.", "rc"]

versions = st.builds(
    lambda v, parts, pre: (v + ".".join(map(str, parts))) + (f"-rc.{pre}" if pre else ""),
    st.sampled_from(["", "v"]),
    st.lists(st.integers(0, 12), min_size=1, max_size=3),
    st.one_of(st.none(), st.integers(0, 3)),
)
words = st.text(alphabet="ab-_.19vV", min_size=1, max_size=6)
tags = st.one_of(versions, words, st.sampled_from(["latest", "LATEST", "-x", "é1"]))
times = st.one_of(st.none(), st.integers(0, 5).map(lambda h: T0 + timedelta(hours=h)))
candidates = st.lists(st.builds(TagInfo, tags, times), max_size=12)


@settings(max_examples=examples(300), deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    infos=candidates,
    current=st.one_of(st.none(), tags),
    data=st.data(),
)
def test_the_choice_does_not_depend_on_input_order(
    policy: str, infos: list[TagInfo], current: str | None, data: st.DataObject
) -> None:
    parsed = parse_policy(policy)
    shuffled = data.draw(st.permutations(infos))
    first = select_tag(parsed, infos, current=current)
    second = select_tag(parsed, shuffled, current=current)
    assert first.chosen == second.chosen
    assert first.verdicts == second.verdicts


@settings(max_examples=examples(300), deadline=None)
@given(policy=st.sampled_from(POLICIES), pattern=st.sampled_from(FILTERS), infos=candidates)
def test_the_chosen_tag_satisfies_the_filter(
    policy: str, pattern: str, infos: list[TagInfo]
) -> None:
    extract = "$major" if "major" in pattern else None
    decision = select_tag(parse_policy(policy, filter_pattern=pattern, extract=extract), infos)
    if decision.chosen is not None:
        assert re.search(pattern, decision.chosen.tag)
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", decision.chosen.tag)


def _semver(tag: str) -> semver.Version:
    core, _, pre = tag.removeprefix("v").partition("-")
    parts = [str(int(p)) for p in core.split(".")] + ["0", "0"]
    return semver.Version.parse(".".join(parts[:3]) + (f"-{pre}" if pre else ""))


@settings(max_examples=examples(300), deadline=None)
@given(
    policy=st.sampled_from(["semver:*", "semver:>=0.0.0-0", "major", "minor", "patch"]),
    infos=st.lists(st.builds(TagInfo, versions), max_size=12),
    current=versions,
)
def test_no_version_below_the_current_one_is_chosen(
    policy: str, infos: list[TagInfo], current: str
) -> None:
    decision = select_tag(parse_policy(policy), infos, current=current)
    if decision.chosen is not None:
        assert _semver(decision.chosen.tag) >= _semver(current)


@settings(max_examples=examples(300), deadline=None)
@given(infos=candidates, current=tags, current_hour=st.integers(0, 5))
def test_no_image_older_than_the_current_one_is_chosen(
    infos: list[TagInfo], current: str, current_hour: int
) -> None:
    when = T0 + timedelta(hours=current_hour)
    decision = select_tag(parse_policy("glob:*"), infos, current=current, current_created=when)
    if decision.chosen is not None:
        assert decision.chosen.created is not None and decision.chosen.created >= when


@settings(max_examples=examples(200), deadline=None)
@given(policy=st.sampled_from(POLICIES), infos=candidates, current=tags)
def test_allowing_downgrades_is_choosing_as_if_nothing_were_deployed(
    policy: str, infos: list[TagInfo], current: str
) -> None:
    parsed = parse_policy(policy)
    # The current tag's own creation time must not leak in through the candidates.
    others = [i for i in infos if i.tag != current]
    allowed = select_tag(parsed, others, current=current, allow_downgrade=True)
    assert allowed.chosen == select_tag(parsed, others).chosen


BUMPS_AND_TIMES = [*POLICIES, "minor", "patch", "major", "all", "latest", "glob:*@newest"]


@settings(max_examples=examples(200), deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(BUMPS_AND_TIMES),
            st.one_of(st.none(), tags),
            st.integers(0, 3),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    infos=candidates,
)
def test_one_rank_memo_for_many_choices_changes_no_choice(
    calls: list[tuple[str, str | None, int, bool]], infos: list[TagInfo]
) -> None:
    """A plan shares one ``RankMemo`` between all its targets: policies, deployed tags and
    pools (a gate drops refused winners) mixed, every decision is the one without it."""
    memo: RankMemo = {}
    for policy, current, dropped, downgrade in calls:
        try:
            parsed = parse_policy(policy)
        except PolicyError:
            continue
        if parsed.needs_current and not current:
            continue
        pool = infos[dropped:]
        alone = select_tag(parsed, pool, current=current, allow_downgrade=downgrade)
        shared = select_tag(parsed, pool, current=current, allow_downgrade=downgrade, memo=memo)
        assert shared.chosen == alone.chosen
        assert shared.reason == alone.reason
        assert shared.verdicts == alone.verdicts
