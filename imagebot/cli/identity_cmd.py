"""``imagebot identity``: print the SSH public key to add to the repository as a deploy key.

The seed's second step was ``fluxctl identity``. The key pair is the operator's, made in the
cluster for an automation that names no SSH identity; this prints its public half (and with
``--regenerate`` replaces the pair first). A private key is never printed: the output is checked
before it is written.
"""

from __future__ import annotations

import sys

import click

from imagebot.cli import options
from imagebot.cli.common import HELP_OPTIONS


@click.command("identity", context_settings=HELP_OPTIONS)
@click.option(
    "--namespace",
    "-n",
    default="imagebot-system",
    show_default=True,
    help="Namespace of the automation.",
)
@click.option(
    "--automation", default=None, help="The automation (default: the only one in the namespace)."
)
@click.option(
    "--regenerate",
    is_flag=True,
    help="Replace the key pair with a new one; the old deploy key must then be replaced.",
)
@options.KUBECONFIG
@options.CONTEXT
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print text for people or json for programs (shapes: docs/cli.md).",
)
def identity(  # noqa: PLR0917 - click passes every option as a parameter
    namespace: str,
    automation: str | None,
    regenerate: bool,
    kubeconfig: str | None,
    context: str | None,
    output: str,
) -> None:
    """Print the SSH public key of an automation's deploy key.

    Add it to the repository as a deploy key with write access. The operator makes the key on
    the automation's first cycle; until then this exits 1. --regenerate makes a new pair, so
    the deploy key at the Git host must be replaced with the one printed.
    """
    from imagebot.cli.common import EXIT_TRANSIENT, fail, reported_errors
    from imagebot.cli.render import document
    from imagebot.controller.identity import Identities
    from imagebot.controller.login import Login

    with reported_errors():
        identities = Identities(Login(kubeconfig=kubeconfig, context=context))
        found = identities.automation(namespace, automation)
        key = identities.regenerate(found) if regenerate else identities.current(found)
    where = f"{found['metadata'].get('namespace', namespace)}/{found['metadata']['name']}"
    if key is None:
        fail(
            f"the automation {where} has no deploy key yet: the operator makes one on its first "
            "cycle when its Secret holds no SSH identity (is the operator running?)",
            EXIT_TRANSIENT,
        )
    if output == "json":
        text = document(
            {
                "namespace": key.namespace,
                "automation": key.automation,
                "secretName": key.secret_name,
                "publicKey": key.public_key,
                "fingerprint": key.fingerprint,
                "regenerated": regenerate,
            }
        )
    else:
        text = key.public_key + "\n"
    _write(text)
    if regenerate:
        old = f" ({key.previous_fingerprint})" if key.previous_fingerprint else ""
        sys.stderr.write(
            f"imagebot: {where} has a new deploy key, {key.fingerprint}: replace the old deploy "
            f"key{old} at the Git host with it (with write access); until then pushes are "
            "refused\n"
        )
    elif output == "text":
        sys.stderr.write(
            f"imagebot: {key.fingerprint}; add this key to the repository as a deploy key with "
            "write access\n"
        )


def _write(text: str) -> None:
    """Write ``text`` to stdout, unless it carries a private key: that must never happen."""
    from imagebot.cli.common import fail
    from imagebot.gitrepo.deploykey import is_private

    if is_private(text):
        fail("refusing to print a private key", 2)
    sys.stdout.write(text)
