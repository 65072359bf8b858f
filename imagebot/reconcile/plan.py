"""Decide what to change, in two pure steps around the one registry call they need between them.

``screen`` keeps the automated targets and parses each distinct policy once; ``registry_queries``
says what to ask each repository. ``select`` turns targets + registry answers into one decision
per target; ``digests_wanted`` names the chosen tags whose digest a pinned reference still lacks;
``finalize`` turns decisions + those digests into changes and problems. Fetching the answers is
the caller's (``run.py``); nothing here touches files, Git or the network.

Never downgrade: a time-ordered policy (glob, regex) compares candidates with the deployed tag's
creation time. When the registry's list lacks the deployed tag (deleted, a partial answer),
that time comes from the cache or one manifest fetch (``RepoScan.unlisted``); when it cannot be
known, the target is not changed and says so. A candidate whose time could not be fetched for
a passing reason leaves the target unchanged this cycle too (it may be the newest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from imagebot.errors import (
    ImagebotError,
    PolicyError,
    RegistryError,
    RegistryNotFound,
)
from imagebot.model import Change, Digest, Problem, ProblemCode, Severity, TagInfo, Target
from imagebot.policy import Gated, Policy, RankMemo, parse_policy, select_gated
from imagebot.reconcile.gating import (
    NO_RULES,
    ExamineEdge,
    Rules,
    Unavailable,
    bind,
    fetch_code,
    off_platform_note,
    problem_at,
    refusal_notes,
)
from imagebot.records import record
from imagebot.refs import ImageRef
from imagebot.registry import RepoQuery, RepoScan

DigestKey = tuple[str, str]
"""A digest wanted: (repository name as ``ImageRef.name``, tag)."""
DigestAnswers = Mapping[DigestKey, Digest | RegistryError]
"""What the registry answered for each digest asked: the digest, or why there is none."""


@dataclass(slots=True)
class Plan:
    """The outcome of deciding: what to write, what went wrong, what was skipped on purpose."""

    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    chosen: dict[str, str] = field(default_factory=dict)


@record
class Automated:
    """A target that takes part in automation, with its parsed policy."""

    target: Target
    policy: Policy


@record
class Screened:
    """The targets automation acts on, and what kept the others out (bad policy, a lock)."""

    automated: tuple[Automated, ...] = ()
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()


@record
class Choice:
    """The tag a policy chose for a target whose reference must change (or may, when pinned)."""

    target: Target
    tag: TagInfo
    reason: str
    pinned: bool  # tag and digest move together: the digest must be known before writing

    @property
    def digest_key(self) -> DigestKey:
        return (self.target.image.name, self.tag.tag)


@record
class Kept:
    """A target whose policy still chooses what it has."""

    target: Target


Selected = Choice | Kept | Problem


def screen(targets: Iterable[Target]) -> Screened:
    """Keep automated, unlocked, not ignored targets; parse each distinct policy once."""
    parsed: dict[tuple[str, str | None, str | None, tuple[str, ...]], Policy | PolicyError] = {}
    automated: list[Automated] = []
    problems: list[Problem] = []
    skipped: list[Problem] = []
    for target in targets:
        automation = target.automation
        if target.policy is None or automation.ignored:
            continue
        if automation.locked:
            why = f"{target.workload} is locked{automation.why_locked}"
            skipped.append(problem_at(target, why, ProblemCode.LOCKED))
            continue
        spec = target.policy
        key = (spec.text, spec.filter_pattern, spec.extract, spec.exclude)  # one policy twice
        if key not in parsed:
            try:
                parsed[key] = parse_policy(spec)
            except PolicyError as error:
                parsed[key] = error
        policy = parsed[key]
        if isinstance(policy, PolicyError):
            problems.append(
                problem_at(
                    target,
                    f"invalid policy {spec.text!r} ({spec.source}): {policy}",
                    ProblemCode.INVALID_POLICY,
                )
            )
            continue
        automated.append(Automated(target, policy))
    return Screened(tuple(automated), tuple(problems), tuple(skipped))


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
                current=tuple(sorted({i.target.image.tag for i in items if i.target.image.tag})),
            )
        )
    return queries


def _any_of(policies: Sequence[Policy]) -> Callable[[str], bool]:
    if len(policies) == 1:
        return policies[0].matches
    return lambda tag: any(p.matches(tag) for p in policies)


def select(
    automated: Sequence[Automated],
    scans: Mapping[str, RepoScan],
    *,
    allow_downgrade: bool,
    rules: Rules = NO_RULES,
    examine: ExamineEdge | None = None,
) -> list[Selected]:
    """One decision per automated target, in order, from the registry answers (and, when
    ``rules`` check the winner, ``examine``'s answers for it); a target may be preceded by the
    problems it went ahead despite (tags it could not consider, newer tags passed over)."""
    decisions: list[Selected] = []
    listed: dict[str, frozenset[str]] = {}
    # Targets that share a repository, policy, rules and deployed tag share one decision: a
    # repository's tags are ranked once, not once per workload that runs it.
    memo: dict[tuple[object, ...], Gated] = {}
    # Targets of one repository with different deployed tags share each tag's rank.
    ranks: RankMemo = {}
    for item in automated:
        target = item.target
        scan = scans.get(target.image.name)
        if scan is None or scan.problem or scan.stale:
            reason = (scan.problem if scan else None) or "registry answer is stale (rate limited)"
            code = _registry_code(scan is not None and scan.permanent)
            decisions.append(
                problem_at(target, f"{target.image.name}: {reason}; not updated", code)
            )
            continue
        current_created: datetime | None = None
        if item.policy.needs_created:
            names = listed.get(target.image.name)
            if names is None:
                names = listed[target.image.name] = frozenset(t.tag for t in scan.tags)
            check = _time_check(item, scan, names, allow_downgrade)
            decisions.extend(check.notes)
            if check.blocked is not None:
                decisions.append(check.blocked)
                continue
            current_created = check.current_created
        try:
            decisions.extend(
                _select_one(
                    item,
                    scan.tags,
                    allow_downgrade,
                    current_created,
                    rules=rules,
                    examine=examine,
                    memo=memo,
                    ranks=ranks,
                )
            )
        except ImagebotError as error:
            decisions.append(problem_at(target, str(error)))
    return decisions


@record
class _TimeCheck:
    """What creation times allow for one target: ``blocked`` keeps it as it is; ``notes`` are
    reported while it goes ahead; ``current_created`` is the time of a deployed tag the list
    lacks."""

    blocked: Problem | None = None
    notes: tuple[Problem, ...] = ()
    current_created: datetime | None = None


def _time_check(
    item: Automated, scan: RepoScan, listed: frozenset[str], allow_downgrade: bool
) -> _TimeCheck:
    """Creation times a time-ordered policy needs but did not get. A passing failure for a tag
    it could choose blocks the target (that tag may be the newest; exit 1 says run again); a
    malformed or refused answer is reported and the tag left out (it would block forever); a
    404 for a listed tag is a tag deleted since the listing, left out silently. Unless
    downgrades are allowed, the deployed tag's time must be known, listed or not."""
    target, policy, name = item.target, item.policy, item.target.image.name
    failed = [
        (tag, error)
        for tag, error in scan.failed.items()
        if tag in listed and not isinstance(error, RegistryNotFound) and policy.matches(tag)
    ]
    passing = [(tag, error) for tag, error in failed if not error.permanent]
    if passing:
        tag, error = passing[0]
        return _TimeCheck(
            problem_at(
                target,
                f"{name}: no creation time for {len(passing)} tag(s) the policy "
                f"{policy.text!r} could choose (first: {tag}: {error}); not updated",
                ProblemCode.REGISTRY_UNAVAILABLE,
            )
        )
    notes = tuple(
        problem_at(
            target,
            f"{name}: {len(failed)} tag(s) left out for want of a creation time (first: "
            f"{tag}: {error})",
            fetch_code(error),
        )
        for tag, error in failed[:1]
    )
    off = {tag: offered for tag, offered in scan.off_platform.items() if policy.matches(tag)}
    if off:
        notes += (off_platform_note(target, off, scan.platform),)
    current = target.image.tag
    if allow_downgrade or not current:
        return _TimeCheck(notes=notes)
    lookup = scan.failed.get(current)
    if current in listed and lookup is None:
        return _TimeCheck(notes=notes)  # select_tag finds its time among the candidates
    found = scan.unlisted.get(current)
    if found is not None and found.created is not None:
        return _TimeCheck(notes=notes, current_created=found.created)
    if lookup is not None:
        why, code = str(lookup), fetch_code(lookup)
        if isinstance(lookup, RegistryNotFound):
            code = ProblemCode.CURRENT_TAG_MISSING
    else:
        why = "its image has no creation time" if found else "it could not be looked up"
        code = ProblemCode.CURRENT_TAG_MISSING
    where = "has no known creation time" if current in listed else "is not in the registry's list"
    message = f"current tag {current} {where}; not changed ({name}: {why})"
    return _TimeCheck(problem_at(target, message, code), notes)


def _select_one(
    item: Automated,
    tags: Sequence[TagInfo],
    allow_downgrade: bool,
    current_created: datetime | None,
    *,
    rules: Rules,
    examine: ExamineEdge | None,
    memo: dict[tuple[object, ...], Gated],
    ranks: RankMemo,
) -> list[Selected]:
    """The target's decision, preceded by the problems that say why newer tags were passed
    over when the rules refused them. ``memo`` keeps decisions for targets alike (policies
    are frozen dataclasses, so equal policies are one key)."""
    target, image = item.target, item.target.image
    if item.policy.needs_current and not image.tag:
        return [
            problem_at(target, f"policy {item.policy.text!r} needs a current tag; there is none")
        ]
    gate = rules.gate_for(target)
    key = (image.name, item.policy, gate, image.tag, current_created, allow_downgrade)
    gated = memo.get(key)
    try:
        if gated is None:
            gated = select_gated(
                item.policy,
                tags,
                gate,
                examine=bind(examine, image) if examine is not None else None,
                current=image.tag,
                current_created=current_created,
                allow_downgrade=allow_downgrade,
                memo=ranks,
            )
            memo[key] = gated
    except Unavailable as stop:
        message = f"{image.name}: could not examine {stop.tag} ({stop.error}); not updated"
        return [problem_at(target, message, ProblemCode.REGISTRY_UNAVAILABLE)]
    notes: list[Selected] = [*refusal_notes(target, gated.refused, gated.exhausted)]
    decision = gated.decision
    chosen = decision.chosen
    if chosen is None:
        return [*notes, Kept(target)]
    if gated.facts is not None and chosen.digest is None:
        # Examining it read the digest the tag names now: a pin needs no second request.
        chosen = TagInfo(chosen.tag, chosen.created, Digest(gated.facts.digest))
    # A reference that carries a digest is pinned: tag and digest move together, or the old
    # digest would keep naming the old image (Kustomize `digest:` wins over `newTag:`). The
    # pin-digest option also follows a tag that moved in place, at the cost of one HEAD.
    pinned = target.automation.pin_digest or (image.digest is not None and chosen.tag != image.tag)
    if not pinned and chosen.tag == image.tag:
        return [*notes, Kept(target)]
    return [*notes, Choice(target, chosen, decision.reason, pinned)]


def digests_wanted(decisions: Iterable[Selected]) -> list[tuple[ImageRef, str]]:
    """The chosen tags whose digest a pinned reference needs and the listing did not give,
    each once: (image of a target that wants it, tag)."""
    wanted: dict[DigestKey, tuple[ImageRef, str]] = {}
    for decision in decisions:
        if isinstance(decision, Choice) and decision.pinned and decision.tag.digest is None:
            wanted.setdefault(decision.digest_key, (decision.target.image, decision.tag.tag))
    return list(wanted.values())


def finalize(decisions: Iterable[Selected], digests: DigestAnswers) -> Plan:
    """Changes and problems from the decisions and the digests fetched for them."""
    plan = Plan()
    for decision in decisions:
        if isinstance(decision, Problem):
            # A candidate left for a later cycle on purpose (a minimum age) is a skip.
            wanted = plan.skipped if decision.severity is Severity.INFO else plan.problems
            wanted.append(decision)
            continue
        target = decision.target
        if isinstance(decision, Kept):
            plan.chosen[str(target.location)] = str(target.image)
            continue
        change = _change(decision, digests, plan.problems)
        if isinstance(change, Problem):
            plan.problems.append(change)
        elif change is not None:
            plan.changes.append(change)
            plan.chosen[str(target.location)] = change.new
        else:
            plan.chosen[str(target.location)] = str(target.image)
    return plan


def _change(
    choice: Choice, digests: DigestAnswers, problems: list[Problem]
) -> Change | Problem | None:
    """The change ``choice`` makes; None when a pinned tag did not move; the problem when its
    digest could not be had (the registry's reason, if any, goes to ``problems`` first)."""
    target, image, tag = choice.target, choice.target.image, choice.tag.tag
    digest: Digest | None = None
    if choice.pinned:
        answer = choice.tag.digest or digests.get(choice.digest_key)
        if isinstance(answer, RegistryError):
            problems.append(problem_at(target, str(answer), _registry_code(answer.permanent)))
            answer = None
        if answer is None:
            return problem_at(
                target, f"no digest for {image.name}:{tag}; pin not updated", ProblemCode.NO_DIGEST
            )
        digest = answer
    if tag == image.tag and (digest is None or digest == image.digest):
        return None
    return Change(
        target=target,
        old=str(image),
        new=image.with_version(tag, digest),
        new_tag=tag,
        new_digest=digest,
        reason=choice.reason,
    )


def _registry_code(permanent: bool) -> ProblemCode:
    return ProblemCode.REGISTRY_REFUSED if permanent else ProblemCode.REGISTRY_UNAVAILABLE
