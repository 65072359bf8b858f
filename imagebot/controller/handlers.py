"""kopf handlers for ImageAutomation: run the shared reconcile in a worker thread, report back.

``Controller.cycle`` is the one path every trigger takes (create, resume, spec edit, the
``imagebot.io/reconcile-at`` annotation, the timer): spec -> Secrets (and the deploy key, made on
first need) -> reconcile off the event loop -> status, events, metrics. Rendering the status is
``status.py``'s; when to stall, when to retry and when a timer tick may be skipped on an
unchanged fingerprint is decided here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from imagebot.config import RegistrySettings, Settings
from imagebot.controller.deploykeys import DeployKeys, key_status
from imagebot.controller.freshness import cycle_freshness
from imagebot.controller.kube import Cluster
from imagebot.controller.logs import log_cycle
from imagebot.controller.metrics import Metrics
from imagebot.controller.notices import OperatorNotices
from imagebot.controller.registries import AutomationKey, operator_registries
from imagebot.controller.secrets import (
    KubernetesSecretReader,
    SecretReader,
    cycle_settings,
    resolve_receivers,
)
from imagebot.controller.spec import AutomationSpec, parse_spec
from imagebot.controller.status import (
    POLLED_STALLS,
    READY,
    RECONCILING,
    STALLED,
    EventNote,
    Stamp,
    backoff,
    events_for_result,
    judge,
    retry_delay,
    status_for_error,
    status_for_result,
    status_for_unchanged,
)
from imagebot.errors import DeployKeyRefused, GitAuthError, ImagebotError, KubernetesError
from imagebot.gitrepo.deploykey import DeployKey
from imagebot.model import RunResult
from imagebot.reconcile.registries import CycleRegistry, RegistryClients
from imagebot.redact import redact
from imagebot.registry.fleet import Freshness

if TYPE_CHECKING:
    from imagebot.reconcile import Edges
    from imagebot.reconcile.run import RegistryLike

Emit = Callable[[Mapping[str, Any], str, str, str], None]
"""Posts one event: (object body, type, reason, message)."""
Reconcile = Callable[[Settings, "Edges", str | None], RunResult]
"""Runs one cycle: (settings, edges, fingerprint it may skip on) -> result."""
log = logging.getLogger(__name__)


def _kopf_emit(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    import kopf

    kopf.event(cast("kopf.Body", body), type=type_, reason=reason, message=message)


def _reconcile(settings: Settings, edges: Edges, unchanged_since: str | None) -> RunResult:
    from imagebot.reconcile import reconcile

    return reconcile(settings, edges=edges, unchanged_since=unchanged_since)


@dataclass
class Controller:
    """State shared by the handlers of one operator: edges, metrics, per-automation locks."""

    cluster: Cluster
    metrics: Metrics = field(default_factory=Metrics)
    secrets: SecretReader | None = None  # None: read them through ``cluster``
    emit: Emit = _kopf_emit
    run_reconcile: Reconcile = _reconcile
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # Registry metadata kept between cycles (one directory per namespace, the trust boundary of
    # the credentials that fetched it); without it every cycle pulls every manifest again.
    cache_root: Path | None = None
    # One registry client per automation across cycles: its bearer tokens and its 429 blocks
    # (Retry-After) would be lost with a client per cycle.
    registries: RegistryClients[AutomationKey] = field(default_factory=operator_registries)
    # Each automation's notification receivers, and the deliveries under way.
    notices: OperatorNotices = field(default_factory=OperatorNotices)
    _locks: dict[AutomationKey, asyncio.Lock] = field(default_factory=dict)
    _last_run: dict[AutomationKey, datetime] = field(default_factory=dict)

    async def cycle(
        self,
        *,
        body: Mapping[str, Any],
        patch: Any,
        retry: int = 0,
        force: bool = True,
        requested: str | None = None,
        **_: Any,
    ) -> None:
        """Run one cycle for the automation in ``body`` unless it is suspended or not due.

        ``force`` is False for timer ticks: they run only once the interval has passed (or when
        kopf retries a failed tick) and may be skipped cheaply when nothing moved. Creation,
        resumption, spec edits and webhook requests always run in full. ``requested``: the
        ``reconcile-at`` annotation that asked for this cycle, which says what to list afresh
        rather than take from the answers other automations got this interval.
        """
        meta, status = body.get("metadata", {}), body.get("status") or {}
        namespace, name = meta.get("namespace", ""), meta["name"]
        generation = int(meta.get("generation") or 0)
        key = (namespace, name)
        if not force and not retry and _stalled(status, generation):
            return  # no hot retry: a stalled automation waits for its spec to change
        started = time.monotonic()
        try:
            spec = parse_spec(body.get("spec") or {})
        except ImagebotError as error:
            self._fail(body, patch, error, Stamp(self.clock(), status, generation), retry, started)
        if spec.suspend:
            patch.status["conditions"] = _suspended(Stamp(self.clock(), status, generation))
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if not force and not retry and not self._due(key, spec, status, generation):
                return
            began = self._last_run[key] = self.clock()
            started = time.monotonic()
            since = None if force or retry else _fingerprint(status, generation)
            used: list[DeployKey] = []
            fresh = cycle_freshness(spec.interval_seconds, requested, self.clock, began)
            try:
                result = await asyncio.to_thread(self._run, spec, body, since, used, fresh)
            except ImagebotError as error:
                stamp = Stamp(self.clock(), status, generation)
                self._publish_key(patch, name, status, used)
                self._fail(body, patch, _refused(error, used), stamp, retry, started)
            self._publish_key(patch, name, status, used)
        stamp = Stamp(self.clock(), status, generation)
        if result.unchanged:
            patch.status.update(status_for_unchanged(result, stamp))
            self.metrics.observe_result(namespace, name, result, stamp.now.timestamp(), "skipped")
            log_cycle(f"{namespace}/{name}", "unchanged", None, time.monotonic() - started)
            return
        outcome = judge(result)
        patch.status.update(status_for_result(result, stamp))
        self.notices.cycle_ended(body, status, patch.status, result, stamp.now, self.emit)
        self.metrics.observe_result(namespace, name, result, stamp.now.timestamp(), outcome.outcome)
        commit = result.commit if result.pushed else None
        log_cycle(
            f"{namespace}/{name}",
            outcome.outcome,
            commit,
            time.monotonic() - started,
            outcome.message,
        )
        for note in events_for_result(result, namespace=namespace, previous=status):
            await self._post(body, note)
        if outcome.retry:
            import kopf

            # Never later than the next poll would have come anyway.
            delay = min(backoff(retry), spec.interval_seconds)
            raise kopf.TemporaryError(outcome.message, delay=delay)

    def forget(self, namespace: str, name: str) -> None:
        """Drop what is remembered about an automation this replica no longer handles (deleted,
        or out of its ``--selector``), its metrics included; kopf stops its timer itself."""
        self._locks.pop((namespace, name), None)
        self._last_run.pop((namespace, name), None)
        self.registries.forget((namespace, name))
        self.notices.forget((namespace, name))
        self.metrics.forget(namespace, name)

    def notice(
        self, *, type: str | None, body: Mapping[str, Any], labels: Mapping[str, str] | None = None
    ) -> None:
        """Any watch event of any automation: forget it once it is deleted or no longer carries
        every label of ``labels`` (this replica's ``--selector``). The label filter cannot sit
        on this handler: kopf would then never show it the edit that moved the automation out."""
        meta = body.get("metadata") or {}
        carried = meta.get("labels") or {}
        left = any(carried.get(key) != value for key, value in (labels or {}).items())
        if type == "DELETED" or left:
            self.forget(meta.get("namespace", ""), meta.get("name", ""))

    def remembered(self) -> set[AutomationKey]:
        """The automations this controller keeps state for, as (namespace, name)."""
        return set(self._locks) | set(self._last_run) | self.registries.owners()

    def _run(
        self,
        spec: AutomationSpec,
        body: Mapping[str, Any],
        since: str | None,
        used: list[DeployKey],
        fresh: Freshness,
    ) -> RunResult:
        """Blocking: the worker thread's part (secrets, temporary files, reconcile). A deploy
        key read or made for the cycle is appended to ``used`` (for the status, even when the
        cycle then fails); ``fresh`` says which tag lists other automations' answers may serve."""
        from imagebot.reconcile import Edges

        meta = body.get("metadata") or {}
        namespace = meta.get("namespace", "")
        key: AutomationKey = (namespace, meta["name"])
        clients: list[CycleRegistry] = []

        def make_registry(settings: RegistrySettings) -> RegistryLike:
            if self.cache_root is not None:
                cache = self.cache_root / (namespace or "_cluster")
                settings = replace(settings, cache_dir=str(cache))
            client = self.registries.lease(key, settings)
            client.client.lists.freshness = fresh
            clients.append(client)
            return client

        secrets = self.secrets or KubernetesSecretReader(self.cluster.secrets_api)
        # Before the rest: a cycle that fails on its other Secrets can still be told of.
        self.notices.remember(key, resolve_receivers(spec, namespace, secrets))

        def deploy_key() -> DeployKey:
            found = DeployKeys(self.cluster.secrets_api).ensure(body)
            used.append(found)
            return found

        try:
            with cycle_settings(spec, namespace, secrets, deploy_key) as settings:
                # A minimum age is measured by the controller's clock, like its intervals.
                edges = Edges(make_registry=make_registry, wall=lambda: self.clock().timestamp())
                return self.run_reconcile(settings, edges, since)
        finally:
            for client in clients:
                self._observe_client(client)

    @staticmethod
    def _publish_key(
        patch: Any, name: str, status: Mapping[str, Any], used: list[DeployKey]
    ) -> None:
        """Put the deploy key's public half and fingerprint into the status when it changed."""
        if used:
            published = key_status(used[-1], name)
            if status.get("deployKey") != published:
                patch.status["deployKey"] = published

    def _observe_client(self, client: CycleRegistry) -> None:
        """Fold this cycle's registry requests and quota answers into the metrics (the client
        stays open for the next cycle)."""
        self.metrics.observe_requests(client.stats.detailed())
        for host, quota in client.rate_limits.items():
            self.metrics.observe_quota(host, quota)

    def _due(
        self, key: AutomationKey, spec: AutomationSpec, status: Mapping[str, Any], generation: int
    ) -> bool:
        """Timer ticks run a cycle once the interval has passed, never while stalled."""
        if _stalled(status, generation):
            return False
        last = self._last_run.get(key)
        if last is None and status.get("lastRunTime"):
            last = datetime.fromisoformat(status["lastRunTime"])
        return last is None or (self.clock() - last).total_seconds() >= spec.interval_seconds

    def _fail(  # noqa: PLR0917 - the cycle's state, passed on
        self,
        body: Mapping[str, Any],
        patch: Any,
        error: ImagebotError,
        stamp: Stamp,
        retry: int,
        started: float,
    ) -> NoReturn:
        import kopf

        meta = body.get("metadata", {})
        patch.status.update(status_for_error(error, stamp))
        previous = body.get("status") or {}
        self.notices.cycle_ended(body, previous, patch.status, None, stamp.now, self.emit)
        namespace = meta.get("namespace", "")
        self.metrics.observe_failure(namespace, meta["name"], permanent=error.permanent)
        reason = "Stalled" if error.permanent else "Retrying"
        message = redact(str(error))  # events and kopf's log must not carry a credential
        self.emit(body, "Warning", reason, message)
        outcome = "stalled" if error.permanent else "transient"
        log_cycle(f"{namespace}/{meta['name']}", outcome, None, time.monotonic() - started, message)
        if error.permanent:
            raise kopf.PermanentError(message) from error
        raise kopf.TemporaryError(message, delay=retry_delay(error, retry)) from error

    async def _post(self, body: Mapping[str, Any], note: EventNote) -> None:
        if note.workload is None:
            self.emit(body, note.type, note.reason, note.message)
            return
        try:
            workload = await asyncio.to_thread(self.cluster.workload, note.workload)
        except KubernetesError as error:
            # The status is already patched and the same news went on the automation: a failed
            # lookup costs this one copy of the event, never the cycle (a raise here would make
            # kopf run the whole cycle again, push included).
            log.warning("no event on %s: %s", note.workload, redact(str(error)))
            return
        if workload is not None:
            self.emit(workload, note.type, note.reason, note.message)


def _refused(error: ImagebotError, used: list[DeployKey]) -> ImagebotError:
    """A Git refusal of the operator's own deploy key, said as such: the fix is adding the key
    at the Git host, which the timer's next poll sees."""
    if not used or not isinstance(error, GitAuthError) or isinstance(error, DeployKeyRefused):
        return error
    refused = DeployKeyRefused(
        f"{error}; add the deploy key {used[-1].fingerprint} to the repository with write "
        "access (`imagebot identity` prints it)"
    )
    refused.__cause__ = error
    return refused


def _stalled(status: Mapping[str, Any], generation: int) -> bool:
    """Stalled on the spec as it is now (a spec edit bumps the generation and lifts it).

    Stalls on problems in the files do not count: their fix is a Git commit, which only a
    later poll can see, so the timer keeps polling at the spec's interval.
    """
    stalled = any(
        c.get("type") == STALLED and c.get("status") == "True"
        for c in status.get("conditions") or ()
        if c.get("reason") not in POLLED_STALLS
    )
    return stalled and status.get("observedGeneration") == generation


def _fingerprint(status: Mapping[str, Any], generation: int) -> str | None:
    """What the last full cycle observed, if it ran on the spec as it is now."""
    if status.get("observedGeneration") != generation:
        return None
    found = status.get("observedFingerprint")
    return found if isinstance(found, str) and found else None


def _suspended(stamp: Stamp) -> list[dict[str, Any]]:
    message = "spec.suspend is true; no cycles run"
    return [
        stamp.condition(READY, False, "Suspended", message),
        stamp.condition(RECONCILING, False, "Suspended", message),
        stamp.condition(STALLED, False, "Suspended", ""),
    ]


def build_registry(
    controller: Controller, *, tick_seconds: float = 10.0, labels: Mapping[str, str] | None = None
) -> Any:
    """A kopf registry with the handlers of ``controller`` (no module-level globals)."""
    import kopf

    from imagebot.controller.crd import GROUP, PLURAL, REQUESTED_AT, VERSION

    registry = kopf.OperatorRegistry()
    resource = (GROUP, VERSION, PLURAL)
    # Sharding: a replica started with --selector handles only automations with these labels.
    selector = dict(labels) if labels else None

    async def on_change(**kwargs: Any) -> None:
        await controller.cycle(**kwargs)

    async def on_request(*, new: Any = None, **kwargs: Any) -> None:
        await controller.cycle(requested=str(new) if new else None, **kwargs)

    async def on_tick(**kwargs: Any) -> None:
        await controller.cycle(force=False, **kwargs)

    async def on_event(*, type: str | None, body: Mapping[str, Any], **_: Any) -> None:
        # No finalizer: deleting never waits for the operator.
        controller.notice(type=type, body=body, labels=selector)

    kopf.on.create(*resource, registry=registry, id="cycle-on-create", labels=selector)(on_change)
    kopf.on.resume(*resource, registry=registry, id="cycle-on-resume", labels=selector)(on_change)
    kopf.on.update(*resource, field="spec", registry=registry, id="cycle-on-spec", labels=selector)(
        on_change
    )
    kopf.on.update(
        *resource,
        field=("metadata", "annotations", REQUESTED_AT),
        registry=registry,
        id="cycle-on-request",
        labels=selector,
    )(on_request)
    # Every automation, not only the selected ones: it must see one leave the selector.
    kopf.on.event(*resource, registry=registry, id="forget-on-delete")(on_event)
    # The first tick waits one period so that it does not race the creation/resume handler.
    kopf.timer(
        *resource,
        interval=tick_seconds,
        initial_delay=tick_seconds,
        registry=registry,
        id="cycle-on-interval",
        labels=selector,
    )(on_tick)
    return registry
