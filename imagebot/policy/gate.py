"""The last checks on the candidate a policy is about to choose: required platforms, minimum age.

A policy ranks tags; these rules say whether the winner may be taken now. They are checked on the
candidate about to be chosen only, never on every tag: when it fails, the policy chooses again
without it and the next candidate is examined. So a too-young or incomplete newest tag never
turns into a downgrade: the fallback is the best remaining candidate that still ranks above the
deployed tag, or nothing. What a check needs that the tag list did not give (an index's
platforms; the creation time, for policies that do not order by time) comes from an injected
``examine`` (the registry edge). Pure apart from that call; the clock is a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from imagebot.model import ProblemCode, TagFacts, TagInfo
from imagebot.policy.protocol import Policy
from imagebot.policy.select import Decision, RankMemo, select_tag
from imagebot.records import record
from imagebot.refs import matches_platform

MAX_EXAMINED = 10
"""Candidates examined at the registry per target and cycle: each costs a request, and without
a bound a repository whose newest tags all fail would cost one per tag."""


@record
class Gate:
    """The rules: platforms the chosen tag must offer, its minimum age in seconds, and now
    (needed when ``min_age`` is set)."""

    required_platforms: tuple[str, ...] = ()
    min_age: float | None = None
    now: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.required_platforms) or bool(self.min_age)

    def needs_examining(self, tag: TagInfo) -> bool:
        """Whether the registry must be asked: platforms are never in a tag list; a creation
        time is there when the policy orders by time (or the Hub API gave the push time)."""
        return bool(self.required_platforms) or (bool(self.min_age) and tag.created is None)


@record
class Refusal:
    """Why one candidate is not taken: the kind of reason and the words for it."""

    code: ProblemCode
    why: str


Examine = Callable[[TagInfo], TagFacts | Refusal]
"""Examine a candidate at the registry: its facts, or the refusal its answer amounts to (a 404,
a malformed manifest). A passing failure raises: the caller must not decide on half the facts."""


@record
class Gated:
    """The decision after the gate, the candidates refused on the way (best first), the facts of
    the chosen tag when it was examined (its digest among them), and whether ``MAX_EXAMINED``
    stopped the search."""

    decision: Decision
    refused: tuple[tuple[TagInfo, Refusal], ...] = ()
    facts: TagFacts | None = None
    exhausted: bool = False


def select_gated(
    policy: Policy,
    candidates: Sequence[TagInfo],
    gate: Gate,
    *,
    examine: Examine | None = None,
    current: str | None = None,
    current_created: datetime | None = None,
    allow_downgrade: bool = False,
    memo: RankMemo | None = None,
) -> Gated:
    """``select_tag`` under ``gate``: a refused winner is dropped and the policy chooses again.
    Without ``examine`` (``imagebot policy select``) only the times given are known. ``memo``:
    see ``select.RankMemo``."""
    pool = list(candidates)
    refused: list[tuple[TagInfo, Refusal]] = []
    examined = 0
    while True:
        decision = select_tag(
            policy,
            pool,
            current=current,
            current_created=current_created,
            allow_downgrade=allow_downgrade,
            memo=memo,
        )
        chosen = decision.chosen
        if chosen is None or chosen.tag == current or not gate.active:
            return Gated(decision, tuple(refused))
        facts: TagFacts | None = None
        refusal: Refusal | None
        if examine is not None and gate.needs_examining(chosen):
            if examined == MAX_EXAMINED:
                reason = f"{examined} candidate(s) examined and refused; the rest wait"
                return Gated(Decision(None, reason), tuple(refused), exhausted=True)
            examined += 1
            answer = examine(chosen)
            facts = answer if isinstance(answer, TagFacts) else None
            refusal = answer if isinstance(answer, Refusal) else judge(gate, chosen, facts)
        else:
            refusal = judge(gate, chosen, None)
        if refusal is None:
            return Gated(decision, tuple(refused), facts)
        refused.append((chosen, refusal))
        pool = [info for info in pool if info.tag != chosen.tag]


def judge(gate: Gate, tag: TagInfo, facts: TagFacts | None) -> Refusal | None:
    """The refusal of ``tag`` under ``gate`` (None: it may be taken). ``facts``: what examining
    it found; without them platforms go unchecked and only ``tag.created`` is known."""
    if gate.required_platforms and facts is not None:
        missing = missing_platforms(facts.platforms, gate.required_platforms)
        if missing:
            offered = ", ".join(facts.platforms) or "no platform"
            return Refusal(
                ProblemCode.PLATFORM_MISSING, f"lacks {', '.join(missing)} (offers {offered})"
            )
    if gate.min_age:
        return _age(gate.min_age, gate.now, tag.created or (facts.created if facts else None))
    return None


def _age(min_age: float, now: datetime | None, created: datetime | None) -> Refusal | None:
    wanted = span(min_age)
    if created is None or now is None:
        return Refusal(ProblemCode.AGE_UNKNOWN, f"has no known creation time to be {wanted} old")
    age = now - created
    if age < timedelta(0):
        return Refusal(
            ProblemCode.AGE_UNKNOWN,
            f"was created in the future ({created.isoformat()}), so its age is unknown",
        )
    if age.total_seconds() < min_age:
        ready = (created + timedelta(seconds=min_age)).isoformat()
        return Refusal(
            ProblemCode.TOO_NEW,
            f"is {span(age.total_seconds())} old, younger than {wanted} (taken from {ready})",
        )
    return None


def missing_platforms(offered: Sequence[str], required: Sequence[str]) -> list[str]:
    """The required ``os/arch[/variant]`` that ``offered`` lacks: ``linux/arm64`` is offered by
    ``linux/arm64/v8`` too, a required variant only by itself."""
    return [w for w in required if not any(matches_platform(h, w) for h in offered)]


def span(seconds: float) -> str:
    """A duration for people, as Go spells it: ``2h``, ``1h30m``, ``45s``."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")
