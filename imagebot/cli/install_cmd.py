"""``imagebot install``: the operator for one repository, for ``kubectl apply -f -``.

The seed's first step was ``fluxctl install --git-url ... | kubectl apply -f -``; this takes
fluxctl's flag names and prints deploy/'s base (shipped in the package), the known-hosts Secret
and the ImageAutomation, or writes them as a kustomization with ``--output-dir``. It never makes
or prints a private key: the operator makes the deploy key in the cluster, and ``imagebot
identity`` prints its public half.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from imagebot.cli.common import HELP_OPTIONS


@click.command("install", context_settings=HELP_OPTIONS)
@click.option(
    "--git-url",
    required=True,
    help="The repository imagebot commits to (git@host:org/repo, ssh://, https://).",
)
@click.option(
    "--git-branch", default=None, help="Branch to read and push to (default: the remote HEAD)."
)
@click.option(
    "--git-path",
    "git_paths",
    multiple=True,
    help="Only look in this directory of the repository (repeatable).",
)
@click.option("--git-user", default=None, help="Commit author name (default: imagebot's).")
@click.option("--git-email", default=None, help="Commit author email.")
@click.option(
    "--namespace",
    "-n",
    default="imagebot-system",
    show_default=True,
    help="Namespace of the operator and the automation.",
)
@click.option(
    "--interval",
    default="5m",
    show_default=True,
    help="How often the automation polls the registries (e.g. 90s, 5m, 1h30m).",
)
@click.option(
    "--known-hosts",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="known_hosts file with the Git host's keys (needed for an SSH URL).",
)
@click.option(
    "--registry-secret",
    "registry_secrets",
    multiple=True,
    help="Secret of type kubernetes.io/dockerconfigjson with registry logins (repeatable).",
)
@click.option(
    "--automation",
    default=None,
    help="Name of the ImageAutomation (default: the repository's name).",
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False),
    default=None,
    help="Write a kustomization to this directory instead of printing the objects.",
)
def install(  # noqa: PLR0917 - click passes every option as a parameter
    git_url: str,
    git_branch: str | None,
    git_paths: tuple[str, ...],
    git_user: str | None,
    git_email: str | None,
    namespace: str,
    interval: str,
    known_hosts: str | None,
    registry_secrets: tuple[str, ...],
    automation: str | None,
    output_dir: str | None,
) -> None:
    """Print the operator and an ImageAutomation for one repository, for kubectl apply -f -.

    Namespace, CRD, RBAC, Deployment, Service, the known-hosts Secret and the ImageAutomation,
    from deploy/. The operator makes the SSH deploy key in the cluster; `imagebot identity`
    prints it. An SSH URL needs --known-hosts: without it, this exits 2 and prints the
    ssh-keyscan command that writes the file.
    """
    from imagebot.cli.common import reported_errors
    from imagebot.install.render import (
        InstallOptions,
        automation_name,
        kustomization_files,
        render,
    )

    with reported_errors():
        options = InstallOptions(
            git_url=git_url,
            automation=automation or automation_name(git_url),
            namespace=namespace,
            interval=interval,
            git_branch=git_branch,
            git_paths=git_paths,
            git_user=git_user,
            git_email=git_email,
            known_hosts=Path(known_hosts).read_text() if known_hosts else None,
            registry_secrets=registry_secrets,
        )
        if output_dir is None:
            sys.stdout.write(render(options))
            return
        files = kustomization_files(options)
        root = Path(output_dir)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        sys.stderr.write(
            f"imagebot: wrote {len(files)} files to {root}; apply them with "
            f"kubectl apply -k {shlex.quote(str(root))}\n"
        )
