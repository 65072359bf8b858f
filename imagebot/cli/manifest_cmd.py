"""``imagebot list`` and ``imagebot set-image``: read and edit image values in a local tree.

``list`` shows what automation would act on; ``set-image`` is a manual release like
``fluxctl release --update-image``: it writes the files (or prints the diff) and never commits.
Exit codes: 0 done, 1 nothing matched (or nothing could be written), 2 bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from imagebot.cli.common import EXIT_NOTHING, EXIT_OK, EXIT_USAGE, fail, reported_errors
from imagebot.model import Problem, Target


def _root(path: str) -> Path:
    root = Path(path)
    if not root.is_dir():
        fail(f"--path {path!r} is not a directory", EXIT_USAGE)
    return root


def _state(target: Target) -> str:
    states = [name for name, on in (("locked", target.locked), ("ignored", target.ignored)) if on]
    return ",".join(states) or "-"


def target_to_json(target: Target) -> dict[str, Any]:
    """One row of ``list --output json``: a contract (docs/manifests.md); add keys, never rename."""
    where, workload, policy = target.location, target.workload, target.policy
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
        "locked": target.locked,
        "lockedMessage": target.locked_message,
        "lockedUser": target.locked_user,
        "ignored": target.ignored,
        "pinDigest": target.pin_digest,
    }


def _print_problems(title: str, problems: tuple[Problem, ...] | list[Problem]) -> None:
    if problems:
        sys.stderr.write(f"{title} ({len(problems)}):\n")
        sys.stderr.writelines(f"  {problem}\n" for problem in problems)


@click.command("list")
@click.option("--path", "path", default=".", show_default=True, help="The tree to scan.")
@click.option("--all", "show_all", is_flag=True, help="Also list images that are not automated.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_targets(path: str, show_all: bool, output: str) -> None:
    """List every automated image in a tree, with its policy and where that policy came from."""
    from imagebot.cli.render import dumps, problem_to_json, table
    from imagebot.manifest import scan_tree

    with reported_errors():
        scan = scan_tree(_root(path))
    targets = [t for t in scan.targets if show_all or t.automated]
    if output == "json":
        sys.stdout.write(
            dumps(
                {
                    "targets": [target_to_json(t) for t in targets],
                    "problems": [problem_to_json(p) for p in scan.problems],
                    "skipped": [problem_to_json(p) for p in scan.skipped],
                }
            )
        )
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
    raise SystemExit(EXIT_OK)


@click.command("set-image")
@click.argument("reference", metavar="IMAGE:TAG")
@click.option("--path", "path", default=".", show_default=True, help="The tree to edit.")
@click.option("--dry-run", is_flag=True, help="Print the unified diff; write nothing.")
def set_image(reference: str, path: str, dry_run: bool) -> None:
    """Write IMAGE:TAG (or IMAGE:TAG@sha256:...) into every target of IMAGE.

    Containers, Kustomize images, HelmRelease values and setter-marked fields whose repository is
    IMAGE (``nginx`` is ``docker.io/library/nginx``), automated or not; locked workloads are
    reported and left alone. The files are written in place; nothing is committed.
    """
    from imagebot.errors import ReferenceError_
    from imagebot.manifest import (
        plan_set_image,
        rewrite_files,
        scan_tree,
        targets_of,
        unified_diff,
        updated_value,
        write_files,
    )
    from imagebot.refs import parse_reference

    try:
        image = parse_reference(reference)
    except ReferenceError_ as error:
        fail(str(error), EXIT_USAGE)
    if image.tag is None:
        # A digest alone would leave each file's old tag beside it, naming another version.
        fail(f"{reference!r} has no tag: give IMAGE:TAG (or IMAGE:TAG@sha256:...)", EXIT_USAGE)
    with reported_errors():
        scan = scan_tree(_root(path))
        updates, refused = plan_set_image(scan.targets, image, image.tag, image.digest)
        result = rewrite_files(scan.texts, updates)
        if not dry_run:
            write_files(Path(path), result.new_texts)
    _print_problems("skipped", scan.skipped)
    _print_problems("problems", [*scan.problems, *refused, *result.problems])
    failed = {problem.file for problem in result.problems}
    done = [u for u in updates if u.target.location.file not in failed]
    if not targets_of(scan.targets, image):
        sys.stderr.write(f"imagebot: no image of {image.name} under {path}\n")
        raise SystemExit(EXIT_NOTHING)
    if dry_run:
        sys.stdout.writelines(
            unified_diff(file, scan.texts[file], new) for file, new in result.new_texts.items()
        )
    else:
        for update in result.applied:
            target = update.target
            container = f" {target.container}" if target.container else ""
            sys.stdout.write(
                f"{target.location}: {target.workload}{container}: "
                f"{target.current_value} -> {updated_value(update)}\n"
            )
    raise SystemExit(EXIT_OK if done else EXIT_NOTHING)
