"""Prometheus metrics of the operator, in a registry of their own (served on ``/metrics``).

``Metrics.observe_result`` folds one cycle's ``RunResult`` into counters and gauges; the webhook
receiver counts deliveries. A private ``CollectorRegistry`` per operator keeps tests independent
and leaves the process-wide default registry alone. No HTTP here: see ``imagebot.controller.web``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from imagebot.model import RunResult

if TYPE_CHECKING:
    from imagebot.registry import RateLimitInfo

_AUTOMATION = ("namespace", "name")


class Metrics:
    """Every metric the operator exports; names are listed in docs/operator.md."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.registry_requests = Counter(
            "imagebot_registry_requests",
            "Registry requests, by host, kind (tags, manifest, blob, token) and status.",
            ["host", "kind", "status"],
            registry=r,
        )
        self.quota_spent = Gauge(
            "imagebot_registry_pull_quota_spent",
            "Pulls spent from a rate-limited quota.",
            ["host"],
            registry=r,
        )
        self.quota_remaining = Gauge(
            "imagebot_registry_pull_quota_remaining",
            "Pulls left in the quota, as the registry says.",
            ["host"],
            registry=r,
        )
        self.cache_hits = Counter(
            "imagebot_registry_cache_hits",
            "Registry answers served from imagebot's cache.",
            ["host"],
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "imagebot_cycle_duration_seconds",
            "Duration of one reconcile cycle.",
            _AUTOMATION,
            registry=r,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
        )
        self.cycles = Counter(
            "imagebot_cycles",
            "Cycles by outcome (ok, skipped, transient, stalled).",
            [*_AUTOMATION, "outcome"],
            registry=r,
        )
        self.commits_pushed = Counter(
            "imagebot_commits_pushed", "Commits pushed to Git.", _AUTOMATION, registry=r
        )
        self.push_retries = Counter(
            "imagebot_push_retries",
            "Pushes retried after the remote moved on.",
            _AUTOMATION,
            registry=r,
        )
        self.problems = Gauge(
            "imagebot_problems", "Problems reported by the latest cycle.", _AUTOMATION, registry=r
        )
        self.last_success = Gauge(
            "imagebot_last_success_timestamp_seconds",
            "Unix time of the latest cycle that ran to its end.",
            _AUTOMATION,
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "imagebot_webhook_deliveries",
            "Webhook deliveries by sender and outcome (accepted, bad_signature, "
            "unknown_repository, bad_payload, ignored).",
            ["sender", "outcome"],
            registry=r,
        )

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
