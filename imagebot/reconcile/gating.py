"""The settings-side of the gate on chosen candidates: which rules apply to a target, how the
registry's answers become refusals, and the problems that say why newer tags were passed over.

The rules themselves (``imagebot.policy.gate``) are pure; this module binds them to a target
(its ``imagebot.io/min-age.<container>``, else the ``minAge`` setting; ``requiredPlatforms``)
and to the registry edge, whose passing failures stop the target for this cycle (the newest
tag may be fine) while a refusal (404, malformed answer) drops only that candidate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from imagebot.errors import RegistryAuthError, RegistryError, RegistryNotFound
from imagebot.model import Problem, ProblemCode, TagFacts, TagInfo, Target
from imagebot.policy import Gate, Refusal
from imagebot.refs import ImageRef

ExamineEdge = Callable[[ImageRef, str], TagFacts | RegistryError]
"""The registry's answer for one candidate: its facts, or why they could not be had."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What the settings ask of every chosen tag: ``requiredPlatforms``, the default ``minAge``
    (seconds; a target's own annotation wins) and the time of this cycle."""

    required_platforms: tuple[str, ...] = ()
    min_age: float | None = None
    now: datetime | None = None

    def gate_for(self, target: Target) -> Gate:
        """The rules for ``target``: its own minimum age wins over the setting."""
        own = target.policy.min_age if target.policy is not None else None
        return Gate(self.required_platforms, self.min_age if own is None else own, self.now)


NO_RULES = Rules()


class Unavailable(Exception):
    """A passing failure examining a candidate: the target waits for the next cycle."""

    def __init__(self, tag: str, error: RegistryError) -> None:
        super().__init__(str(error))
        self.tag, self.error = tag, error


def bind(edge: ExamineEdge, image: ImageRef) -> Callable[[TagInfo], TagFacts | Refusal]:
    """``edge`` for one image, as ``select_gated`` calls it."""

    def examine(info: TagInfo) -> TagFacts | Refusal:
        answer = edge(image, info.tag)
        if not isinstance(answer, RegistryError):
            return answer
        if not answer.permanent:
            raise Unavailable(info.tag, answer)
        code = (
            ProblemCode.REGISTRY_REFUSED
            if isinstance(answer, (RegistryAuthError, RegistryNotFound))
            else ProblemCode.REGISTRY_MALFORMED
        )
        return Refusal(code, f"could not be examined ({answer})")

    return examine


def refusal_notes(
    target: Target, refused: Sequence[tuple[TagInfo, Refusal]], exhausted: bool
) -> list[Problem]:
    """One problem per kind of refusal, naming the tags passed over (best first) and why."""
    by_code: dict[ProblemCode, list[str]] = defaultdict(list)
    for info, refusal in refused:
        by_code[refusal.code].append(f"{info.tag} {refusal.why}")
    notes = []
    name = target.image.name
    for code, reasons in by_code.items():
        shown = "; ".join(reasons[:3]) + (
            f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
        )
        lead = _LEADS.get(code, "passed over")
        notes.append(_problem(target, f"{name}: {len(reasons)} newer tag(s) {lead}: {shown}", code))
    if exhausted:
        notes.append(
            _problem(
                target,
                f"{name}: stopped after examining {len(refused)} candidate(s) this cycle; "
                f"older ones are examined once these change",
                ProblemCode.PLATFORM_MISSING,
            )
        )
    return notes


_LEADS = {
    ProblemCode.PLATFORM_MISSING: "skipped for registries.requiredPlatforms",
    ProblemCode.TOO_NEW: "not taken yet (minimum age)",
    ProblemCode.AGE_UNKNOWN: "not taken: minimum age set, age unknown",
}


def off_platform_note(target: Target, tags: dict[str, tuple[str, ...]], platform: str) -> Problem:
    """The tags a time-ordered policy could choose whose index offers no image for the
    configured platform: they have no creation time, so without this they would be passed
    over in silence (an arm64-only repository under the default linux/amd64)."""
    first = next(iter(tags))
    offered = ", ".join(tags[first]) or "no platform"
    return _problem(
        target,
        f"{target.image.name}: {len(tags)} tag(s) the policy could choose offer no {platform} "
        f"image, so they have no creation time and are never chosen (first: {first} offers "
        f"{offered}); set registries.platform to the platform the workload runs on",
        ProblemCode.PLATFORM_MISSING,
    )


def _problem(target: Target, message: str, code: ProblemCode) -> Problem:
    return Problem(
        message=message,
        file=target.location.file,
        line=target.location.line,
        image=str(target.image),
        code=code,
    )
