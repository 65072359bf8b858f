"""``imagebot list-workloads`` and ``imagebot list-images``: fluxctl's two listings, from Git.

fluxctl asked the cluster; these read the repository (``--repo``, a local directory, as ``list``
does) and, for ``list-images``, the registries: one tag listing per repository, creation times
from the metadata cache where it has them, the repositories asked concurrently. The columns are
fluxctl's; RELEASE, a rollout status only a cluster knows, is always ``-``. Only parsing and
rendering live here (``imagebot.manifest.inventory`` picks the workloads, ``tag_window`` the tags).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from imagebot.cli.common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    EXIT_TRANSIENT,
    HELP_OPTIONS,
    fail,
    local_tree,
    reported_errors,
)
from imagebot.cli.options import CONFIG, LOCAL_REPO, OUTPUT, PATHS, WORKLOAD_FORMS

if TYPE_CHECKING:
    from imagebot.cli.tag_window import Available
    from imagebot.config import RegistrySettings
    from imagebot.manifest.inventory import Listed
    from imagebot.manifest.tree import TreeScan
    from imagebot.refs import ImageRef
    from imagebot.registry import RepoScan

ALL_NAMESPACES = click.option(
    "-a", "--all-namespaces", is_flag=True, help="Every namespace (the default)."
)
NO_HEADERS = click.option("--no-headers", is_flag=True, help="Leave out the header line.")


@click.command("list-workloads", context_settings=HELP_OPTIONS)
@LOCAL_REPO
@PATHS
@click.option("-n", "--namespace", help="Only workloads in this namespace.")
@ALL_NAMESPACES
@click.option("-c", "--container", help="Only workloads with a container of this name.")
@NO_HEADERS
@OUTPUT
@click.pass_context
def list_workloads(ctx: click.Context, /, **options: Any) -> None:
    """List the repository's workloads with their containers, images and policies.

    fluxctl's columns: WORKLOAD CONTAINER IMAGE RELEASE POLICY. RELEASE is a cluster's rollout
    status, which Git does not have: always "-". POLICY is automated, ignore and locked.
    """
    from imagebot.manifest.inventory import inventory

    namespace = _namespace(options)
    with reported_errors():
        root, relative = local_tree(ctx, options["repo"], options["paths"])
        scan = _scan(root, relative)
        listed = inventory(scan, namespace=namespace, container=options["container"])
    if options["output"] == "json":
        from imagebot.cli.render import document, problem_to_json

        rows = [_workload_json(entry) for entry in listed]
        problems = [problem_to_json(p) for p in scan.problems]
        sys.stdout.write(document({"workloads": rows, "problems": problems}))
    else:
        sys.stdout.write(_workloads_text(listed, headers=not options["no_headers"]))
    _exit_empty(listed, filtered=bool(relative or namespace or options["container"]))
    raise SystemExit(EXIT_OK)


@click.command("list-images", context_settings=HELP_OPTIONS)
@LOCAL_REPO
@PATHS
@click.option("-w", "--workload", metavar="WORKLOAD",
              help=f"Only this workload: {WORKLOAD_FORMS}.")  # fmt: skip
@click.option("-n", "--namespace",
              help="Only workloads in this namespace (with -w: the workload's).")  # fmt: skip
@ALL_NAMESPACES
@click.option("--limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Tags per container (0: all); the running one is always shown.")  # fmt: skip
@NO_HEADERS
@OUTPUT
@CONFIG
@click.pass_context
def list_images(ctx: click.Context, /, **options: Any) -> None:
    """Show each workload's images and the tags of their repositories, newest first.

    An arrow marks the tag each container runs; it is shown even past --limit, after a count
    of the tags left out. Every tag is listed, whatever the container's policy (as fluxctl did);
    --output json also says which tag the policy would choose. Exit 1 when a registry failed
    for a passing reason.
    """
    from imagebot.manifest.inventory import inventory
    from imagebot.model import WorkloadId

    namespace = _namespace(options)
    with reported_errors():
        wanted = WorkloadId.parse(options["workload"], namespace) if options["workload"] else None
        root, relative = local_tree(ctx, options["repo"], options["paths"])
        scan = _scan(root, relative)
        listed = inventory(scan, namespace=namespace, workload=wanted)
        registry = _registry_settings(options["config_file"])
    scans, requests = _ask_registries(listed, registry)
    if options["output"] == "json":
        from imagebot.cli.render import document

        rows = [_images_json(entry, scans, options["limit"]) for entry in listed]
        sys.stdout.write(document({"workloads": rows, "requests": requests}))
    else:
        sys.stdout.write(_images_text(listed, scans, options))
    _exit_empty(listed, filtered=bool(relative or namespace))
    if any(s.problem and not s.permanent for s in scans.values()):
        raise SystemExit(EXIT_TRANSIENT)
    raise SystemExit(EXIT_OK)


# ---- shared --------------------------------------------------------------------------------------


def _namespace(options: dict[str, Any]) -> str | None:
    if options["all_namespaces"] and options["namespace"]:
        fail("--namespace and --all-namespaces: give one of them")
    return str(options["namespace"]) if options["namespace"] else None


def _scan(root: Path, relative: tuple[str, ...]) -> TreeScan:
    from imagebot.manifest import scan_tree

    return scan_tree(root, relative, with_workloads=True)


def _exit_empty(listed: list[Listed], *, filtered: bool) -> None:
    if filtered and not listed:
        fail("no workload matches; nothing to list", EXIT_NO_MATCH)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...], *, headers: bool) -> str:
    from imagebot.cli.render import table

    text = table(rows, header)
    return text.split("\n", 1)[1] if not headers else text


# ---- list-workloads ------------------------------------------------------------------------------


def _workloads_text(listed: list[Listed], *, headers: bool) -> str:
    from imagebot.manifest.inventory import policy_names

    rows: list[tuple[str, ...]] = []
    for entry in listed:
        policy = policy_names(entry.workload.automation) or "-"
        name = str(entry.workload.id)
        if not entry.targets:
            rows.append((name, "-", "-", "-", policy))
        for index, target in enumerate(entry.targets):
            first = index == 0
            rows.append(
                (
                    name if first else "",
                    target.container or "-",
                    str(target.image),
                    "-" if first else "",
                    policy if first else "",
                )
            )
    header = ("WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "POLICY")
    return _table(rows, header, headers=headers)


def _workload_json(entry: Listed) -> dict[str, Any]:
    from imagebot.manifest.inventory import policy_names

    workload, automation = entry.workload, entry.workload.automation
    return {
        "workload": str(workload.id),
        "kind": workload.id.kind,
        "namespace": workload.id.namespace,
        "name": workload.id.name,
        "file": workload.file,
        "line": workload.line,
        "automated": automation.automated,
        "locked": automation.locked,
        "lockedMessage": automation.locked_message,
        "ignored": automation.ignored,
        "policy": policy_names(automation),
        "containers": [
            {
                "container": t.container,
                "image": str(t.image),
                "repository": t.image.name,
                "tag": t.image.tag,
                "digest": t.image.digest,
                "policy": _policy_text(entry, t.container),
                "file": t.location.file,
                "line": t.location.line,
            }
            for t in entry.targets
        ],
    }


def _policy_text(entry: Listed, container: str | None) -> str | None:
    """The container's tag policy as its annotations (or setter marker) write it, if any."""
    for target in entry.targets:
        if target.container == container and target.policy is not None:
            return target.policy.text
    written = entry.workload.policies.get(container) if container else None
    return written.text if written else None


# ---- list-images --------------------------------------------------------------------------------


def _registry_settings(config_file: Path | None) -> RegistrySettings:
    from dataclasses import replace

    from imagebot.cli.progress import default_cache_dir
    from imagebot.config import RegistrySettings
    from imagebot.settings import GIT_REMOTE_KEYS, SIGNING_KEYS, load_settings

    settings = RegistrySettings()
    if config_file is not None:
        settings = load_settings(config_file, unread=GIT_REMOTE_KEYS | SIGNING_KEYS).registries
    if settings.cache_dir is None:
        settings = replace(settings, cache_dir=str(default_cache_dir()))
    return settings


def _ask_registries(
    listed: list[Listed], settings: RegistrySettings
) -> tuple[dict[str, RepoScan], dict[str, int]]:
    """Each repository in the listing asked once, for every tag with its creation time."""
    from imagebot.cli.progress import Progress
    from imagebot.registry import RegistryClient, RepoQuery

    deployed: dict[str, set[str]] = {}
    images: dict[str, ImageRef] = {}
    for target in (t for entry in listed for t in entry.targets):
        images.setdefault(target.image.name, target.image)
        if target.image.tag:
            deployed.setdefault(target.image.name, set()).add(target.image.tag)
    if not images:
        return {}, {}
    queries = [
        RepoQuery(image, needs_created=True, current=tuple(sorted(deployed.get(name, ()))))
        for name, image in images.items()
    ]
    client = RegistryClient(settings)
    progress = Progress()
    try:
        scans = client.scan(queries, progress=progress)
        return scans, dict(client.stats)
    finally:
        progress.close()
        client.close()


def _available(scan: RepoScan | None, current: str | None, limit: int) -> Available:
    from imagebot.cli.tag_window import available

    return available(scan.tags if scan else (), current, limit)


def _images_text(listed: list[Listed], scans: dict[str, RepoScan], options: dict[str, Any]) -> str:
    from imagebot.cli.render import rfc3339

    rows: list[tuple[str, ...]] = []
    for entry in listed:
        name = str(entry.workload.id)
        if not entry.targets:
            rows.append((name, "", "", ""))
        for target in entry.targets:
            scan, current = scans.get(target.image.name), target.image.tag
            problem = scan.problem if scan else None
            rows.append((name, target.container or "-", target.image.name, problem or ""))
            name = ""
            shown = _available(scan, current, options["limit"])
            seen = False
            for info in shown.shown:
                if info.tag == current and shown.omitted_before_current:
                    omitted = shown.omitted_before_current
                    rows.append(("", "", f":   ({omitted} tag(s) left out)", ""))
                mark = "'->" if info.tag == current else ("   " if seen else "|  ")
                seen = seen or info.tag == current
                created = rfc3339(info.created) if info.created else "-"
                rows.append(("", "", f"{mark} {info.tag}", created))
            if not shown.current_listed and not problem:
                rows.append(("", "", f"'-> {current or '(untagged)'}", "?"))
    header = ("WORKLOAD", "CONTAINER", "IMAGE", "CREATED")
    return _table(rows, header, headers=not options["no_headers"])


def _images_json(entry: Listed, scans: dict[str, RepoScan], limit: int) -> dict[str, Any]:
    from imagebot.cli.render import rfc3339
    from imagebot.errors import ImagebotError
    from imagebot.model import PolicySpec
    from imagebot.policy import parse_policy, select_tag

    containers = []
    for target in entry.targets:
        scan, current = scans.get(target.image.name), target.image.tag
        shown = _available(scan, current, limit)
        policy_text = _policy_text(entry, target.container)
        chosen = None
        if policy_text and scan and scan.tags:
            try:
                spec = target.policy or PolicySpec(policy_text)
                decision = select_tag(
                    parse_policy(spec), scan.tags, current=current, allow_downgrade=True
                )
                chosen = decision.chosen.tag if decision.chosen else None
            except ImagebotError:
                chosen = None  # an invalid policy: lint and run report it
        containers.append(
            {
                "container": target.container,
                "image": str(target.image),
                "repository": target.image.name,
                "current": current,
                "policy": policy_text,
                "chosen": chosen,
                "error": scan.problem if scan else None,
                "tagCount": shown.total,
                "tags": [
                    {
                        "tag": info.tag,
                        "created": rfc3339(info.created) if info.created else None,
                        "current": info.tag == current,
                        "chosen": info.tag == chosen,
                    }
                    for info in shown.shown
                ],
            }
        )
    return {"workload": str(entry.workload.id), "containers": containers}
