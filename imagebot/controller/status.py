"""Render a cycle's outcome as the ImageAutomation's status and as Kubernetes events.

Pure functions from a ``RunResult`` (or an ``ImagebotError``) plus the previous status to a status
patch with kstatus-style conditions (Ready, Reconciling, Stalled) and to ``EventNote``s. Sending
them is the handlers' job; nothing here talks to the API server. Every text passes the one
redactor (``imagebot.redact``) before it can reach the API server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from imagebot.controller.crd import MAX_PROBLEMS_IN_STATUS
from imagebot.errors import DeployKeyRefused, ImagebotError, KubernetesError, RateLimited
from imagebot.model import Problem, ProblemCode, RunResult, Severity, WorkloadId
from imagebot.records import record
from imagebot.redact import redact
from imagebot.refs import parse_reference

READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"
# Kinds whose objects can carry an event about their image, and where their API lives.
WORKLOAD_APIS: Mapping[str, tuple[str, str, str]] = {
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}


@record
class EventNote:
    """One event to post: on the automation itself when ``workload`` is None, else on that
    workload (its namespace always given)."""

    type: str  # "Normal" or "Warning"
    reason: str
    message: str
    workload: WorkloadId | None = None


def event_workload(workload: WorkloadId, default_namespace: str) -> WorkloadId | None:
    """The object in the cluster that an event about ``workload`` goes to (in the automation's
    namespace when the file names none); None for kinds that cannot take events."""
    if workload.directory or workload.kind not in WORKLOAD_APIS:
        return None
    return replace(workload, namespace=workload.namespace or default_namespace)


@record
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


# The reason a status gives each user-fixable problem code. Which codes stall is the code's own
# trait (``ProblemCode.user_fixable``); this only names them, as earlier statuses did.
STALL_REASONS: Mapping[ProblemCode, str] = {
    ProblemCode.INVALID_POLICY: "InvalidPolicy",
    ProblemCode.REGISTRY_REFUSED: "RegistryRefused",
    ProblemCode.MANIFEST: "ManifestProblems",
}
_SHOWN = 3  # problems spelt out in a condition message; all of them are in status.problems


@record
class CycleOutcome:
    """How a finished cycle went: ``outcome`` is the metrics label (ok, stalled, transient)."""

    outcome: str
    reason: str
    message: str
    retry: bool  # some registry failed for a passing reason: run again soon, with backoff


def judge(result: RunResult) -> CycleOutcome:
    """User-fixable errors stall; passing registry failures retry; warnings and the rest are
    Ready (a warning never stalls: its item went ahead). Messages leave redacted."""
    outcome = _judge(result)
    return replace(outcome, message=redact(outcome.message))


def _judge(result: RunResult) -> CycleOutcome:
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    fixable = [p for p in errors if p.code.user_fixable]
    unavailable = [p for p in errors if p.code.transient]
    retry = bool(unavailable or result.stale_registries or result.failed_repositories)
    if fixable:
        code = min((p.code for p in fixable), key=list(ProblemCode).index)
        message = _listing(fixable)
        if result.commit and result.pushed:
            message += f"; pushed {_short(result.commit)} for the rest"
        return CycleOutcome("stalled", _stall_reason(code), message, retry)
    if retry:
        names = sorted({*result.failed_repositories, *result.stale_registries})
        message = f"registry unavailable for {', '.join(names)}" if names else ""
        message = message or _listing(unavailable)
        return CycleOutcome("transient", "RegistryUnavailable", message + "; retrying", True)
    if result.commit and result.pushed:
        reason, message = "Pushed", f"pushed {_short(result.commit)} to {result.branch}"
    elif result.changes:
        reason, message = "Committed", f"{len(result.changes)} change(s) not pushed (dry run)"
    else:
        reason, message = "UpToDate", "every automated image is at its policy's choice"
    if result.problems:
        message += f"; {len(result.problems)} problem(s), see status.problems"
    return CycleOutcome("ok", reason, message, False)


def _stall_reason(code: ProblemCode) -> str:
    """``InvalidPolicy`` for ``invalid-policy``: the named reason, else the code in CamelCase."""
    return STALL_REASONS.get(code) or "".join(part.title() for part in code.split("-"))


# Stalls whose fix arrives through Git, the registry or the Git host's deploy keys, not the spec:
# the timer keeps polling.
POLLED_STALLS = frozenset(
    {
        *(_stall_reason(code) for code in ProblemCode if code.user_fixable),
        DeployKeyRefused.__name__,
    }
)


def status_for_result(result: RunResult, stamp: Stamp) -> dict[str, Any]:
    """The status after a cycle that ran to its end; see ``judge`` for the conditions."""
    judged = judge(result)
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
        "conditions": _conditions(judged, stamp),
    }
    if result.commit and result.pushed:
        status["lastPushedCommit"] = result.commit
        status["lastPushTime"] = stamp.now.isoformat()
    return status


def status_for_unchanged(result: RunResult, stamp: Stamp) -> dict[str, Any]:
    """A skipped cycle changes nothing but the time it ran: conditions stay as they were."""
    return {"lastRunTime": stamp.now.isoformat(), "observedRevision": result.remote_revision}


def _conditions(judged: CycleOutcome, stamp: Stamp) -> list[dict[str, Any]]:
    reason, message = judged.reason, judged.message
    if judged.outcome == "ok":
        return [
            stamp.condition(READY, True, reason, message),
            stamp.condition(RECONCILING, False, reason, "cycle finished"),
            stamp.condition(STALLED, False, reason, ""),
        ]
    if judged.retry:
        reconciling = stamp.condition(RECONCILING, True, "RegistryUnavailable", "retrying soon")
    else:
        reconciling = stamp.condition(
            RECONCILING, False, reason, "waiting for a fix in Git or at the registry"
        )
    stalled = judged.outcome == "stalled"
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
    """Seconds before retrying a transient failure: Retry-After when given (by a registry or by
    the API server), else backoff. Asking sooner than Retry-After only earns another 429."""
    if isinstance(error, RateLimited | KubernetesError) and error.retry_after is not None:
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
            workload = event_workload(change.target.workload, namespace)
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
