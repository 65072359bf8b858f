"""Render a cycle's outcome as the ImageAutomation's status and as Kubernetes events.

Pure functions from a ``RunResult`` (or an ``ImagebotError``) plus the previous status to a status
patch with kstatus-style conditions (Ready, Reconciling, Stalled) and to ``EventNote``s. Sending
them is the handlers' job; nothing here talks to the API server. Every text passes the one
redactor (``imagebot.redact``) before it can reach the API server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from imagebot.controller.crd import MAX_PROBLEMS_IN_STATUS
from imagebot.errors import ImagebotError, RateLimited
from imagebot.model import Problem, RunResult
from imagebot.redact import redact
from imagebot.refs import parse_reference

READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"
# The manifest scanner names workloads `Kind/namespace/name`; Flux v1 wrote `namespace:kind/name`.
_WORKLOAD = re.compile(
    r"^(?P<kind>[A-Za-z]+)/(?P<namespace>[a-z0-9.-]+)/(?P<name>[a-z0-9.-]+)$"
    r"|^(?:(?P<ns>[a-z0-9.-]+):)?(?P<kind1>[A-Za-z]+)/(?P<name1>[a-z0-9.-]+)$"
)
# Kinds whose objects can carry an event about their image, and where their API lives.
WORKLOAD_APIS: Mapping[str, tuple[str, str, str]] = {
    "deployment": ("apps", "v1", "deployments"),
    "statefulset": ("apps", "v1", "statefulsets"),
    "daemonset": ("apps", "v1", "daemonsets"),
    "cronjob": ("batch", "v1", "cronjobs"),
    "helmrelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}


@dataclass(frozen=True, slots=True)
class WorkloadRef:
    """A workload in the cluster, as named by a target (``my-demo:deployment/fluxdemo``)."""

    namespace: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class EventNote:
    """One event to post: on the automation itself when ``workload`` is None."""

    type: str  # "Normal" or "Warning"
    reason: str
    message: str
    workload: WorkloadRef | None = None


def parse_workload(text: str, default_namespace: str) -> WorkloadRef | None:
    """``Kind/namespace/name`` or ``[namespace:]kind/name`` -> ``WorkloadRef``; None for kinds
    that cannot take events."""
    match = _WORKLOAD.match(text.strip())
    if match is None:
        return None
    kind = (match["kind"] or match["kind1"]).lower()
    if kind not in WORKLOAD_APIS:
        return None
    namespace = match["namespace"] or match["ns"] or default_namespace
    return WorkloadRef(namespace=namespace, kind=kind, name=match["name"] or match["name1"])


@dataclass(frozen=True, slots=True)
class Stamp:
    """When and against what a status is written: transition times survive unchanged flags."""

    now: datetime
    previous: Mapping[str, Any]
    generation: int

    def condition(self, kind: str, status: bool, reason: str, message: str) -> dict[str, Any]:
        """A kstatus condition; its transition time moves only when its status flips."""
        text = "True" if status else "False"
        since = self.now.isoformat()
        for old in self.previous.get("conditions") or ():
            if old.get("type") == kind and old.get("status") == text:
                since = old.get("lastTransitionTime") or since
        return {
            "type": kind,
            "status": text,
            "reason": reason,
            "message": message,
            "lastTransitionTime": since,
            "observedGeneration": self.generation,
        }


# Problem codes the user has to fix (in Git or at the registry), by the reason the status
# gives them, most specific first; "" is trouble in the files themselves (bad reference, YAML).
USER_FIXABLE = {
    "invalid-policy": "InvalidPolicy",
    "registry-refused": "RegistryRefused",
    "": "ManifestProblems",
}
# Stalls whose fix arrives through Git or the registry, not the spec: the timer keeps polling.
POLLED_STALLS = frozenset(USER_FIXABLE.values())
TRANSIENT_CODES = frozenset({"registry-unavailable"})
_SHOWN = 3  # problems spelt out in a condition message; all of them are in status.problems


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a finished cycle went: ``outcome`` is the metrics label (ok, stalled, transient)."""

    outcome: str
    reason: str
    message: str
    retry: bool  # some registry failed for a passing reason: run again soon, with backoff


def judge(result: RunResult) -> Verdict:
    """User-fixable problems stall; passing registry failures retry; the rest is Ready."""
    verdict = _judge(result)
    return replace(verdict, message=redact(verdict.message))


def _judge(result: RunResult) -> Verdict:
    fixable = [p for p in result.problems if p.code in USER_FIXABLE]
    unavailable = [p for p in result.problems if p.code in TRANSIENT_CODES]
    retry = bool(unavailable or result.stale_registries or result.failed_repositories)
    if fixable:
        code = next(c for c in USER_FIXABLE if any(p.code == c for p in fixable))
        message = _listing(fixable)
        if result.commit and result.pushed:
            message += f"; pushed {_short(result.commit)} for the rest"
        return Verdict("stalled", USER_FIXABLE[code], message, retry)
    if retry:
        names = sorted({*result.failed_repositories, *result.stale_registries})
        message = f"registry unavailable for {', '.join(names)}" if names else ""
        message = message or _listing(unavailable)
        return Verdict("transient", "RegistryUnavailable", message + "; retrying", True)
    if result.commit and result.pushed:
        reason, message = "Pushed", f"pushed {_short(result.commit)} to {result.branch}"
    elif result.changes:
        reason, message = "Committed", f"{len(result.changes)} change(s) not pushed (dry run)"
    else:
        reason, message = "UpToDate", "every automated image is at its policy's choice"
    if result.problems:
        message += f"; {len(result.problems)} problem(s), see status.problems"
    return Verdict("ok", reason, message, False)


def status_for_result(result: RunResult, stamp: Stamp) -> dict[str, Any]:
    """The status after a cycle that ran to its end; see ``judge`` for the conditions."""
    verdict = judge(result)
    status: dict[str, Any] = {
        "observedGeneration": stamp.generation,
        "lastRunTime": stamp.now.isoformat(),
        "observedRevision": result.remote_revision,
        # None (deleted from the status) when the next cycle must not be skipped.
        "observedFingerprint": result.observed,
        "chosen": dict(result.chosen),
        "images": sorted(repositories_of(result.chosen)),
        "counts": {
            "changes": len(result.changes),
            "problems": len(result.problems),
            "skipped": len(result.skipped),
            "registryRequests": sum(result.requests.values()),
            "pushAttempts": result.push_attempts,
        },
        "problems": [_text(problem) for problem in result.problems[:MAX_PROBLEMS_IN_STATUS]],
        "staleRegistries": list(result.stale_registries),
        "conditions": _conditions(verdict, stamp),
    }
    if result.commit and result.pushed:
        status["lastPushedCommit"] = result.commit
        status["lastPushTime"] = stamp.now.isoformat()
    return status


def status_for_unchanged(result: RunResult, stamp: Stamp) -> dict[str, Any]:
    """A skipped cycle changes nothing but the time it ran: conditions stay as they were."""
    return {"lastRunTime": stamp.now.isoformat(), "observedRevision": result.remote_revision}


def _conditions(verdict: Verdict, stamp: Stamp) -> list[dict[str, Any]]:
    reason, message = verdict.reason, verdict.message
    if verdict.outcome == "ok":
        return [
            stamp.condition(READY, True, reason, message),
            stamp.condition(RECONCILING, False, reason, "cycle finished"),
            stamp.condition(STALLED, False, reason, ""),
        ]
    if verdict.retry:
        reconciling = stamp.condition(RECONCILING, True, "RegistryUnavailable", "retrying soon")
    else:
        reconciling = stamp.condition(
            RECONCILING, False, reason, "waiting for a fix in Git or at the registry"
        )
    stalled = verdict.outcome == "stalled"
    return [
        stamp.condition(READY, False, reason, message),
        reconciling,
        stamp.condition(STALLED, stalled, reason, message if stalled else ""),
    ]


def _listing(problems: Sequence[Problem]) -> str:
    shown = "; ".join(_text(problem) for problem in problems[:_SHOWN])
    more = len(problems) - _SHOWN
    return shown + (f" (and {more} more in status.problems)" if more > 0 else "")


def status_for_error(error: ImagebotError, stamp: Stamp) -> dict[str, Any]:
    """Permanent errors stall the automation until its spec changes; others will be retried."""
    reason = type(error).__name__.rstrip("_")
    message = redact(str(error))
    if error.permanent:
        conditions = [
            stamp.condition(READY, False, reason, message),
            stamp.condition(RECONCILING, False, reason, "waiting for a spec change"),
            stamp.condition(STALLED, True, reason, message),
        ]
    else:
        conditions = [
            stamp.condition(READY, False, reason, message),
            stamp.condition(RECONCILING, True, "Retrying", message),
            stamp.condition(STALLED, False, reason, ""),
        ]
    return {
        "observedGeneration": stamp.generation,
        "lastRunTime": stamp.now.isoformat(),
        "observedFingerprint": None,  # whatever was observed before, the next cycle runs in full
        "conditions": conditions,
    }


def retry_delay(error: ImagebotError, attempt: int) -> float:
    """Seconds before retrying a transient failure: Retry-After when given, else backoff."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return max(1.0, error.retry_after)
    return backoff(attempt)


def backoff(attempt: int) -> float:
    """10 s, 20 s, 40 s ... for the 0th, 1st, 2nd retry, at most 10 minutes."""
    return float(min(600, 10 * 2 ** max(0, attempt)))


def events_for_result(
    result: RunResult, *, namespace: str, previous: Mapping[str, Any]
) -> list[EventNote]:
    """One event per pushed change on the automation and on its workload, one per new problem."""
    notes: list[EventNote] = []
    if result.commit and result.pushed:
        for change in result.changes:
            what = change.target.container or change.target.image.familiar_name
            version = change.new_tag or change.new
            message = f"imagebot committed {what} {version} in {_short(result.commit)}"
            notes.append(EventNote("Normal", "Committed", message))
            workload = parse_workload(change.target.workload, namespace)
            if workload is not None:
                notes.append(EventNote("Normal", "ImageUpdated", message, workload))
    known = set(previous.get("problems") or ())
    notes.extend(
        EventNote("Warning", "Problem", _text(problem))
        for problem in _new_problems(result.problems, known)
    )
    return notes


def repositories_of(chosen: Mapping[str, str]) -> set[str]:
    """Canonical repository names (``docker.io/demo/flaskapp``) of the chosen images."""
    names = set()
    for reference in chosen.values():
        try:
            names.add(parse_reference(reference).name)
        except ImagebotError:
            continue  # a broken reference is already reported as a problem
    return names


def _new_problems(problems: Sequence[Problem], known: set[str]) -> list[Problem]:
    return [problem for problem in problems[:MAX_PROBLEMS_IN_STATUS] if _text(problem) not in known]


def _text(problem: Problem) -> str:
    """A problem as the status and events show it: through the one redactor, since a registry
    or token server may have echoed a credential into it."""
    return redact(str(problem))


def _short(commit: str) -> str:
    return commit[:7]
