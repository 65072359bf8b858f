"""``imagebot policy``: try a tag policy on a list of tags (``select``), and edit workload policies
(``imagebot policy WORKLOAD ...``, routed to the ``set`` subcommand when one is installed).

``select`` is started hundreds of times by scripts and acceptance checks, so this module imports
only click and the pure policy code; ``set`` is imported only when it runs.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.util import find_spec

import click

from imagebot.cli.common import EXIT_NOTHING, reported_errors
from imagebot.errors import UsageError
from imagebot.model import TagInfo
from imagebot.policy import Decision, parse_policy, select_tag

# name -> ("module:attribute", short help). The workflow commands register ``set`` here.
LAZY_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "set": (
        "imagebot.cli.workflow_cmd:policy_set",
        "Set a workload's tag policies: imagebot policy WORKLOAD --tag CONTAINER=POLICY.",
    ),
}
FALLBACK = "set"  # what an unknown first argument (a workload name) is routed to


class PolicyGroup(click.Group):
    """A group whose unknown first argument goes to the ``set`` subcommand, if there is one, so
    ``imagebot policy WORKLOAD --tag ...`` reads like Flux v1's ``fluxctl policy``."""

    def __init__(
        self, *args: object, lazy: Mapping[str, tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = LAZY_SUBCOMMANDS if lazy is None else lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        found = {name for name, (target, _) in self.lazy.items() if _installed(target)}
        return sorted(set(super().list_commands(ctx)) | found)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy:
            return command
        return _load(self.lazy[cmd_name][0])

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        first = args[0] if args else ""
        if first and not first.startswith("-") and self.get_command(ctx, first) is None:
            fallback = self.get_command(ctx, FALLBACK)
            if fallback is not None:
                return FALLBACK, fallback, args  # the workload name stays the first argument
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help must not import lazy modules: their short help comes from the registry.
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(70)))
            else:
                rows.append((name, self.lazy[name][1]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _installed(target: str) -> bool:
    return find_spec(target.split(":", maxsplit=1)[0]) is not None


def _load(target: str) -> click.Command | None:
    module_name, attribute = target.split(":")
    if not _installed(target):
        return None
    loaded = getattr(importlib.import_module(module_name), attribute, None)
    return loaded if isinstance(loaded, click.Command) else None


@click.group(cls=PolicyGroup, invoke_without_command=False)
def policy() -> None:
    """Select tags with a policy; edit workload policies.

    \b
    imagebot policy select POLICY < tags.txt
    imagebot policy WORKLOAD --tag CONTAINER=POLICY   (when workload editing is installed)
    """


@policy.command("select", short_help="Choose a tag from stdin by a policy.")
@click.argument("policy_text", metavar="POLICY")
@click.option("--current", metavar="TAG", help="The tag deployed now; never go below it.")
@click.option("--filter", "filter_pattern", metavar="REGEX", help="Candidates must match.")
@click.option("--extract", metavar="TEMPLATE", help="Order this expansion ($name, ${name}, $1).")
@click.option("--allow-downgrade", is_flag=True, help="Allow a tag that ranks below --current.")
@click.option("--explain", is_flag=True, help="Show every candidate's verdict (on stderr).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def select(
    *,
    policy_text: str,
    current: str | None,
    filter_pattern: str | None,
    extract: str | None,
    allow_downgrade: bool,
    explain: bool,
    output: str,
) -> None:
    """Choose a tag from stdin: one per line, optionally followed by an RFC 3339 creation time.

    Prints the chosen tag (exit 0); exit 1 when no tag qualifies, exit 2 for an invalid policy
    or input. POLICY is glob:PATTERN (or a bare pattern), regex:PATTERN, semver:RANGE,
    numerical:asc|desc, alphabetical:asc|desc, major, minor or patch.
    """
    with reported_errors():
        parsed = parse_policy(policy_text, filter_pattern=filter_pattern, extract=extract or None)
        if parsed.needs_current and not current:
            raise UsageError(
                f"policy {policy_text!r} picks relative to the deployed tag: pass --current TAG"
            )
        candidates = read_candidates(sys.stdin.buffer.read())
        decision = select_tag(parsed, candidates, current=current, allow_downgrade=allow_downgrade)
    if output == "json":
        click.echo(decision_json(policy_text, decision, explain))
    else:
        if explain:
            click.echo(explanation(decision), err=True)
        if decision.chosen is not None:
            click.echo(decision.chosen.tag)
    if decision.chosen is None:
        click.echo(f"imagebot: no tag chosen: {decision.reason}", err=True)
        raise SystemExit(EXIT_NOTHING)


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


def decision_json(policy_text: str, decision: Decision, explain: bool) -> str:
    import json

    chosen = decision.chosen
    document: dict[str, object] = {
        "policy": policy_text,
        "chosen": chosen.tag if chosen else None,
        "created": _utc(chosen.created) if chosen and chosen.created else None,
        "reason": decision.reason,
    }
    if explain:
        document["verdicts"] = [
            {"tag": v.tag, "chosen": v.chosen, "excluded": v.excluded, "rank": v.rank or None}
            for v in decision.verdicts
        ]
    return json.dumps(document, ensure_ascii=False, indent=2)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


def parse_created(text: str, number: int) -> datetime:
    """An RFC 3339 time with ``Z`` or an offset; fractions beyond microseconds are dropped."""
    problem = f"stdin line {number}: {text!r} is not an RFC 3339 time like 2024-05-01T10:00:00Z"
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
