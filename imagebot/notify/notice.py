"""What a notification says: a ``Notice`` built from a cycle's result or a change of state,
and the bodies each receiver type is sent (generic JSON, Slack's ``text``).

Pure: no HTTP, no clock (the caller passes the time). The generic body keeps the keys of Flux's
event (``involvedObject``, ``severity``, ``reason``, ``message``, ``reportingController``,
``timestamp``), so a receiver written for Flux's generic webhook reads it, and adds imagebot's own
(``changes``, ``state``). Every string passes the redactor when the body is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from imagebot.model import Change, RunResult
from imagebot.records import record
from imagebot.redact import redact_tree

SCHEMA_VERSION = 1
"""Raised only when a key of the generic body is renamed or removed, or changes meaning."""
MAX_LISTED = 5  # changes spelt out in a message; all of them are in the generic body's changes


@record
class Notice:
    """One thing to tell every receiver.

    ``event`` is ``commit`` or ``state``; ``severity`` ``info`` or ``error`` (Flux's two);
    ``origin`` the object it is about, as Flux's ``involvedObject`` (``kind``, ``name`` and, for
    an ImageAutomation, ``namespace``); ``previous`` and ``current`` the states of a ``state``
    notice (exit codes for the CLI, conditions for the operator).
    """

    event: str
    severity: str
    reason: str
    message: str
    timestamp: datetime
    origin: Mapping[str, str]
    repository: str | None = None
    branch: str | None = None
    commit: str | None = None
    pushed: bool = False
    changes: tuple[Change, ...] = ()
    previous: Mapping[str, object] | None = None
    current: Mapping[str, object] | None = field(default=None)


def commit_notice(
    result: RunResult, *, origin: Mapping[str, str], repository: str, now: datetime
) -> Notice | None:
    """The notice of the commit ``result`` made, or None when it made none."""
    if not result.commit:
        return None
    where = f" to {result.branch}" if result.pushed and result.branch else " (not pushed)"
    listed = ", ".join(_change_text(change) for change in result.changes[:MAX_LISTED])
    more = len(result.changes) - MAX_LISTED
    listed += f" and {more} more" if more > 0 else ""
    message = (
        f"{_who(origin)}: committed {len(result.changes)} image update(s) in "
        f"{result.commit[:7]}{where}: {listed}"
    )
    return Notice(
        event="commit",
        severity="info",
        reason="Committed",
        message=message,
        timestamp=now,
        origin=origin,
        repository=repository,
        branch=result.branch,
        commit=result.commit,
        pushed=result.pushed,
        changes=result.changes,
    )


def state_notice(
    *,
    origin: Mapping[str, str],
    repository: str,
    previous: Mapping[str, object] | None,
    current: Mapping[str, object],
    healthy: bool,
    reason: str,
    message: str,
    now: datetime,
) -> Notice:
    """A change of state: ``healthy`` says whether ``current`` is one nobody needs to act on."""
    return Notice(
        event="state",
        severity="info" if healthy else "error",
        reason=reason,
        message=f"{_who(origin)}: {message}",
        timestamp=now,
        origin=origin,
        repository=repository,
        previous=previous,
        current=current,
    )


def generic_body(notice: Notice) -> dict[str, Any]:
    """The JSON document ``generic`` and ``generic-hmac`` receivers get (docs/notifications.md)."""
    body: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "event": notice.event,
        "severity": notice.severity,
        "reason": notice.reason,
        "message": notice.message,
        "timestamp": notice.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "reportingController": "imagebot",
        "involvedObject": dict(notice.origin),
        "repository": notice.repository,
        "branch": notice.branch,
        "commit": notice.commit,
        "pushed": notice.pushed,
        "changes": [_change_json(change) for change in notice.changes],
        "state": (
            {"previous": notice.previous, "current": notice.current}
            if notice.event == "state"
            else None
        ),
    }
    return dict(redact_tree(body))


def slack_body(notice: Notice) -> dict[str, Any]:
    """A Slack incoming webhook's minimal message: ``text`` (escaped as Slack asks), one line per
    change below the summary."""
    lines = [notice.message]
    lines += [f"• {_change_text(change)} ({change.target.location})" for change in notice.changes]
    text = "\n".join(lines)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return dict(redact_tree({"text": escaped}))


def _change_json(change: Change) -> dict[str, Any]:
    target = change.target
    return {
        "file": target.location.file,
        "line": target.location.line,
        "workload": str(target.workload),
        "container": target.container,
        "image": target.image.name,
        "old": change.old,
        "new": change.new,
        "tag": change.new_tag,
        "digest": change.new_digest,
    }


def _change_text(change: Change) -> str:
    what = change.target.container or change.target.image.familiar_name
    return f"{what} {change.old} -> {change.new}"


def _who(origin: Mapping[str, str]) -> str:
    if origin.get("namespace"):
        return f"{origin.get('kind', '')} {origin['namespace']}/{origin.get('name', '')}"
    return f"imagebot run on {origin.get('name', '')}"
