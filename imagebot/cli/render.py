"""Render a ``RunResult`` for people (a compact table) and for programs (JSON).

The core returns data; this is the only place that decides how it looks, and every text it
makes passes the one redactor. JSON field names are part of the CLI contract: add fields, never
rename them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from imagebot.model import Change, Problem, RunResult
from imagebot.redact import redact, redact_tree


def change_to_json(change: Change) -> dict[str, Any]:
    target = change.target
    return {
        "file": target.location.file,
        "line": target.location.line,
        "workload": str(target.workload),
        "container": target.container,
        "kind": str(target.kind),
        "old": change.old,
        "new": change.new,
        "tag": change.new_tag,
        "digest": change.new_digest,
        "policy": target.policy.text if target.policy else None,
        "policySource": target.policy.source if target.policy else "",
    }


def problem_to_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "image": problem.image,
        "message": problem.message,
        "code": str(problem.code),
        "severity": str(problem.severity),
    }


def result_to_json(result: RunResult) -> dict[str, Any]:
    return {
        "changes": [change_to_json(c) for c in result.changes],
        "problems": [problem_to_json(p) for p in result.problems],
        "skipped": [problem_to_json(p) for p in result.skipped],
        "commit": result.commit,
        "pushed": result.pushed,
        "branch": result.branch,
        "remoteRevision": result.remote_revision,
        "pushAttempts": result.push_attempts,
        "requests": dict(result.requests),
        "staleRegistries": list(result.stale_registries),
        "durationSeconds": round(result.duration_seconds, 3),
    }


SCHEMA_VERSION = 1
"""The ``schemaVersion`` of every ``--output json`` document: raised only when a key is renamed
or removed, or changes meaning (adding keys does not raise it)."""


def document(data: Mapping[str, Any]) -> str:
    """One command's ``--output json`` answer: ``schemaVersion`` first, then ``data``."""
    return dumps({"schemaVersion": SCHEMA_VERSION, **data})


def rfc3339(moment: datetime) -> str:
    """A time as every ``--output json`` document writes it: RFC 3339 in UTC, with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dumps(data: object) -> str:
    """JSON for stdout, every string in it redacted (a registry may echo a credential)."""
    return json.dumps(redact_tree(data), indent=2, sort_keys=False) + "\n"


def table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """A plain aligned text table; no colours, so it survives logs and pipes."""
    body = [header, *rows]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in body]  # fmt: skip
    return redact("\n".join(lines) + "\n")


def result_to_text(result: RunResult, *, dry_run: bool = False) -> str:
    out: list[str] = []
    if result.changes:
        rows = (
            (
                str(c.target.location),
                str(c.target.workload),
                c.target.container or "-",
                c.old,
                c.new,
            )
            for c in result.changes
        )
        verb = "would change" if dry_run else "changed"
        out.append(f"{len(result.changes)} image(s) {verb}:\n")
        out.append(table(rows, ("WHERE", "WORKLOAD", "CONTAINER", "FROM", "TO")))
    else:
        out.append("no image needs updating\n")
    if result.skipped:
        out.append(f"skipped ({len(result.skipped)}):\n")
        out.extend(f"  {p}\n" for p in result.skipped)
    if result.problems:
        out.append(f"problems ({len(result.problems)}):\n")
        out.extend(f"  {p}\n" for p in result.problems)
    if result.commit:
        where = f" to {result.branch}" if result.pushed else " (not pushed)"
        out.append(f"commit {result.commit[:12]}{where}\n")
    if dry_run and result.diff:
        out.append("\n" + result.diff)
    return redact("".join(out))
