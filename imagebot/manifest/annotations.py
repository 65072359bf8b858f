"""The automation annotations: every key imagebot reads, what each means, and how to read them.

The one table of keys: imagebot's own ``imagebot.io/`` prefix and Flux v1's ``fluxcd.io/`` and
``flux.weave.works/`` mean the same things; when several spell one setting, imagebot.io wins,
then fluxcd.io. The scanner, lint and the annotation editor all read keys through here. Policy
strings become ``PolicySpec``s as written: the policy engine validates them, not this module.
Keel's ``keel.sh/policy`` (``keel.py``) gives every container a policy; imagebot's and Flux's
own settings win over it, setting by setting: ``automated`` (either value) decides whether the
workload is automated, and ``tag.<container>`` gives that container its policy.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from imagebot.durations import parse_interval
from imagebot.errors import ConfigError
from imagebot.manifest import nodes
from imagebot.manifest.compose import BOOL_TAG, Node, ScalarNode
from imagebot.model import Automation, PolicySpec, Problem, ProblemCode
from imagebot.records import record

if TYPE_CHECKING:
    from imagebot.manifest.keel import KeelPolicy

PREFIXES = ("imagebot.io/", "fluxcd.io/", "flux.weave.works/")  # in the order readers prefer
DEFAULT_PREFIX = "imagebot.io/"  # what a workload with no automation annotation gets
# ``keel.POLICY_KEYS`` (a test holds them equal): ``keel.py`` reads the rest of Keel's keys, and
# loads only for a workload that has one of these.
KEEL_POLICY_KEYS = ("keel.sh/policy", "keel.observer/policy")
FILTER_PREFIX = "filter.fluxcd.io/"  # Flux v1's HelmRelease spelling of tag.<container>
TAG = "tag."  # tag.<container>: that container's tag policy
# alias.<alias>: <entry name>: names a Kustomize images entry whose last path segment another
# entry shares, so that tag.<alias> can give it a policy of its own (imagebot's own setting).
ALIAS = "alias."
# imagebot's own per-container settings beside tag.<container>, spelled only with imagebot.io/
# (Flux v1 had none of them): Flux v2's filterTags pattern and extract template, and the
# youngest a chosen tag may be (a Go duration).
FILTER = "filter."
EXTRACT = "extract."
MIN_AGE = "min-age."
OWN_ONLY = (FILTER, EXTRACT, MIN_AGE)
# Each setting after the prefix, and what it means; the switches take "true" or "false".
SETTINGS: Mapping[str, str] = {
    "automated": "automate every container of the workload",
    "locked": "neither automation nor a release touches the workload",
    "locked_msg": "why it is locked, shown when a release is refused",
    "locked_user": "who locked it",
    "ignore": "automation skips the workload; a manual release still reaches it",
    "pin-digest": "automation writes tag@digest",
}
SWITCHES = ("automated", "locked", "ignore", "pin-digest")
# An automated workload with no tag.<container> for a container follows this, as Flux v1 did.
DEFAULT_POLICY = PolicySpec("glob:*", "default glob:* for automated workloads")


def setting_of(key: str) -> tuple[str, int] | None:
    """``("tag.flask", rank)`` for ``flux.weave.works/tag.flask`` (lower rank wins), or None
    for a key that is no automation setting."""
    if key.startswith(FILTER_PREFIX):
        # Flux v1's HelmRelease form; ranked below every tag.* spelling of the same container.
        return TAG + key.removeprefix(FILTER_PREFIX), len(PREFIXES)
    for rank, prefix in enumerate(PREFIXES):
        if key.startswith(prefix):
            setting = key.removeprefix(prefix)
            if setting.startswith((TAG, ALIAS)) or setting in SETTINGS:
                return setting, rank
            if rank == 0 and setting.startswith(OWN_ONLY):
                return setting, rank
    return None


def spellings(setting: str) -> tuple[str, ...]:
    """Every key that spells ``setting``, in the order in which readers prefer them."""
    if setting.startswith(OWN_ONLY):
        return (DEFAULT_PREFIX + setting,)
    keys = tuple(prefix + setting for prefix in PREFIXES)
    if setting.startswith(TAG):
        keys += (FILTER_PREFIX + setting.removeprefix(TAG),)
    return keys


def prefix_of(keys: Iterable[str]) -> str:
    """The prefix a workload already writes its automation with; imagebot.io/ for a new one."""
    for key in keys:
        if key.startswith(FILTER_PREFIX):
            return "fluxcd.io/"
        for prefix in PREFIXES:
            if key.startswith(prefix):
                return prefix
    return DEFAULT_PREFIX


@record
class WorkloadAnnotations:
    """What one workload's annotations say: its ``Automation``, built here and nowhere else;
    ``policies`` maps container name to its policy (written or not, automated or not), with
    ``policy_lines`` the annotation's line; ``aliases`` maps an alias to the images entry name
    it stands for (``alias_lines`` its line); ``keel`` is Keel's policy for the workload;
    ``problems`` are those met reading them."""

    automation: Automation
    policies: Mapping[str, PolicySpec] = field(default_factory=dict)
    policy_lines: Mapping[str, int] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    alias_lines: Mapping[str, int] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    keel: KeelPolicy | None = None

    def default_policy(
        self, where: str | None = None, name: str | None = None
    ) -> PolicySpec | None:
        """The policy of an automated workload's container without a ``tag.<container>`` of its
        own (``where`` is the list it stands in): Keel's when ``keel.sh/policy`` reaches it,
        glob:* when there is no Keel policy, None when Keel's leaves the container out."""
        if self.keel is None:
            return DEFAULT_POLICY
        return self.keel.policy if self.keel.reaches(where, name) else None


@dataclass(slots=True)
class _Found:
    rank: int
    key: str
    node: Node


def read_annotations(
    annotations: Node | None, file: str, labels: Node | None = None
) -> WorkloadAnnotations:
    """Parse the annotations mapping (or None) of one workload; ``labels`` for Keel's, which
    Keel also reads from labels."""
    found: dict[str, _Found] = {}
    for key_node, value in nodes.items(annotations) if annotations is not None else []:
        key = nodes.text(key_node)
        if key is None:
            continue
        known = setting_of(key)
        if known is not None and (known[0] not in found or known[1] < found[known[0]].rank):
            found[known[0]] = _Found(known[1], key, value)
    problems: list[Problem] = []
    flags = {name: _switch(found.get(name), file, problems) for name in SWITCHES}
    policies: dict[str, PolicySpec] = {}
    lines: dict[str, int] = {}
    aliases: dict[str, str] = {}
    alias_lines: dict[str, int] = {}
    for setting, entry in found.items():
        if setting.startswith(ALIAS):
            target = nodes.text(entry.node)
            line = int(entry.node.start_mark.line) + 1
            if not target or not isinstance(entry.node, ScalarNode):
                problems.append(
                    Problem(f"annotation {entry.key} names no images entry", file, line)
                )
                continue
            aliases[setting.removeprefix(ALIAS)] = target.strip()
            alias_lines[setting.removeprefix(ALIAS)] = line
            continue
        if not setting.startswith(TAG):
            continue
        container = setting.removeprefix(TAG)
        policy = nodes.text(entry.node)
        line = int(entry.node.start_mark.line) + 1
        if not policy or not isinstance(entry.node, ScalarNode):
            problems.append(Problem(f"annotation {entry.key} has no policy string", file, line))
            continue
        # One string per policy and key, however many workloads write them.
        source = sys.intern(f"annotation {entry.key}")
        policies[container] = PolicySpec(sys.intern(policy.strip()), source)
        lines[container] = line
    _add_own_settings(found, file, policies, lines, problems)
    keel: KeelPolicy | None = None
    if any(nodes.get(m, k) is not None for m in (annotations, labels) for k in KEEL_POLICY_KEYS):
        from imagebot.manifest.keel import read_keel

        keel, keel_problems = read_keel(annotations, labels, file)
        problems.extend(keel_problems)
    automated = flags["automated"]
    if "automated" not in found and keel is not None:
        automated = keel.policy is not None
    locked = flags["locked"]
    automation = Automation(
        automated=automated,
        locked=locked,
        locked_message=_lock_message(found) if locked else None,
        locked_user=nodes.text(found["locked_user"].node)
        if locked and "locked_user" in found
        else None,
        ignored=flags["ignore"],
        pin_digest=flags["pin-digest"],
    )
    return WorkloadAnnotations(
        automation=automation,
        policies=policies,
        policy_lines=lines,
        aliases=aliases,
        alias_lines=alias_lines,
        problems=tuple(problems),
        keel=keel,
    )


def _add_own_settings(
    found: Mapping[str, _Found],
    file: str,
    policies: dict[str, PolicySpec],
    lines: dict[str, int],
    problems: list[Problem],
) -> None:
    """Put ``filter.``, ``extract.`` and ``min-age.<container>`` on the container's policy (the
    default ``glob:*`` when it has none). The policy engine validates the pattern and the
    template; a duration is checked here, where its line is known."""
    own: dict[str, dict[str, tuple[str, int]]] = {}
    for setting, entry in found.items():
        for prefix in OWN_ONLY:
            if setting.startswith(prefix):
                value = nodes.text(entry.node)
                line = int(entry.node.start_mark.line) + 1
                if not value or not isinstance(entry.node, ScalarNode):
                    problems.append(Problem(f"annotation {entry.key} has no value", file, line))
                    break
                own.setdefault(setting.removeprefix(prefix), {})[prefix] = (value.strip(), line)
                break
    for container, settings in own.items():
        min_age: float | None = None
        if MIN_AGE in settings:
            text, line = settings[MIN_AGE]
            try:
                min_age = parse_interval(text)
            except ConfigError as error:
                key = f"{DEFAULT_PREFIX}{MIN_AGE}{container}"
                problems.append(Problem(f"annotation {key}: {error}", file, line))
        base = policies.get(container)
        if base is None:
            base = replace(
                DEFAULT_POLICY,
                source=f"annotation {DEFAULT_PREFIX}{next(iter(settings))}{container} "
                "on the default glob:*",
            )
            lines[container] = min(line for _, line in settings.values())
        policies[container] = replace(
            base,
            filter_pattern=settings[FILTER][0] if FILTER in settings else None,
            extract=settings[EXTRACT][0] if EXTRACT in settings else None,
            min_age=min_age,
        )


def _switch(entry: _Found | None, file: str, problems: list[Problem]) -> bool:
    if entry is None:
        return False
    node = entry.node
    line = int(node.start_mark.line) + 1
    value = nodes.text(node)
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG and value is not None:
        honoured = value.lower() in ("true", "yes", "on", "y")
        if honoured:
            # Flux v1 read annotations as strings and silently ignored a YAML boolean here.
            problems.append(
                Problem(
                    f"warning: annotation {entry.key} is the YAML boolean {value}, which Flux v1 "
                    f"ignored; imagebot honours it: write it as the string 'true'",
                    file,
                    line,
                    code=ProblemCode.MANIFEST_WARNING,
                )
            )
        return honoured
    if value is not None and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    problems.append(
        Problem(f"annotation {entry.key} must be 'true' or 'false', not {value!r}", file, line)
    )
    return False


def _lock_message(found: Mapping[str, _Found]) -> str | None:
    message = nodes.text(found["locked_msg"].node) if "locked_msg" in found else None
    user = nodes.text(found["locked_user"].node) if "locked_user" in found else None
    if message and user:
        return f"{message} (locked by {user})"
    if user:
        return f"locked by {user}"
    return message or None
