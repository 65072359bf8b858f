"""``imagebot policy``: try a tag policy on a list of tags (``select``), and edit workload policies
(``imagebot policy WORKLOAD ...``, routed to the ``set`` subcommand).

``select`` is started hundreds of times by scripts and acceptance checks, so this module imports
only click and the pure policy code; ``set`` is imported only when it runs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from imagebot.cli.common import EXIT_NONE_CHOSEN, HELP_OPTIONS, reported_errors
from imagebot.cli.lazy import LazyGroup
from imagebot.cli.options import ALLOW_DOWNGRADE, OUTPUT
from imagebot.errors import UsageError
from imagebot.model import TagInfo
from imagebot.policy import Decision, Gate, Refusal, parse_policy, select_gated

# name -> ("module:attribute", short help). The workflow commands register ``set`` here.
LAZY_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "set": (
        "imagebot.cli.workflow_cmd:policy_set",
        "Set a workload's tag policies: imagebot policy WORKLOAD --tag CONTAINER=POLICY.",
    ),
}


# An unknown first argument (a workload) goes to ``set``: ``imagebot policy WORKLOAD --tag ...``
# reads like Flux v1's ``fluxctl policy``.
@click.group(
    cls=LazyGroup,
    lazy=LAZY_SUBCOMMANDS,
    fallback="set",
    invoke_without_command=False,
    context_settings=HELP_OPTIONS,
)
def policy() -> None:
    """Select tags with a policy; edit workload policies.

    \b
    imagebot policy select POLICY < tags.txt
    imagebot policy WORKLOAD --tag CONTAINER=POLICY   (the same as: policy set WORKLOAD ...)
    """


@policy.command(
    "select", short_help="Choose a tag from stdin by a policy.", context_settings=HELP_OPTIONS
)
@click.argument("policy_text", metavar="POLICY")
@click.option("--current", metavar="TAG", help="The tag deployed now; never go below it.")
@click.option("--filter", "filter_pattern", metavar="REGEX", help="Candidates must match.")
@click.option("--extract", metavar="TEMPLATE", help="Order this expansion ($name, ${name}, $1).")
@click.option(
    "--min-age",
    metavar="DURATION",
    help="Skip tags younger than this Go duration (2h, 30m); they need a creation time.",
)
@click.option(
    "--now", metavar="RFC3339", help="The time --min-age measures from (default: the clock)."
)
@ALLOW_DOWNGRADE
@click.option("--explain", is_flag=True, help="Show every candidate's verdict (on stderr).")
@OUTPUT
def select(
    *,
    policy_text: str,
    current: str | None,
    filter_pattern: str | None,
    extract: str | None,
    min_age: str | None,
    now: str | None,
    allow_downgrade: bool,
    explain: bool,
    output: str,
) -> None:
    """Choose a tag from stdin: one per line, optionally followed by an RFC 3339 creation time.

    Prints the chosen tag (exit 0); exit 1 when no tag qualifies, exit 2 for an invalid policy
    or input. POLICY is glob:PATTERN (or a bare pattern), regex:PATTERN, semver:RANGE,
    numerical:asc|desc, alphabetical:asc|desc, all, major, minor or patch.
    """
    with reported_errors():
        parsed = parse_policy(policy_text, filter_pattern=filter_pattern, extract=extract or None)
        if parsed.needs_current and not current:
            raise UsageError(
                f"policy {policy_text!r} picks relative to the deployed tag: pass --current TAG"
            )
        gate = _gate(min_age, now)
        candidates = read_candidates(sys.stdin.buffer.read())
        gated = select_gated(
            parsed, candidates, gate, current=current, allow_downgrade=allow_downgrade
        )
        decision = gated.decision
    if output == "json":
        click.echo(
            decision_json(policy_text, decision, explain, gated.refused if gate.active else None)
        )
    else:
        if explain:
            click.echo(explanation(decision), err=True)
        for info, refusal in gated.refused:
            click.echo(f"imagebot: {refusal.code}: {info.tag} {refusal.why}", err=True)
        if decision.chosen is not None:
            click.echo(decision.chosen.tag)
    if decision.chosen is None:
        click.echo(f"imagebot: no tag chosen: {decision.reason}", err=True)
        raise SystemExit(EXIT_NONE_CHOSEN)


def _gate(min_age: str | None, now: str | None) -> Gate:
    """The --min-age rule, measured from --now (else the clock); --now alone is refused."""
    if min_age is None:
        if now is not None:
            raise UsageError("--now is the time --min-age measures from: pass --min-age too")
        return Gate()
    from imagebot.durations import parse_interval
    from imagebot.errors import ConfigError

    try:
        seconds = parse_interval(min_age)
    except ConfigError as error:
        raise UsageError(f"--min-age: {error}") from error
    when = parse_created(now, 0, "--now") if now is not None else datetime.now(UTC)
    return Gate(min_age=seconds, now=when)


def explanation(decision: Decision) -> str:
    """The reason, then one line per tag: the chosen one, the ranked ones, the excluded ones."""
    verdicts = sorted(
        decision.verdicts, key=lambda v: (not v.chosen, v.excluded is not None, v.tag)
    )
    width = min(max((len(v.tag) for v in verdicts), default=0), 40)
    lines = [decision.reason]
    for v in verdicts:
        mark = "*" if v.chosen else "-" if v.excluded is not None else " "
        what = f"excluded: {v.excluded}" if v.excluded is not None else v.rank
        lines.append(f"  {mark} {v.tag:<{width}}  {what}")
    return "\n".join(lines)


def decision_json(
    policy_text: str,
    decision: Decision,
    explain: bool,
    refused: Sequence[tuple[TagInfo, Refusal]] | None = None,
) -> str:
    import json

    chosen = decision.chosen
    from imagebot.cli.render import SCHEMA_VERSION, rfc3339

    document: dict[str, object] = {
        "schemaVersion": SCHEMA_VERSION,
        "policy": policy_text,
        "chosen": chosen.tag if chosen else None,
        "created": rfc3339(chosen.created) if chosen and chosen.created else None,
        "reason": decision.reason,
    }
    if refused is not None:  # with --min-age: the newer tags passed over, best first
        document["refused"] = [
            {"tag": info.tag, "code": str(refusal.code), "reason": refusal.why}
            for info, refusal in refused
        ]
    if explain:
        document["verdicts"] = [
            {"tag": v.tag, "chosen": v.chosen, "excluded": v.excluded, "rank": v.rank or None}
            for v in decision.verdicts
        ]
    return json.dumps(document, ensure_ascii=False, indent=2)


_BLANKS = " \t\r\f\v"
_LAST_FIELD = re.compile(r"(.+?)[ \t\r\f\v]+([^ \t\r\f\v]+)")
_DATE_LIKE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def read_candidates(data: bytes) -> list[TagInfo]:
    """Parse ``TAG [CREATED]`` lines; blank lines are skipped.

    Only ASCII blanks separate fields: other spaces (``\\xa0``) are part of a tag, which is then
    invalid, never a valid tag cut short. A last field that starts like a date is the creation
    time and must be RFC 3339 (else a UsageError naming the line); any other line is one tag,
    spaces and all, which the policy then excludes as invalid.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"stdin is not UTF-8 text (byte {error.start})") from error
    candidates = []
    for number, line in enumerate(text.split("\n"), 1):
        entry = line.strip(_BLANKS)
        if not entry:
            continue
        split = _LAST_FIELD.fullmatch(entry)
        if split is not None and _DATE_LIKE.match(split.group(2)):
            candidates.append(TagInfo(split.group(1), parse_created(split.group(2), number)))
        else:
            candidates.append(TagInfo(entry, None))
    return candidates


def parse_created(text: str, number: int, where: str = "") -> datetime:
    """An RFC 3339 time with ``Z`` or an offset; fractions beyond microseconds are dropped."""
    place = where or f"stdin line {number}"
    problem = f"{place}: {text!r} is not an RFC 3339 time like 2024-05-01T10:00:00Z"
    if not _RFC3339.fullmatch(text):
        raise UsageError(problem)
    normal = text.upper().replace("Z", "+00:00")
    head, dot, rest = normal.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        normal = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        return datetime.fromisoformat(normal)
    except ValueError as error:
        raise UsageError(f"{problem} ({error})") from error
