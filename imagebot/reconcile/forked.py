"""Read and scan a tree's files in two processes: this one and a fork of it.

Composing YAML is CPU work under one interpreter lock, and a large repository's scan is most of
a run (1,000 manifests: 0.7 s of 2.2). The CLI hands a ``ForkedMap`` to the scan: a forked child
takes files from the end of the list while this process takes them from the start, and the two
meet wherever the work puts them (two counters in shared memory say how far each has claimed).
So this process may first do something else the run needs, ``meanwhile``: ``imagebot run``
loads its HTTP stack there (~0.1 s) while the child is already scanning, instead of loading it
before the scan with the second CPU idle.

The child is a copy of this process, so nothing but its results crosses, pickled through a pipe
once it stops; it ends with ``os._exit`` (no atexit handler, no flushed buffer of ours). Any
failure of the child (killed, an exception) is not the run's: what it claimed is computed here
instead, so the result is always what ``serial_map`` would give. Only on Linux, with 2 CPUs or
more, and for enough files to pay for the fork; never in the operator, whose event loop and
threads a fork would copy.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

try:  # pickle's C half: pickle.py's Python (~0.3 MB held to the end of a run) adds nothing here
    from _pickle import UnpicklingError, dumps, loads
except ImportError:  # an interpreter without it
    from pickle import UnpicklingError, dumps, loads

T = TypeVar("T")
R = TypeVar("R")

# Below this many files the fork (a few ms) and the pickling cost more than the second CPU
# saves: a file takes ~0.6 ms to read and scan.
MIN_ITEMS = 64

# The shared counters: the next index this process takes (it only grows) and the lowest index
# the child has taken (it only shrinks). Each is written by one side only, as one aligned 4-byte
# store; a stale read makes both sides compute the same item once, never skip one.
_NEXT_HERE, _LOWEST_THERE = 0, 4


class ForkedMap:
    """A ``FileMap`` that shares its items with a forked child. Each fork runs the next of
    ``meanwhile`` here, after forking and before this process takes its first item: work that
    the child's share of the items pays for (the CLI loads modules there)."""

    def __init__(self, *meanwhile: Callable[[], object]) -> None:
        self._meanwhile = list(meanwhile)

    def __call__(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
        if not _may_fork(len(items)):
            return [fn(item) for item in items]
        return _shared(fn, items, self._meanwhile.pop(0) if self._meanwhile else None)


def forked_map(fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
    """``[fn(item) for item in items]``, computed by this process and a forked child."""
    return ForkedMap()(fn, items)


def _shared(
    fn: Callable[[T], R], items: Sequence[T], meanwhile: Callable[[], object] | None
) -> list[R]:
    count = len(items)
    marks = mmap.mmap(-1, 8)  # anonymous and shared: the child sees this process's stores
    struct.pack_into("=ii", marks, 0, 0, count)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute from the end, send, and leave without running anything
        status = 1
        try:
            os.close(read_end)
            data = dumps(_from_the_end(fn, items, marks), -1)  # the highest protocol
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        if meanwhile is not None:
            meanwhile()
        mine = _from_the_start(fn, items, marks)
    except BaseException:
        os.close(read_end)
        _stop(pid)
        raise
    marks.close()
    theirs: tuple[int, list[R]] | None = _collect(read_end, pid, count)
    done = len(mine)
    # A child that failed, or (which the counters rule out) one that left a gap: what it
    # claimed is computed here.
    if theirs is None or theirs[0] > done:
        return [*mine, *(fn(item) for item in items[done:])]
    first, results = theirs
    return [*mine, *results[done - first :]]


def _from_the_start(fn: Callable[[T], R], items: Sequence[T], marks: mmap.mmap) -> list[R]:
    results: list[R] = []
    index = 0
    while index < _read(marks, _LOWEST_THERE):
        struct.pack_into("=i", marks, _NEXT_HERE, index + 1)
        results.append(fn(items[index]))
        index += 1
    return results


def _from_the_end(
    fn: Callable[[T], R], items: Sequence[T], marks: mmap.mmap
) -> tuple[int, list[R]]:
    """(the first index computed, the results from there to the end, in order)."""
    results: list[R] = []
    index = len(items) - 1
    while index >= 0 and index >= _read(marks, _NEXT_HERE):
        struct.pack_into("=i", marks, _LOWEST_THERE, index)
        results.append(fn(items[index]))
        index -= 1
    results.reverse()
    return index + 1, results


def _read(marks: mmap.mmap, offset: int) -> int:
    value: int = struct.unpack_from("=i", marks, offset)[0]
    return value


def _may_fork(count: int) -> bool:
    return count >= MIN_ITEMS and sys.platform == "linux" and len(os.sched_getaffinity(0)) >= 2


def _collect(read_end: int, pid: int, count: int) -> tuple[int, list[R]] | None:
    """The child's (first index, results), or None when it did not deliver them whole."""
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None
    try:
        first, results = loads(data)  # noqa: S301 - our own child's bytes, over a pipe
    except (UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
        return None
    if not isinstance(first, int) or not isinstance(results, list):
        return None
    if first < 0 or first + len(results) != count:
        return None
    return first, results


def _stop(pid: int) -> None:
    """Kill and reap the child when this process gives up on it (an exception here)."""
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
