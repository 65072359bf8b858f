"""``imagebot tags IMAGE``: an image's tags with creation time and digest, and which one a policy
would choose and why (like ``fluxctl list-images``). A shell: it asks the registry client and the
policy engine and renders their answers; it decides nothing itself. Heavy imports stay inside
the command so ``imagebot --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from imagebot.cli.common import (
    EXIT_NO_MATCH,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    HELP_OPTIONS,
    fail,
    reported_errors,
)
from imagebot.cli.options import CONFIG, OUTPUT
from imagebot.cli.progress import Progress, default_cache_dir
from imagebot.config import RegistryHost, RegistrySettings
from imagebot.redact import redact


@click.command("tags", context_settings=HELP_OPTIONS)
@click.argument("image")
@click.option("--policy", "policy_text", help="Mark the tag this policy chooses, e.g. semver:~1.2.")
@click.option("--platform", help="OS/ARCH whose creation time counts (default linux/amd64).")
@OUTPUT
@CONFIG
@click.option("--insecure", is_flag=True, help="Talk plain HTTP to this image's registry.")
def tags(
    *,
    image: str,
    policy_text: str | None,
    platform: str | None,
    output: str,
    config_file: Path | None,
    insecure: bool,
) -> None:
    """List IMAGE's tags with creation time and digest; mark the current and chosen ones."""
    from imagebot.cli.render import document, rfc3339
    from imagebot.model import TagInfo
    from imagebot.policy import parse_policy, select_tag
    from imagebot.refs import parse_reference
    from imagebot.registry import MetadataCache, RegistryClient, RepoQuery

    with reported_errors():
        ref = parse_reference(image)
        policy = parse_policy(policy_text) if policy_text else None
        settings = _settings(ref.registry, config_file, platform, insecure)
        cache_dir = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
        client = RegistryClient(settings, cache=MetadataCache(cache_dir))
        query = RepoQuery(
            ref,
            needs_created=True if policy is None else policy.needs_created,
            wants=policy.matches if policy is not None else None,
        )
        progress = Progress()
        try:
            scan = client.scan([query], progress=progress)[ref.name]
        finally:
            progress.close()
        if scan.problem:
            fail(scan.problem, EXIT_USAGE if scan.permanent else EXIT_TRANSIENT)
        picked: TagInfo | None = None
        reason = ""
        if policy is not None:
            decision = select_tag(policy, scan.tags, current=ref.tag, allow_downgrade=True)
            picked, reason = decision.chosen, decision.reason
        chosen = picked.tag if picked else None
        # A digest seen in this scan is current; one the cache stood in for is the digest the
        # tag named when its creation time was read (shown, as that time is: the run that
        # pins asks the registry again). Only a tag with neither costs a HEAD.
        digests = {**scan.cached_digests, **{t.tag: t.digest for t in scan.tags if t.digest}}
        if picked and picked.tag not in digests:
            digests[picked.tag] = client.digest(ref, picked.tag)
        rows = [
            {
                "tag": info.tag,
                "created": rfc3339(info.created) if info.created else None,
                "digest": digests.get(info.tag),
                "cached": info.tag in scan.cached_digests,
                "current": info.tag == ref.tag,
                "chosen": info.tag == chosen,
            }
            for info in sorted(
                scan.tags, key=lambda t: (t.created is not None, t.created, t.tag), reverse=True
            )
        ]
        if output == "json":
            answer = {
                "image": ref.name,  # kept as it was; ``repository`` is every other command's name
                "repository": ref.name,
                "policy": policy_text,
                "platform": settings.platform,
                "chosen": chosen,
                "reason": reason,
                "warnings": list(scan.warnings),
                "requests": dict(client.stats),
                "tags": rows,
            }
            click.echo(document(answer), nl=False)
        else:
            click.echo(_text(rows), nl=False)
            for warning in scan.warnings:
                click.echo(redact(f"warning: {warning}"), err=True)
            if policy_text:
                verdict = f"{chosen} ({reason})" if chosen else f"no tag qualifies ({reason})"
                click.echo(f"{policy_text}: {verdict}")
        if policy is not None and chosen is None:
            raise SystemExit(EXIT_NO_MATCH)


def _settings(
    registry: str, config_file: Path | None, platform: str | None, insecure: bool
) -> RegistrySettings:
    from imagebot.settings import GIT_REMOTE_KEYS, SIGNING_KEYS, load_settings
    from imagebot.settings.grammar import read_flag

    settings = RegistrySettings()
    if config_file is not None:
        # Only the registry settings count here: Git's secrets need not exist.
        settings = load_settings(config_file, unread=GIT_REMOTE_KEYS | SIGNING_KEYS).registries
    if platform:
        checked = str(read_flag("registries.platform", platform, "--platform"))
        settings = replace(settings, platform=checked)
    if insecure:
        settings = replace(settings, hosts=(*settings.hosts, RegistryHost(registry, insecure=True)))
    return settings


def _text(rows: list[dict[str, Any]]) -> str:
    from imagebot.cli.render import table

    lines = []
    for row in rows:
        marks = ", ".join(mark for mark in ("current", "chosen") if row[mark])
        created = str(row["created"] or "-")
        lines.append((str(row["tag"]), created, str(row["digest"] or "-")[:19], marks))
    return table(lines, ("TAG", "CREATED", "DIGEST", ""))
