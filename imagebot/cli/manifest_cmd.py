"""``imagebot list`` and ``imagebot set-image``: read and edit image values in a local tree.

``list`` shows what automation would act on; ``set-image`` is the ``release`` use case written in
place, like ``fluxctl release --update-image``: it writes the files (or prints the diff) and never
commits. ``--repo`` names the tree (default ``.``), ``--path`` keeps subfolders of it; the
``file`` of every row is relative to ``--repo``. Exit codes: 0 done, 5 nothing matched (or
nothing could be written), 2 bad input (a ``--path`` that does not exist too). Only parsing and
rendering live here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from imagebot.cli.common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    EXIT_USAGE,
    HELP_OPTIONS,
    fail,
    local_tree,
    nothing_matched,
    reported_errors,
)
from imagebot.cli.options import DRY_RUN, LOCAL_REPO, OUTPUT, PATHS
from imagebot.model import Problem, Target

if TYPE_CHECKING:
    from imagebot.manifest.update import Update


def _state(target: Target) -> str:
    automation = target.automation
    states = [
        name for name, on in (("locked", automation.locked), ("ignored", automation.ignored)) if on
    ]
    return ",".join(states) or "-"


def target_to_json(target: Target) -> dict[str, Any]:
    """One row of ``list --output json``: a contract (docs/manifests.md); add keys, never rename."""
    where, workload, policy = target.location, target.workload, target.policy
    automation = target.automation
    return {
        "file": where.file,
        "line": where.line,
        "column": where.column,
        "document": where.document,
        "kind": str(target.kind),
        "workload": str(workload),
        "workloadKind": workload.kind,
        "workloadNamespace": workload.namespace,
        "workloadName": workload.name,
        "container": target.container,
        "image": str(target.image),
        "repository": target.image.name,
        "tag": target.image.tag,
        "digest": target.image.digest,
        "field": target.field_part,
        "value": target.current_value,
        "automated": target.automated,
        "policy": policy.text if policy else None,
        "policySource": policy.source if policy else "",
        "filterPattern": policy.filter_pattern if policy else None,
        "filterExtract": policy.extract if policy else None,
        "locked": automation.locked,
        "lockedMessage": automation.locked_message,
        "lockedUser": automation.locked_user,
        "ignored": automation.ignored,
        "pinDigest": automation.pin_digest,
    }


def _print_problems(title: str, problems: tuple[Problem, ...] | list[Problem]) -> None:
    if problems:
        sys.stderr.write(f"{title} ({len(problems)}):\n")
        sys.stderr.writelines(f"  {problem}\n" for problem in problems)


def _split_copies(copies: tuple[Problem, ...]) -> tuple[list[Problem], list[Problem]]:
    """The copies of the image seen and not changed: (not read, so warnings; left alone)."""
    from imagebot.model import Severity

    unread = [p for p in copies if p.severity is Severity.WARNING]
    return unread, [p for p in copies if p.severity is not Severity.WARNING]


@click.command("list", context_settings=HELP_OPTIONS)
@LOCAL_REPO
@PATHS
@click.option("--all", "show_all", is_flag=True, help="Also list images that are not automated.")
@OUTPUT
@click.pass_context
def list_targets(
    ctx: click.Context, repo: str, paths: tuple[str, ...], show_all: bool, output: str
) -> None:
    """List every automated image in a tree, with its policy and where that policy came from."""
    from imagebot.cli.render import document, problem_to_json, table
    from imagebot.gitrepo.remotes import remote_urls
    from imagebot.manifest import scan_tree

    with reported_errors():
        root, relative = local_tree(ctx, repo, paths)
        scan = scan_tree(root, relative, repository_urls=lambda: remote_urls(root))
    targets = [t for t in scan.targets if show_all or t.automated]
    empty = bool(relative) and not targets
    if output == "json":
        sys.stdout.write(
            document(
                {
                    "targets": [target_to_json(t) for t in targets],
                    "problems": [problem_to_json(p) for p in scan.problems],
                    "skipped": [problem_to_json(p) for p in scan.skipped],
                }
            )
        )
        if empty:
            nothing_matched(relative)
        raise SystemExit(EXIT_OK)
    rows = (
        (
            str(t.location),
            str(t.workload),
            t.container or "-",
            str(t.image),
            f"{t.policy.text} ({t.policy.source})" if t.policy else "-",
            _state(t),
        )
        for t in targets
    )
    sys.stdout.write(table(rows, ("WHERE", "WORKLOAD", "CONTAINER", "IMAGE", "POLICY", "STATE")))
    _print_problems("skipped", scan.skipped)
    _print_problems("problems", scan.problems)
    if empty:
        nothing_matched(relative)
    raise SystemExit(EXIT_OK)


@click.command("set-image", context_settings=HELP_OPTIONS)
@click.argument("reference", metavar="IMAGE:TAG")
@LOCAL_REPO
@PATHS
@DRY_RUN
@OUTPUT
@click.pass_context
def set_image(
    ctx: click.Context,
    *,
    reference: str,
    repo: str,
    paths: tuple[str, ...],
    dry_run: bool,
    output: str,
) -> None:
    """Write IMAGE:TAG (or IMAGE:TAG@sha256:...) into every target of IMAGE.

    Containers, Kustomize images, HelmRelease values and setter-marked fields whose repository is
    IMAGE (``nginx`` is ``docker.io/library/nginx``), automated or not; locked workloads are
    reported and left alone. The files are written in place; nothing is committed.
    """
    from imagebot.cli.render import document, problem_to_json
    from imagebot.errors import ReferenceError_
    from imagebot.manifest import unified_diff
    from imagebot.reconcile.workflow import Release
    from imagebot.reconcile.workflow import set_image as release_in_place
    from imagebot.refs import parse_reference

    try:
        image = parse_reference(reference)
    except ReferenceError_ as error:
        fail(str(error), EXIT_USAGE)
    if image.tag is None:
        # A digest alone would leave each file's old tag beside it, naming another version.
        fail(f"{reference!r} has no tag: give IMAGE:TAG (or IMAGE:TAG@sha256:...)", EXIT_USAGE)
    with reported_errors():
        root, relative = local_tree(ctx, repo, paths)
        wanted = Release(image, image.tag, image.digest)
        released = release_in_place(root, relative, wanted, write=not dry_run)
    diff = "".join(unified_diff(file, old, new) for file, (old, new) in released.texts.items())
    unread, left = _split_copies(released.copies)
    if output == "json":
        # Copies not changed join run's lists: not read in problems, left alone in skipped.
        sys.stdout.write(
            document(
                {
                    "image": str(image),
                    "changes": [_update_to_json(update) for update in released.applied],
                    "files": sorted(released.texts),
                    "written": bool(released.texts) and not dry_run,
                    "diff": diff,
                    "problems": [
                        problem_to_json(p)
                        for p in (*released.tree_problems, *released.problems, *unread)
                    ],
                    "skipped": [problem_to_json(p) for p in (*released.skipped, *left)],
                }
            )
        )
    else:
        _print_problems("skipped", released.skipped)
        _print_problems("problems", [*released.tree_problems, *released.problems])
        _print_problems("warnings: copies not read, so not changed", unread)
        _print_problems("left alone", left)
    if not released.found:
        where = " ".join(relative) if relative else str(root)
        count = len(released.copies)
        listed = "listed above" if output == "text" else "in problems and skipped"
        seen = f"; seen {count} time(s) where it was not changed, {listed}" if count else ""
        sys.stderr.write(f"imagebot: no image of {image.name} under {where}{seen}\n")
        raise SystemExit(EXIT_NO_MATCH)
    if output == "text" and dry_run:
        sys.stdout.write(diff)
    elif output == "text":
        for update in released.applied:
            target = update.target
            new = _update_to_json(update)["new"]
            container = f" {target.container}" if target.container else ""
            sys.stdout.write(
                f"{target.location}: {target.workload}{container}: "
                f"{target.current_value} -> {new}\n"
            )
    raise SystemExit(EXIT_OK if released.done else EXIT_NO_MATCH)


def _update_to_json(update: Update) -> dict[str, Any]:
    """One written (or, with --dry-run, planned) value: the keys of ``run``'s ``changes``."""
    from imagebot.manifest import updated_value

    target = update.target
    return {
        "file": target.location.file,
        "line": target.location.line,
        "workload": str(target.workload),
        "container": target.container,
        "kind": str(target.kind),
        "old": target.current_value,
        "new": updated_value(update),
        "tag": update.new_tag,
        "digest": update.new_digest,
    }
