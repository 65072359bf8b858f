"""``imagebot controller``: run the Kubernetes operator (kopf) until it is told to stop.

Only parses options; kopf, kubernetes and aiohttp are imported inside the command so that
``imagebot --help`` stays fast. The operator itself lives in ``imagebot.controller``.
"""

from __future__ import annotations

import click

from imagebot.cli import options
from imagebot.cli.common import HELP_OPTIONS, seconds_between

MAX_PRIORITY = 2**31 - 1


def replica_priority() -> int:
    """A priority no other replica is likely to have (odds of a tie: one in a billion).

    kopf pauses every operator when two of the same priority share a peering object, so replicas
    of one Deployment, all started with the same args, would all wait for ever. A random priority
    makes the highest one work and the rest stand by; a developer's operator with
    ``--priority 2147483647`` still outranks them all.
    """
    import secrets

    return 1 + secrets.randbelow(MAX_PRIORITY - 1)


@click.command("controller", context_settings=HELP_OPTIONS)
@click.option(
    "--namespace", "-n", "namespaces", multiple=True, help="Watch this namespace (repeatable)."
)
@click.option("--all-namespaces", "-A", is_flag=True, help="Watch every namespace (the default).")
@click.option(
    "--selector", "-l", default=None, help="Handle only automations with these labels (a=b,c=d)."
)
@click.option(
    "--webhook-port",
    type=click.IntRange(1, 65535),
    default=9292,
    show_default=True,
    help="Port of the webhook receiver, /metrics and the probes.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Alias of --webhook-port: both are served by one listener.",
)
@click.option(
    "--interval-tick",
    callback=seconds_between(0.1, 3600.0),
    default="10",
    show_default=True,
    help="How often to check which automations are due (seconds, or e.g. 500ms; 0.1 to 3600).",
)
@click.option("--standalone", is_flag=True, help="Run without peering (a single replica).")
@click.option(
    "--peering",
    "peering_name",
    default="imagebot",
    show_default=True,
    help="Peering object shared by the replicas; only one of them works at a time.",
)
@click.option(
    "--priority",
    type=click.IntRange(0, MAX_PRIORITY),
    default=None,
    help="Peering priority: the live replica with the highest works, the others wait (default: "
    "random per process, so that replicas of one Deployment never tie; a tie pauses them all).",
)
@click.option(
    "--peering-lifetime",
    callback=seconds_between(10.0, 3600.0),
    default="60s",
    show_default=True,
    help="How long a replica that stopped answering still counts as alive: the longest hand-over "
    "after a crash (10s to 1h).",
)
@options.KUBECONFIG
@options.CONTEXT
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines for people (text) or for a log pipeline (json, one object a line).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="Least severe level logged.",
)
@click.option("--verbose", "-v", is_flag=True, help="Same as --log-level debug.")
def controller(  # noqa: PLR0917 - click passes every option as a parameter
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    selector: str | None,
    webhook_port: int,
    metrics_port: int | None,
    interval_tick: float,
    standalone: bool,
    peering_name: str,
    priority: int | None,
    peering_lifetime: float,
    kubeconfig: str | None,
    context: str | None,
    log_format: str,
    log_level: str,
    verbose: bool,
) -> None:
    """Run the operator: reconcile every ImageAutomation on its interval and on registry webhooks.

    Webhook secrets come from IMAGEBOT_WEBHOOK_TOKEN (or IMAGEBOT_WEBHOOK_TOKEN_<SENDER>).
    Credentials missing or unusable: one line on stderr and exit 2.
    """
    from imagebot.cli.common import fail, reported_errors

    if all_namespaces and namespaces:
        fail("--all-namespaces and --namespace exclude each other")
    if metrics_port is not None and metrics_port != webhook_port:
        fail("metrics, probes and webhooks share one port: give --webhook-port only")

    from imagebot.controller.operator import (
        Login,
        OperatorOptions,
        parse_selector,
        run_operator,
        secrets_from_env,
    )

    options = OperatorOptions(
        namespaces=tuple(namespaces),
        labels=parse_selector(selector),
        webhook_port=webhook_port,
        tick_seconds=interval_tick,
        standalone=standalone,
        peering_name=peering_name,
        priority=replica_priority() if priority is None else priority,
        peering_lifetime=round(peering_lifetime),
        webhook_secrets=secrets_from_env(),
        login=Login(kubeconfig=kubeconfig, context=context),
        log_format=log_format,
        log_level="debug" if verbose else log_level.lower(),
    )
    with reported_errors():
        run_operator(options)
