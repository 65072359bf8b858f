"""Assemble and run the operator: kopf registry, handlers, web server, peering and sharding.

``build_operator`` wires a ``Controller`` into a fresh kopf registry together with the login
handler (a fresh registry has none of kopf's own: ``controller/login.py`` reads the kubeconfig or
the service account for kopf and for imagebot's client alike) and the web server (webhooks,
metrics, probes) as startup/cleanup activities, so ``imagebot controller`` and
``kopf.testing.KopfRunner`` run exactly the same thing. ``run_operator`` is the blocking entry:
it sets up the log (``controller/logs.py``) and says where it logged in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from imagebot import __version__
from imagebot.config import cache_home
from imagebot.controller.handlers import Controller, build_registry
from imagebot.controller.kube import Cluster, api_client
from imagebot.controller.login import Login, connection_info
from imagebot.controller.logs import configure_logging
from imagebot.controller.metrics import Metrics
from imagebot.controller.web import RUNNER_OPTIONS, make_app
from imagebot.controller.webhooks import Sender
from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.redact import install_log_redaction

__all__ = ["Login", "OperatorOptions", "build_operator", "run_operator"]

log = logging.getLogger(__name__)

# Names of environment variables, not secrets: one token for every sender, or one per sender.
TOKEN_ENV = "IMAGEBOT_WEBHOOK_TOKEN"  # noqa: S105
NOTICE_GRACE_SECONDS = 10.0  # how long a stopping operator lets its last notices out
SENDER_TOKEN_ENV = "IMAGEBOT_WEBHOOK_TOKEN_{}"  # noqa: S105 - e.g. IMAGEBOT_WEBHOOK_TOKEN_GITHUB


@record
class OperatorOptions:
    """What ``imagebot controller`` was asked for."""

    namespaces: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    webhook_host: str = "0.0.0.0"  # noqa: S104 - a pod must listen on its own address
    webhook_port: int = 9292
    tick_seconds: float = 10.0
    standalone: bool = False
    peering_name: str = "imagebot"
    priority: int = 0
    peering_lifetime: int = 60  # seconds a silent replica still counts as alive
    login: Login = field(default_factory=Login)  # kubeconfig or in-cluster service account
    log_format: str = "text"
    log_level: str = "INFO"
    webhook_secrets: Mapping[Sender, str] = field(default_factory=dict)
    cache_dir: Path | None = None  # registry metadata between cycles; default under XDG_CACHE_HOME


def secrets_from_env(environ: Mapping[str, str] = os.environ) -> dict[Sender, str]:
    """Webhook secrets from the environment (the Deployment fills it from a Secret)."""
    shared = environ.get(TOKEN_ENV, "")
    found = {}
    for sender in Sender:
        secret = environ.get(SENDER_TOKEN_ENV.format(sender.value.upper()), shared)
        if secret:
            found[sender] = secret
    return found


def parse_selector(text: str | None) -> dict[str, str]:
    """``team=a,shard=2`` -> labels an automation must carry to be handled by this replica."""
    labels: dict[str, str] = {}
    for part in (text or "").split(","):
        if part.strip():
            key, _, value = part.partition("=")
            labels[key.strip()] = value.strip()
    return labels


def build_operator(options: OperatorOptions) -> tuple[Any, Controller]:
    """A kopf registry with every handler and activity, and the controller behind it."""
    import kopf
    from aiohttp import web

    cluster = Cluster(api_client(options.login), options.namespaces)
    controller = Controller(
        cluster=cluster,
        metrics=Metrics(),
        cache_root=options.cache_dir or cache_home() / "registry",
    )
    registry = build_registry(controller, tick_seconds=options.tick_seconds, labels=options.labels)
    runners: list[web.AppRunner] = []
    started: list[bool] = []

    @kopf.on.startup(registry=registry)
    async def start_web(**_: Any) -> None:
        app = make_app(cluster, controller.metrics, options.webhook_secrets, lambda: bool(started))
        runner = web.AppRunner(app, **RUNNER_OPTIONS)
        await runner.setup()
        await web.TCPSite(runner, options.webhook_host, options.webhook_port).start()
        runners.append(runner)
        started.append(True)

    @kopf.on.cleanup(registry=registry)
    async def stop_web(**_: Any) -> None:
        for runner in runners:
            await runner.cleanup()
        # The last notices (a stall just before SIGTERM) get a little time, well inside the
        # pod's grace period; deliveries still under way after it are dropped.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(controller.notices.settle(), NOTICE_GRACE_SECONDS)

    login = options.login

    @kopf.on.login(registry=registry)
    def log_in(**_: Any) -> kopf.ConnectionInfo:
        # Read afresh on every call: kopf calls again after a 401, e.g. once a token rotated.
        try:
            return connection_info(login)  # type: ignore[no-any-return]
        except ConfigError as error:
            raise kopf.LoginError(str(error)) from error

    return registry, controller


def operator_settings(options: OperatorOptions) -> Any:
    """kopf settings: events at info level and up; peering as asked."""
    import kopf

    settings = kopf.OperatorSettings()
    settings.posting.level = 20  # logging.INFO: handler logs stay logs, events come from kopf.event
    settings.peering.name = options.peering_name
    settings.peering.priority = options.priority
    settings.peering.lifetime = options.peering_lifetime
    settings.peering.standalone = options.standalone
    settings.peering.mandatory = not options.standalone
    return settings


def run_operator(options: OperatorOptions) -> None:
    """Run until SIGTERM/SIGINT (kopf handles the signals).

    Credentials are read once before kopf starts, so that a missing or broken kubeconfig is one
    ConfigError (exit 2) rather than kopf retrying a login that cannot succeed.
    """
    import asyncio

    import kopf

    install_log_redaction()
    configure_logging(options.log_format, options.log_level)
    registry, controller = build_operator(options)
    log.info(
        "imagebot %s: API server %s, credentials from %s, watching %s, %s",
        __version__,
        controller.cluster.secrets_api.host,
        options.login.describe(),
        ", ".join(options.namespaces) or "every namespace",
        "standalone"
        if options.standalone
        else f"peering {options.peering_name!r} with priority {options.priority}",
    )
    asyncio.run(
        kopf.operator(
            registry=registry,
            settings=operator_settings(options),
            standalone=options.standalone,
            peering_name=None if options.standalone else options.peering_name,
            priority=options.priority,
            clusterwide=not options.namespaces,
            namespaces=options.namespaces,
        )
    )
