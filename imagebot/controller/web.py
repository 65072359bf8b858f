"""The operator's HTTP side: registry webhooks, ``/metrics``, ``/healthz`` and ``/readyz``.

One aiohttp application (aiohttp is what kopf runs on). A webhook that authenticates and names a
repository some automation uses annotates those automations so the operator runs them at once;
polling stays the safety net. No reconcile happens here, and no secret is ever echoed back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from imagebot.controller.freshness import request_value
from imagebot.controller.kube import AutomationEntry
from imagebot.controller.metrics import Metrics
from imagebot.controller.webhooks import (
    Pushed,
    Sender,
    WebhookRefused,
    authenticate,
    parse_pushes,
)

MAX_BODY_BYTES = 1 << 20  # registry notifications are small; refuse anything bigger
# How the application is served (``web.AppRunner(app, **RUNNER_OPTIONS)``): no access log, since
# a Docker Hub webhook's secret is part of its URL and an access log line would repeat it.
RUNNER_OPTIONS: Mapping[str, Any] = {"access_log": None}
# Senders that batch many events in one delivery: refusing the whole batch for one unknown
# repository would make the registry re-send it forever and hold back every later event.
BATCH_SENDERS = frozenset({Sender.DISTRIBUTION})


class Directory(Protocol):
    """Where the receiver finds automations and asks for a cycle (``kube.Cluster``)."""

    def automations(self) -> list[AutomationEntry]: ...
    def request_cycle(self, namespace: str, name: str, at: str) -> None: ...


def make_app(
    directory: Directory,
    metrics: Metrics,
    secrets: Mapping[Sender, str],
    ready: Callable[[], bool] = lambda: True,
) -> web.Application:
    """The aiohttp application; ``secrets`` maps each enabled sender to its shared secret."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def hook(request: web.Request) -> web.Response:
        try:
            sender = Sender(request.match_info["sender"])
        except ValueError:
            return web.json_response({"error": "unknown sender"}, status=404)
        body = await request.read()
        try:
            authenticate(
                sender,
                secrets.get(sender),
                headers=request.headers,
                body=body,
                url_token=request.match_info.get("token"),
            )
            pushes = parse_pushes(sender, body, request.headers)
        except WebhookRefused as refused:
            metrics.webhook_deliveries.labels(sender, refused.outcome).inc()
            return web.json_response({"error": str(refused)}, status=refused.status)
        if not pushes:
            metrics.webhook_deliveries.labels(sender, "ignored").inc()
            return web.json_response({"triggered": []})
        return await _trigger(sender, pushes)

    async def _trigger(sender: Sender, pushes: list[Pushed]) -> web.Response:
        entries = await asyncio.to_thread(directory.automations)
        pushed: dict[tuple[str, str], set[str]] = {}
        for entry in entries:
            for push in pushes:
                if push.repository in entry.images:
                    pushed.setdefault((entry.namespace, entry.name), set()).add(push.repository)
        matched = sorted(pushed)
        unknown = sorted(
            {p.repository for p in pushes if not any(p.repository in e.images for e in entries)}
        )
        for _ in unknown:
            metrics.webhook_deliveries.labels(sender, "unknown_repository").inc()
        if not matched:
            status = 200 if sender in BATCH_SENDERS else 404
            error = f"no automation uses {', '.join(unknown)}"
            return web.json_response({"error": error, "triggered": []}, status=status)
        at = datetime.now(UTC)
        for namespace, name in matched:
            # The repositories ride along: only they are listed afresh (controller/freshness.py).
            value = request_value(at, pushed[namespace, name])
            await asyncio.to_thread(directory.request_cycle, namespace, name, value)
        metrics.webhook_deliveries.labels(sender, "accepted").inc()
        triggered = [f"{namespace}/{name}" for namespace, name in matched]
        return web.json_response({"triggered": triggered, "unknown": unknown}, status=202)

    async def serve_metrics(request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(metrics.registry))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")  # answering at all proves the event loop is not blocked

    async def readyz(request: web.Request) -> web.Response:
        return web.Response(text="ready") if ready() else web.Response(text="starting", status=503)

    app.router.add_post("/hooks/{sender}", hook)
    app.router.add_post("/hooks/{sender}/{token}", hook)
    app.router.add_get("/metrics", serve_metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
