"""``imagebot release``: fluxctl's release, in Git.

``--update-image IMAGE:TAG`` writes one version into the image's targets (or the named
workloads'); ``--update-all-images`` moves every image in scope to the newest tag its policy
allows, asking the registries. ``--workload``/``--all`` and ``--exclude`` set the scope. Both
commit and push as the other workflow commands do (``workflow_cmd.commit_edit``); the edits are
``imagebot.reconcile.workflow``'s and ``imagebot.reconcile.latest``'s.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from imagebot.cli.common import HELP_OPTIONS, fail, reported_errors
from imagebot.cli.options import MESSAGE, NAMESPACE
from imagebot.cli.workflow_cmd import GIT_OPTIONS, commit_edit, request_of
from imagebot.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from imagebot.config import Settings
    from imagebot.manifest.scope import Scope
    from imagebot.reconcile.edit import Edit
    from imagebot.reconcile.workflow import Request


@click.command(context_settings=HELP_OPTIONS)
@click.option("--update-image", "--image", "-i", "image_text", metavar="IMAGE:TAG",
              help="The image and the tag (or @digest) to release.")  # fmt: skip
@click.option("--update-all-images", is_flag=True,
              help="Every image in scope to the newest tag its policy allows.")  # fmt: skip
@click.option("-w", "--workload", "workloads", multiple=True, metavar="WORKLOAD",
              help="Only these workloads (repeatable); default: all of IMAGE.")  # fmt: skip
@click.option("--all", "all_workloads", is_flag=True,
              help="Every workload (the default without --workload).")  # fmt: skip
@click.option("--exclude", "excludes", multiple=True, metavar="WORKLOAD",
              help="Leave this workload out (repeatable).")  # fmt: skip
@NAMESPACE
@click.option("-f", "--force", is_flag=True, help="Release to locked workloads too.")
@GIT_OPTIONS
@MESSAGE
def release(**options: Any) -> None:
    """Write IMAGE:TAG into every target of IMAGE (or the named workloads'), commit and push.

    --update-all-images instead moves every image in scope (automated or not) to the newest
    tag its container's policy allows, the newest by creation time without one. Locked
    workloads are refused unless --force (with --update-all-images: only those named with -w).
    Exit 5 when nothing was released.
    """
    from imagebot.manifest.scope import Scope
    from imagebot.model import WorkloadId

    image_text, every = options["image_text"], options["update_all_images"]
    if bool(image_text) == every:
        fail("say what to release: --update-image IMAGE:TAG or --update-all-images (one of them)")
    if options["all_workloads"] and options["workloads"]:
        fail("--all and --workload: name workloads, or say --all, not both")
    namespace = options["namespace"]
    with reported_errors():
        scope = Scope(
            tuple(WorkloadId.parse(w, namespace) for w in options["workloads"]),
            tuple(WorkloadId.parse(w, namespace) for w in options["excludes"]),
        )
    request = request_of(options)
    if every:
        _release_latest(options, scope, request)
    from imagebot.reconcile.workflow import Release
    from imagebot.reconcile.workflow import release as plan_release
    from imagebot.refs import parse_reference

    with reported_errors():
        image = parse_reference(image_text)
        if image.tag is None and image.digest is None:
            raise UsageError(f"--update-image {image_text!r}: give a tag (IMAGE:TAG)")
        wanted = Release(
            image, image.tag, image.digest, scope.workloads, options["force"], scope.excludes
        )
    commit_edit(options, lambda root, s: plan_release(root, s.paths, wanted, request))


def _release_latest(options: dict[str, Any], scope: Scope, request: Request) -> NoReturn:
    """``--update-all-images``: one registry client for every attempt, closed at the end."""
    from imagebot.reconcile.latest import Latest, LatestRelease
    from imagebot.registry import RegistryClient

    if options["force"] and not scope.workloads:
        sys.stderr.write(
            "imagebot: note: --force reaches locked workloads only when they are named "
            "with --workload (as fluxctl's did with --update-all-images)\n"
        )
    wanted = Latest(scope, options["force"])
    opened: list[tuple[RegistryClient, LatestRelease]] = []

    def compute(root: Path, settings: Settings) -> Edit:
        if not opened:
            client = RegistryClient(settings.registries)
            opened.append((client, LatestRelease(client, wanted, request)))
        return opened[0][1](root, settings)

    try:
        commit_edit(options, compute)
    finally:
        for client, _ in opened:
            client.close()
