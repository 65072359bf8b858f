"""Decide what to change: targets + registry answers + policies -> changes and problems.

Pure decisions over data the edges already fetched. It parses each distinct policy once, asks
the registry layer for one query per repository (what the policies need to know), and turns the
policy engine's decisions into ``Change`` values. It never touches files, Git or the network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from imagebot.errors import ImagebotError, PolicyError
from imagebot.model import Change, Digest, Problem, TagInfo, Target
from imagebot.policy import Policy, parse_policy, select_tag
from imagebot.registry import RepoQuery, RepoScan

DigestLookup = Callable[[Target, str], Digest | None]


@dataclass(slots=True)
class Plan:
    """The outcome of deciding: what to write, what went wrong, what was skipped on purpose."""

    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    chosen: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Automated:
    """A target that takes part in automation, with its parsed policy."""

    target: Target
    policy: Policy


def problem_at(target: Target, message: str, code: str = "") -> Problem:
    return Problem(
        message=message,
        file=target.location.file,
        line=target.location.line,
        image=str(target.image),
        code=code,
    )


def select_automated(targets: Iterable[Target], plan: Plan) -> list[Automated]:
    """Keep automated, unlocked, not ignored targets; parse each distinct policy once."""
    parsed: dict[tuple[str, str | None, str | None], Policy | PolicyError] = {}
    automated: list[Automated] = []
    for target in targets:
        if not target.automated or target.ignored or target.policy is None:
            continue
        if target.locked:
            why = f": {target.locked_message}" if target.locked_message else ""
            plan.skipped.append(problem_at(target, f"{target.workload} is locked{why}", "locked"))
            continue
        spec = target.policy
        key = (spec.text, spec.filter_pattern, spec.extract)  # the same policy from two sources
        if key not in parsed:
            try:
                parsed[key] = parse_policy(spec)
            except PolicyError as error:
                parsed[key] = error
        policy = parsed[key]
        if isinstance(policy, PolicyError):
            plan.problems.append(
                problem_at(
                    target,
                    f"invalid policy {spec.text!r} ({spec.source}): {policy}",
                    "invalid-policy",
                )
            )
            continue
        automated.append(Automated(target, policy))
    return automated


def registry_queries(automated: Sequence[Automated]) -> list[RepoQuery]:
    """One query per distinct repository, asking for what its strictest policy needs."""
    by_repo: dict[str, list[Automated]] = defaultdict(list)
    for item in automated:
        by_repo[item.target.image.name].append(item)
    queries = []
    for items in by_repo.values():
        policies = tuple({id(i.policy): i.policy for i in items}.values())
        queries.append(
            RepoQuery(
                image=items[0].target.image,
                needs_created=any(p.needs_created for p in policies),
                wants=_any_of(policies),
            )
        )
    return queries


def _any_of(policies: Sequence[Policy]) -> Callable[[str], bool]:
    if len(policies) == 1:
        return policies[0].matches
    return lambda tag: any(p.matches(tag) for p in policies)


def decide(
    automated: Sequence[Automated],
    scans: Mapping[str, RepoScan],
    plan: Plan,
    *,
    allow_downgrade: bool,
    digest_of: DigestLookup,
) -> None:
    """Fill ``plan`` with one decision per automated target."""
    for item in automated:
        target = item.target
        scan = scans.get(target.image.name)
        if scan is None or scan.problem or scan.stale:
            reason = (scan.problem if scan else None) or "registry answer is stale (rate limited)"
            code = "registry-refused" if scan and scan.permanent else "registry-unavailable"
            plan.problems.append(
                problem_at(target, f"{target.image.name}: {reason}; not updated", code)
            )
            continue
        try:
            change = _decide_one(item, scan.tags, allow_downgrade, digest_of)
        except ImagebotError as error:
            plan.problems.append(problem_at(target, str(error)))
            continue
        if isinstance(change, Problem):
            plan.problems.append(change)
        elif change is not None:
            plan.changes.append(change)
            plan.chosen[str(target.location)] = change.new
        else:
            plan.chosen[str(target.location)] = str(target.image)


def _decide_one(
    item: Automated,
    tags: Sequence[TagInfo],
    allow_downgrade: bool,
    digest_of: DigestLookup,
) -> Change | Problem | None:
    target, image = item.target, item.target.image
    if item.policy.needs_current and not image.tag:
        return problem_at(target, f"policy {item.policy.text!r} needs a current tag; there is none")
    decision = select_tag(item.policy, tags, current=image.tag, allow_downgrade=allow_downgrade)
    chosen = decision.chosen
    if chosen is None:
        return None
    # A reference that carries a digest is pinned: tag and digest move together, or the old
    # digest would keep naming the old image (Kustomize `digest:` wins over `newTag:`). The
    # pin-digest option also follows a tag that moved in place, at the cost of one HEAD.
    pinned = target.pin_digest or image.digest is not None
    digest: Digest | None = None
    if pinned and (target.pin_digest or chosen.tag != image.tag):
        digest = chosen.digest or digest_of(target, chosen.tag)
        if digest is None:
            return problem_at(
                target, f"no digest for {image.name}:{chosen.tag}; pin not updated", "no-digest"
            )
    if chosen.tag == image.tag and (digest is None or digest == image.digest):
        return None
    new = image.with_version(chosen.tag, digest)
    return Change(
        target=target,
        old=str(image),
        new=new,
        new_tag=chosen.tag,
        new_digest=digest,
        reason=decision.reason,
    )
