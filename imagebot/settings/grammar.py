"""Read one source of settings through the table in ``fields``: check, convert, apply.

``read_settings`` walks a loaded tree (YAML with line numbers, or a CR's JSON spec), refuses
unknown keys, keys its source may not set, wrong types and numbers out of range, each with an
error naming the place (``imagebot.yaml:3: git.skipCI`` or ``spec.git.skipCI``), and lays the
values over a base ``Settings``. It knows no file names or Secrets: callers load and locate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import field, replace
from typing import Any, TypeVar

from imagebot.config import PushTimes, RateLimit, Receiver, RegistryHost, Settings
from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.redact import remember
from imagebot.settings.fields import FIELDS, HOST_FIELDS, RECEIVER_FIELDS, Field, Kind, Source
from imagebot.settings.values import (
    CONVERTERS,
    ITEMS,
    Bad,
    aws_defaults,
    receiver_problem,
    registry_host,
    string_of,
    type_name,
)

Locate = Callable[[Any, Any, str], str]
"""(mapping, key in it, dotted key) -> where to point an error: ``file:line: key``, ``spec.key``."""
Layout = dict[str, "Layout | Field"]
_T = TypeVar("_T")

# Optional values a dotted target may reach through; built from their defaults when first set.
_EMPTY: dict[str, Callable[[], object]] = {"rate_limit": RateLimit, "push_times": PushTimes}


@record
class Reading:
    """Settings over the base, and the CR's own keys (``interval``, Secret names) by key."""

    settings: Settings
    extras: Mapping[str, object] = field(default_factory=dict)


def layout(fields: tuple[Field, ...], source: Source) -> Layout:
    """The keys ``source``'s spelling knows (every trust level of that spelling), as a tree."""
    root: Layout = {}
    for entry in fields:
        if not any(s.file == source.file for s in entry.sources):
            continue
        *parents, leaf = entry.spelled(source).split(".")
        node = root
        for name in parents:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise TypeError(f"{entry.key} sits below the key {name}")  # a bad table row
            node = child
        node[leaf] = entry
    return root


def read_settings(
    tree: object,
    source: Source,
    locate: Locate,
    *,
    base: Settings | None = None,
    env: Mapping[str, str] | None = None,
    unread: frozenset[str] = frozenset(),
) -> Reading:
    """``tree`` (None: empty) read as ``source`` over ``base``; ``ConfigError`` if invalid.
    Keys in ``unread`` (``fields.GIT_REMOTE_KEYS``...) are checked as strings and left unset:
    the caller will not use them, so what they name need not exist."""
    reader = _Reader(source, locate, os.environ if env is None else env, unread)
    values: dict[str, tuple[Field, object]] = {}
    if tree is not None:
        top = reader.mapping(tree, None, None, "")
        reader.walk(top, layout(FIELDS, source), "", values)
    settings = base or Settings()
    extras: dict[str, object] = {}
    for entry, value in values.values():
        if entry.target is None:
            extras[entry.key] = value
        elif entry.kind is Kind.HOSTS and isinstance(value, tuple):
            merged = {host.host: host for host in settings.registries.hosts}
            merged.update((host.host, host) for host in value)
            hosts = tuple(merged.values())
            settings = replace(settings, registries=replace(settings.registries, hosts=hosts))
        else:
            settings = _put(settings, entry.target, value)
    return Reading(settings, extras)


class _Reader:
    def __init__(
        self, source: Source, locate: Locate, env: Mapping[str, str], unread: frozenset[str]
    ) -> None:
        self.source, self.locate, self.env, self.unread = source, locate, env, unread

    def fail(self, parent: Any, name: Any, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.locate(parent, name, key or 'top level')}: {message}")

    def mapping(self, value: object, parent: Any, name: Any, key: str) -> Mapping[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(parent, name, key, f"expected a mapping, got {type_name(value)}")
        return value

    def walk(
        self,
        node: Mapping[Any, Any],
        shape: Layout,
        path: str,
        values: dict[str, tuple[Field, object]],
    ) -> None:
        """Check every key of ``node`` against ``shape`` and convert the values into ``values``
        (by target; two keys setting one target is an error)."""
        for name, value in node.items():
            key = f"{path}.{name}" if path else str(name)
            entry = shape.get(name) if isinstance(name, str) else None
            if entry is None:
                raise self.fail(node, name, key, self._unknown(str(name), shape))
            if not _allows(entry, self.source):
                raise self.fail(node, name, key, _untrusted(self.source))
            if isinstance(entry, dict):
                self.walk(self.mapping(value, node, name, key), entry, key, values)
                continue
            converted = self.convert(entry, value, node, name, key)
            if converted is None:
                continue
            slot = entry.target or entry.key
            if slot in values:
                other = values[slot][0].spelled(self.source)
                raise self.fail(node, name, key, f"{other} sets the same thing; keep one")
            values[slot] = (entry, converted)

    def _unknown(self, name: str, shape: Layout) -> str:
        if self.source.file and f"{name}Env" in shape:
            return f"do not put secrets in the file; use {name}Env or {name}File"
        known = ", ".join(sorted(k for k, v in shape.items() if _allows(v, self.source)))
        return f"unknown key (known keys: {known})"

    def convert(self, entry: Field, value: object, parent: Any, name: Any, key: str) -> object:
        """``value`` checked and converted for ``entry``; None when it is absent or empty (an
        empty duration is an error: the CRD's pattern refuses it, and so must the reader)."""
        if value is None or (value == "" and entry.kind is not Kind.DURATION):
            return None
        if entry.kind is Kind.HOSTS:
            return self.hosts(value, parent, name, key)
        if entry.kind is Kind.RECEIVERS:
            return self.receivers(value, parent, name, key)
        try:
            if key in self.unread:
                string_of(entry.kind, value)
                return None
            if entry.kind in ITEMS:
                if not isinstance(value, list):
                    raise Bad(f"expected {entry.kind.value}, got {type_name(value)}")
                return tuple(self.one(ITEMS[entry.kind], entry, item) for item in value)
            return self.one(entry.kind, entry, value)
        except Bad as bad:
            raise self.fail(parent, name, key, str(bad)) from None

    def one(self, kind: Kind, entry: Field, value: object) -> object:
        if kind is Kind.ENV:
            name = string_of(kind, value)
            if name not in self.env:
                raise Bad(f"environment variable {name} is unset")
            if not self.env[name]:  # an empty secret is a missing one, not a login as ""
                raise Bad(f"environment variable {name} is empty")
            return self.env[name]
        return CONVERTERS[kind](entry, value)

    def hosts(self, value: object, parent: Any, name: Any, key: str) -> tuple[RegistryHost, ...]:
        """A mapping of host to entry (imagebot.yaml) or a list of entries with ``host`` (CR)."""
        shape = layout(HOST_FIELDS, self.source)
        entries: list[tuple[str, Mapping[Any, Any], str]] = []
        if self.source.file:
            for host, entry in self.mapping(value, parent, name, key).items():
                where = f"{key}.{host}"
                try:
                    checked = registry_host(host)
                except Bad as bad:
                    raise self.fail(value, host, where, str(bad)) from None
                entries.append((checked, self.mapping(entry, value, host, where), where))
        elif isinstance(value, list):
            for index, entry in enumerate(value):
                where = f"{key}[{index}]"
                entries.append(("", self.mapping(entry, parent, name, where), where))
        else:
            raise self.fail(parent, name, key, f"expected a list, got {type_name(value)}")
        found = []
        for host, entry, where in entries:
            values: dict[str, tuple[Field, object]] = {}
            self.walk(entry, shape, where, values)
            built = RegistryHost(host=host)
            for spec, converted in values.values():
                built = _put(built, spec.target or spec.key, converted)
            if not built.host:
                raise self.fail(
                    parent, name, f"{where}.host", "is required, e.g. ghcr.io or registry:5000"
                )
            try:
                registry_host(built.host)
            except Bad as bad:
                raise self.fail(parent, name, f"{where}.host", str(bad)) from None
            if self.source is Source.CONFIG:  # the CLI user's own environment
                try:
                    built = aws_defaults(built, self.env)
                except Bad as bad:
                    raise self.fail(entry, "pushTimes", f"{where}.pushTimes", str(bad)) from None
            found.append(built)
        return tuple(found)

    def receivers(self, value: object, parent: Any, name: Any, key: str) -> tuple[Receiver, ...]:
        """A list of receivers, spelled alike in every trusted source. Their addresses and
        tokens are remembered by the redactor at once: no later line may show them."""
        if not isinstance(value, list):
            raise self.fail(parent, name, key, f"expected a list, got {type_name(value)}")
        shape = layout(RECEIVER_FIELDS, self.source)
        found: list[Receiver] = []
        for index, item in enumerate(value):
            where = f"{key}[{index}]"
            values: dict[str, tuple[Field, object]] = {}
            self.walk(self.mapping(item, value, index, where), shape, where, values)
            built = Receiver()
            for spec, converted in values.values():
                built = _put(built, spec.target or spec.key, converted)
            remember(*built.secrets)
            problem = receiver_problem(built, resolved=self.source.file)
            if problem is None and built.name and any(r.name == built.name for r in found):
                problem = f"name {built.name!r} is given twice"
            if problem is not None:
                raise self.fail(value, index, where, problem)
            found.append(built)
        return tuple(found)


def read_flag(key: str, value: object, flag: str) -> object:
    """A command-line flag's ``value`` checked by the rules of the settings ``key`` it stands
    for (``--platform`` is ``registries.platform``): one set of rules for files, the spec and
    flags. ``ConfigError`` names the flag."""
    entry = next(f for f in (*FIELDS, *HOST_FIELDS) if f.key == key)
    try:
        return CONVERTERS[entry.kind](entry, value)
    except Bad as bad:
        raise ConfigError(f"{flag}: {bad}") from None


def _allows(entry: Layout | Field, source: Source) -> bool:
    """True when ``source`` may set ``entry`` or some key below it."""
    if isinstance(entry, Field):
        return source in entry.sources
    return any(_allows(child, source) for child in entry.values())


def _untrusted(source: Source) -> str:
    if source is Source.REPOSITORY:
        return (
            "not allowed in the repository's imagebot.yaml (repository content is untrusted); "
            "it belongs in --config or the ImageAutomation"
        )
    return f"not allowed in {source.value}"


def _put(obj: _T, target: str, value: object) -> _T:
    """``obj`` with the dotted attribute ``target`` set to ``value`` (frozen dataclasses)."""
    head, _, rest = target.partition(".")
    if rest:
        child = getattr(obj, head)
        if child is None:
            child = _EMPTY[head]()
        value = _put(child, rest, value)
    return replace(obj, **{head: value})  # type: ignore[type-var]
