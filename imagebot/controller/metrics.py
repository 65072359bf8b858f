"""Prometheus metrics of the operator, in a registry of their own (served on ``/metrics``).

``Metrics.observe_result`` folds one cycle's ``RunResult`` into counters and gauges; the webhook
receiver counts deliveries. A private ``CollectorRegistry`` per operator keeps tests independent
and leaves the process-wide default registry alone. No HTTP here: see ``imagebot.controller.web``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from imagebot.model import RunResult

if TYPE_CHECKING:
    from imagebot.registry import RateLimitInfo

_AUTOMATION = ("namespace", "name")
_HOST = ("host",)
OUTCOMES = ("ok", "skipped", "transient", "stalled")
"""Every value of ``imagebot_cycles_total``'s outcome label."""


class Metrics:
    """Every metric the operator exports; names are listed in docs/operator.md."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.registry_requests = self._counter(
            "imagebot_registry_requests",
            "Registry requests, by host, kind (tags, manifest, blob, token) and status.",
            ("host", "kind", "status"),
        )
        self.quota_spent = self._gauge(
            "imagebot_registry_pull_quota_spent", "Pulls spent from a rate-limited quota.", _HOST
        )
        self.quota_remaining = self._gauge(
            "imagebot_registry_pull_quota_remaining",
            "Pulls left in the quota, as the registry says.",
            _HOST,
        )
        self.cache_hits = self._counter(
            "imagebot_registry_cache_hits", "Registry answers served from imagebot's cache.", _HOST
        )
        self.cycle_seconds = Histogram(
            "imagebot_cycle_duration_seconds",
            "Duration of one reconcile cycle.",
            _AUTOMATION,
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
        )
        self.cycles = self._counter(
            "imagebot_cycles",
            "Cycles by outcome (ok, skipped, transient, stalled).",
            (*_AUTOMATION, "outcome"),
        )
        self.commits_pushed = self._counter("imagebot_commits_pushed", "Commits pushed to Git.")
        self.push_retries = self._counter(
            "imagebot_push_retries", "Pushes retried after the remote moved on."
        )
        self.problems = self._gauge("imagebot_problems", "Problems reported by the latest cycle.")
        self.last_success = self._gauge(
            "imagebot_last_success_timestamp_seconds",
            "Unix time of the latest cycle that ran to its end.",
        )
        self.webhook_deliveries = self._counter(
            "imagebot_webhook_deliveries",
            "Webhook deliveries by sender and outcome (accepted, bad_signature, "
            "unknown_repository, bad_payload, ignored).",
            ("sender", "outcome"),
        )

    def forget(self, namespace: str, name: str) -> None:
        """Drop every series of one automation (deleted, or no longer this replica's): a series
        left behind would be scraped forever, and a gauge such as ``imagebot_problems`` would
        keep alerting on an automation that is gone."""
        labels = (namespace, name)
        for metric in (
            self.cycle_seconds,
            self.commits_pushed,
            self.push_retries,
            self.problems,
            self.last_success,
        ):
            metric.remove(*labels)
        for outcome in OUTCOMES:
            self.cycles.remove(*labels, outcome)

    def _counter(self, name: str, doc: str, labels: Sequence[str] = _AUTOMATION) -> Counter:
        """A counter in this registry; labels default to the automation's."""
        return Counter(name, doc, list(labels), registry=self.registry)

    def _gauge(self, name: str, doc: str, labels: Sequence[str] = _AUTOMATION) -> Gauge:
        """A gauge in this registry; labels default to the automation's."""
        return Gauge(name, doc, list(labels), registry=self.registry)

    def observe_result(
        self, namespace: str, name: str, result: RunResult, now: float, outcome: str = "ok"
    ) -> None:
        """Fold one finished cycle into the metrics; ``outcome`` is ok, skipped, stalled (problems
        the user must fix) or transient (a registry to retry)."""
        labels = (namespace, name)
        self.cycle_seconds.labels(*labels).observe(result.duration_seconds)
        self.cycles.labels(*labels, outcome).inc()
        if result.commit and result.pushed:
            self.commits_pushed.labels(*labels).inc()
        if result.push_attempts > 1:
            self.push_retries.labels(*labels).inc(result.push_attempts - 1)
        self.problems.labels(*labels).set(len(result.problems))
        if outcome != "transient":  # every registry answered: the cycle saw everything
            self.last_success.labels(*labels).set(now)

    def observe_requests(self, detailed: Mapping[tuple[str, str, int], int]) -> None:
        """The registry client's ``(kind, host, status) -> count``; status 0 is no answer."""
        for (kind, host, status), count in detailed.items():
            if kind == "cache":
                self.cache_hits.labels(host).inc(count)
            else:
                self.registry_requests.labels(host, kind, str(status)).inc(count)

    def observe_failure(self, namespace: str, name: str, *, permanent: bool) -> None:
        self.cycles.labels(namespace, name, "stalled" if permanent else "transient").inc()

    def observe_quota(self, host: str, quota: RateLimitInfo) -> None:
        """A registry's latest ``ratelimit-limit``/``ratelimit-remaining`` answer (Docker Hub's):
        spent is what the window's limit no longer allows; halves that were not sent stay unset."""
        if quota.remaining is None:
            return
        self.quota_remaining.labels(host).set(quota.remaining)
        if quota.limit is not None:
            self.quota_spent.labels(host).set(max(0, quota.limit - quota.remaining))
