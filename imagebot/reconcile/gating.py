"""The settings-side of the gate on chosen candidates: which rules apply to a target, how the
registry's answers become refusals, and the problems that say why newer tags were passed over.

The rules themselves (``imagebot.policy.gate``) are pure; this module binds them to a target
(its ``imagebot.io/min-age.<container>``, else the ``minAge`` setting; ``requiredPlatforms``)
and to the registry edge, whose passing failures stop the target for this cycle (the newest
tag may be fine) while a refusal (404, malformed answer) drops only that candidate. The problems
of a target (``problem_at``) and the kind of a failed fetch (``fetch_code``) are placed here for
planning and gating alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from imagebot.errors import RegistryAuthError, RegistryError, RegistryNotFound
from imagebot.model import Problem, ProblemCode, TagFacts, TagInfo, Target
from imagebot.policy import Gate, Refusal
from imagebot.records import record
from imagebot.refs import ImageRef

ExamineEdge = Callable[[ImageRef, str], TagFacts | RegistryError]
"""The registry's answer for one candidate: its facts, or why they could not be had."""


@record
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
        return Refusal(fetch_code(answer), f"could not be examined ({answer})")

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
        notes.append(
            problem_at(target, f"{name}: {len(reasons)} newer tag(s) {lead}: {shown}", code)
        )
    if exhausted:
        notes.append(
            problem_at(
                target,
                f"{name}: stopped after examining {len(refused)} candidate(s) this cycle; "
                f"older ones are examined once these change",
                refused[-1][1].code if refused else ProblemCode.PLATFORM_MISSING,
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
    return problem_at(
        target,
        f"{target.image.name}: {len(tags)} tag(s) the policy could choose offer no {platform} "
        f"image, so they have no creation time and are never chosen (first: {first} offers "
        f"{offered}); set registries.platform to the platform the workload runs on",
        ProblemCode.PLATFORM_MISSING,
    )


def problem_at(target: Target, message: str, code: ProblemCode = ProblemCode.MANIFEST) -> Problem:
    """A problem of ``target``, at its place in the files."""
    return Problem(
        message=message,
        file=target.location.file,
        line=target.location.line,
        image=str(target.image),
        code=code,
    )


def fetch_code(error: RegistryError) -> ProblemCode:
    """The kind of problem a failed manifest or config fetch is, by the error's traits: refused
    (401/403, a 404 named in the message), malformed (any other ``permanent`` answer) or
    passing (5xx, timeout, reset: run again)."""
    if isinstance(error, (RegistryAuthError, RegistryNotFound)):
        return ProblemCode.REGISTRY_REFUSED
    if error.permanent:
        return ProblemCode.REGISTRY_MALFORMED
    return ProblemCode.REGISTRY_UNAVAILABLE
