"""How work over many files is spread: a map whose results come back in order.

``scan_tree`` and ``rewrite_files`` take one; ``serial_map`` is the default, and the CLI hands in
one that shares the files with a second process (``reconcile/forked.py``). Pure: the strategy is
injected, this module only names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


class FileMap(Protocol):
    """``fn`` over ``items``, results in order: how a tree's files are read and scanned. Each
    result must be a value that pickles (a mapper may compute some in another process)."""

    def __call__(self, fn: Callable[[_T], _R], items: Sequence[_T], /) -> list[_R]: ...


def serial_map(fn: Callable[[_T], _R], items: Sequence[_T], /) -> list[_R]:
    """``fn`` over ``items`` in this process, one after the other."""
    return [fn(item) for item in items]
