"""``parse_policy``: turn a ``PolicySpec`` (or a policy string and an optional filter) into a
ready ``Policy``.

``glob:P``, a bare pattern, ``regex:P``/``regexp:P``, ``semver:R``, ``numerical:asc|desc``,
``alphabetical:asc|desc``, ``all``, ``major``, ``minor``, ``patch``. Everything is compiled here,
once: an invalid pattern, range, filter or template raises ``PolicyError`` with position and reason,
never a policy that silently matches everything or nothing. Selection lives in ``select``.

A kind's module loads with the first policy of that kind, and the filters (Flux v2's
``filterTags``, RE2 patterns) and exclusions (globs) with the first policy that has one: a run
holds only what its repository's policies use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from imagebot.errors import PolicyError
from imagebot.model import PolicySpec
from imagebot.policy.protocol import Ordering
from imagebot.records import record
from imagebot.refs import is_valid_tag

if TYPE_CHECKING:
    from imagebot.policy.filters import TagFilter

# kind -> the module under imagebot.policy and the function making its ordering
_KINDS: dict[str, tuple[str, str]] = {
    "glob": ("glob", "glob_policy"),
    "regex": ("regex", "regex_policy"),
    "regexp": ("regex", "regex_policy"),
    "semver": ("semver", "semver_policy"),
    "numerical": ("numerical", "numerical_policy"),
    "alphabetical": ("alphabetical", "alphabetical_policy"),
}
_BUMPS = ("all", "major", "minor", "patch")  # Keel's kinds: ``bumps.BumpOrdering``
_ORDERED = ("numerical", "alphabetical")
_EXAMPLES = {
    "glob": "glob:PATTERN",
    "regex": "regex:PATTERN",
    "regexp": "regexp:PATTERN",
    "semver": "semver:RANGE",
    "numerical": "numerical:asc or numerical:desc",
    "alphabetical": "alphabetical:asc or alphabetical:desc",
}
_SYNTAX = (
    "glob:PATTERN (or a bare PATTERN), regex:PATTERN, semver:RANGE, numerical:asc|desc, "
    "alphabetical:asc|desc, all, major, minor or patch"
)


@record
class TagPolicy:
    """A policy kind plus the optional filter that selects and extracts what it orders."""

    text: str
    ordering: Ordering
    filter: TagFilter | None = None
    # Tags never taken, matched whole by glob (``ignore-tags``): filtered out like the filter's.
    exclude: tuple[Callable[[str], object], ...] = ()

    @property
    def needs_created(self) -> bool:
        return self.ordering.needs_created

    @property
    def needs_current(self) -> bool:
        return self.ordering.needs_current

    def value_of(self, tag: str) -> str | None:
        if self.exclude and any(glob(tag) for glob in self.exclude):
            return None
        return tag if self.filter is None else self.filter.value(tag)

    def matches(self, tag: str) -> bool:
        if not is_valid_tag(tag):
            return False
        value = self.value_of(tag)
        return value is not None and self.ordering.admits(value)


def parse_policy(
    spec: PolicySpec | str, *, filter_pattern: str | None = None, extract: str | None = None
) -> TagPolicy:
    """Parse and compile a policy; PolicyError says what is wrong, where, and what to write.

    A ``PolicySpec`` (as the manifest layer reads it) brings its own filter; a bare string is
    what a person typed (``imagebot policy select``), with the filter beside it.
    """
    if isinstance(spec, PolicySpec):
        if filter_pattern is not None or extract is not None:
            raise TypeError("a PolicySpec carries its own filter")
        text, filter_pattern, extract = spec.text, spec.filter_pattern, spec.extract
        exclude: tuple[Callable[[str], object], ...] = ()
        if spec.exclude:
            from imagebot.policy.glob import compile_glob

            exclude = tuple(compile_glob(pattern) for pattern in spec.exclude)
    else:
        text, exclude = spec, ()
    if extract and filter_pattern is None:
        raise PolicyError(
            f"extract template {extract!r} needs a filter pattern to take groups from"
        )
    ordering = _ordering(text)
    tag_filter = None
    if filter_pattern is not None:
        from imagebot.policy.filters import parse_filter

        tag_filter = parse_filter(filter_pattern, extract)
    return TagPolicy(text, ordering, tag_filter, exclude)


def _ordering(text: str) -> Ordering:
    if not text.strip():
        raise PolicyError(f"empty policy; write one of {_SYNTAX}")
    if text in _BUMPS:
        from imagebot.policy.bumps import BumpOrdering

        return BumpOrdering(text)
    kind, colon, argument = text.partition(":")
    if not colon:
        if text in _KINDS:
            raise PolicyError(f"policy {text!r} needs an argument: write {_EXAMPLES[text]}")
        kind, argument = "glob", text  # a bare pattern is a glob, as in Flux v1
    elif kind not in _KINDS:
        raise PolicyError(
            f"unknown policy kind {kind!r} in {text!r} (a tag cannot contain ':'); "
            f"write one of {_SYNTAX}"
        )
    if kind in _ORDERED and argument not in ("asc", "desc"):
        raise PolicyError(
            f"invalid policy {text!r}: {kind} takes 'asc' or 'desc' after the colon, "
            f"not {argument!r}"
        )
    module, name = _KINDS[kind]
    make = getattr(importlib.import_module(f"imagebot.policy.{module}"), name)
    return cast(Callable[[str], Ordering], make)(argument)
