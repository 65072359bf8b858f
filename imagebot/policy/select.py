"""Choose one tag: candidates + policy + current tag -> a ``Decision`` that explains itself.

The choice never depends on input order: repeated tags collapse to one (the newest entry wins),
ranks are total (primary, then the kind's tie key, then the greater tag), and a candidate that
ranks below the current tag is refused unless downgrades are allowed. Invalid tags are never
candidates. The registry and reconcile layers supply the candidates; this module only decides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from datetime import datetime

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy.protocol import Key, Ordering, Policy, Rank, Ranker
from imagebot.records import record
from imagebot.refs import TAG_PATTERN

NOT_A_TAG = "not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})"
FILTERED_OUT = "does not match the filter"
_VALID_TAG = re.compile(TAG_PATTERN)


@record
class Verdict:
    """What the policy made of one candidate: why it was excluded, or how it ranked."""

    tag: str
    excluded: str | None = None
    rank: str = ""
    chosen: bool = False

    def __str__(self) -> str:
        if self.excluded is not None:
            return f"{self.tag}: excluded: {self.excluded}"
        return f"{self.tag}: {'chosen' if self.chosen else 'ranked'}: {self.rank}"


class Explanation:
    """What selection learnt about every candidate, turned into verdicts only when asked:
    reconcile needs the choice, not 100,000 verdict objects."""

    __slots__ = ("_cache", "_chosen", "_excluded", "_ordering", "_ranks", "_tags")

    def __init__(
        self,
        tags: Iterable[str],
        excluded: Mapping[str, str],
        ranks: Mapping[str, Rank],
        ordering: Ordering | None,
        chosen: str | None,
    ) -> None:
        self._tags, self._excluded, self._ranks = tags, excluded, ranks
        self._ordering, self._chosen = ordering, chosen
        self._cache: tuple[Verdict, ...] | None = None

    def verdicts(self) -> tuple[Verdict, ...]:
        if self._cache is None:
            out = []
            for tag in sorted(self._tags):
                ranked = self._ranks.get(tag)
                if ranked is None or self._ordering is None:
                    out.append(Verdict(tag, self._excluded.get(tag, "")))
                else:
                    rank = self._ordering.describe(ranked)
                    out.append(Verdict(tag, None, rank, tag == self._chosen))
            self._cache = tuple(out)
        return self._cache


_NOTHING = Explanation((), {}, {}, None, None)

RankMemo = dict[tuple[object, ...], dict[tuple[str, "datetime | None"], "Rank | str"]]
"""What policies made of tags before: by scope (the policy, and the current value for kinds that
rank relative to it), then by tag and creation time, a rank or why the tag was excluded.
``select_tag`` with one memo for a whole plan ranks a repository's tags once, not once per
deployed tag. The scope is looked up once per call: a policy is a tree of records, and hashing it
again for each of a repository's tags cost more than ranking them."""


@record
class Decision:
    """The chosen candidate (None when nothing qualifies), why, and ``verdicts``: one per
    distinct tag, sorted by tag, built on first access."""

    chosen: TagInfo | None
    reason: str
    explanation: Explanation = field(default=_NOTHING, repr=False, compare=False)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return self.explanation.verdicts()


def select_tag(
    policy: Policy,
    candidates: Sequence[TagInfo],
    *,
    current: str | None = None,
    current_created: datetime | None = None,
    allow_downgrade: bool = False,
    memo: RankMemo | None = None,
) -> Decision:
    """Pick the best candidate under ``policy``; see the module docstring for the rules.

    ``current_created`` defaults to the creation time of the current tag among the candidates.
    ``memo`` keeps what each tag ranked (``RankMemo``) for the next call.
    Raises PolicyError when the policy needs the current tag and there is none.
    """
    if policy.needs_current and not current:
        raise PolicyError(f"policy {policy.text!r} picks relative to the current tag; none given")
    unique = _unique(candidates)
    ordering = policy.ordering
    current_value = None
    if current:
        # The filter may reject the deployed tag; it is then compared as written.
        current_value = policy.value_of(current)
        current_value = current if current_value is None else current_value
        if current_created is None and current in unique:
            current_created = unique[current].created
    floor, note = None, ""
    if current and current_value is not None and not allow_downgrade:
        floor, note = _floor(ordering, current, current_value, current_created)

    rank = ordering.ranker(current_value)
    value_of = policy.value_of
    valid = _VALID_TAG.fullmatch
    known = (
        None
        if memo is None
        else memo.setdefault((policy, current_value if ordering.needs_current else None), {})
    )
    excluded: dict[str, str] = {}
    ranks: dict[str, Rank] = {}
    best: list[tuple[Rank, TagInfo]] = []
    top: Key | None = None
    for tag, info in unique.items():
        if known is None:
            ranked = _rank_one(tag, info.created, valid, value_of, rank)
        else:
            key = (tag, info.created)
            ranked = known.get(key) or known.setdefault(
                key, _rank_one(tag, info.created, valid, value_of, rank)
            )
        if isinstance(ranked, str):
            excluded[tag] = ranked
            continue
        if floor is not None and _below(ordering, ranked, tag, floor):
            excluded[tag] = f"ranks below the current tag {current} ({floor[3]})"
            continue
        ranks[tag] = ranked
        primary = ranked[0]
        if top is None or primary > top:
            top, best = primary, [(ranked, info)]
        elif primary == top:
            best.append((ranked, info))

    chosen = None
    if best:
        chosen = max(best, key=lambda pair: (ordering.tie_key(pair[0][1]), pair[1].tag))[1]
    explanation = Explanation(unique, excluded, ranks, ordering, chosen.tag if chosen else None)
    return Decision(chosen, _reason(chosen, ranks, excluded, ordering, note), explanation)


def _rank_one(
    tag: str,
    created: datetime | None,
    valid: Callable[[str], object],
    value_of: Callable[[str], str | None],
    rank: Ranker,
) -> Rank | str:
    """How one tag ranks, or why it is excluded."""
    if valid(tag) is None:
        return NOT_A_TAG
    value = value_of(tag)
    return FILTERED_OUT if value is None else rank(value, created)


def _unique(candidates: Iterable[TagInfo]) -> dict[str, TagInfo]:
    """One entry per tag; of repeated entries the newest (then the greatest digest) wins."""
    unique: dict[str, TagInfo] = {}
    for info in candidates:
        seen = unique.get(info.tag)
        if seen is None or _freshness(info) > _freshness(seen):
            unique[info.tag] = info
    return unique


def _freshness(info: TagInfo) -> tuple[bool, datetime | None, str]:
    return (info.created is not None, info.created, info.digest or "")


Floor = tuple[Key, Key, str, str]  # primary, tie key, tag, description


def _floor(
    ordering: Ordering, current: str, value: str, created: datetime | None
) -> tuple[Floor | None, str]:
    placed = ordering.place(value, created)
    if isinstance(placed, str):
        return None, f"no downgrade check for the current tag {current}: {placed}"
    return (placed[0], ordering.tie_key(value), current, ordering.describe(placed)), ""


def _below(ordering: Ordering, ranked: Rank, tag: str, floor: Floor) -> bool:
    primary, value = ranked
    if primary != floor[0]:
        return primary < floor[0]
    return (ordering.tie_key(value), tag) < (floor[1], floor[2])


def _reason(
    chosen: TagInfo | None,
    ranks: dict[str, Rank],
    excluded: dict[str, str],
    ordering: Ordering,
    note: str,
) -> str:
    suffix = f" ({note})" if note else ""
    if chosen is not None:
        how = ordering.describe(ranks[chosen.tag])
        return f"{chosen.tag} ranks first of {len(ranks)} qualifying tag(s): {how}{suffix}"
    if not excluded:
        return f"no tags to choose from{suffix}"
    counts = Counter(excluded.values()).most_common()
    why = "; ".join(f"{reason} ({n} tag{'s' if n > 1 else ''})" for reason, n in counts)
    return f"none of {len(excluded)} tag(s) qualifies: {why}{suffix}"
