"""Many workloads in one file cost linear time (issue 13: 1,000 / 2,000 / 4,000 took 3 / 8 / 29 s).

No timing is asserted: the work is counted (characters searched, collector passes), or the case is
sized so that the old quadratic code could not finish inside the generous timeout. The figures
are bench/scaling.py's.
"""

from __future__ import annotations

import difflib
import gc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.manifest import Update, nodes, rewrite_text, scan_text, unified_diff
from imagebot.manifest.changeset import _lines
from imagebot.manifest.compose import compose_documents, held_gc
from imagebot.manifest.context import DocumentContext
from tests.lane_support import examples


def workloads(count: int, newline: str = "\n") -> str:
    text = "---\n".join(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{n}\n  annotations:\n"
        "    fluxcd.io/automated: 'true'\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        image: example.org/app:1.0.0\n"
        for n in range(count)
    )
    return text.replace("\n", newline)


def difflib_diff(file: str, old: str, new: str) -> str:
    """What unified_diff printed before: difflib's matcher on the same lines."""
    out = []
    for line in difflib.unified_diff(_lines(old), _lines(new), f"a/{file}", f"b/{file}"):
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


@pytest.mark.timeout(60)
def test_a_diff_of_twenty_thousand_changed_lines_is_one_pass() -> None:
    """difflib's matcher spent 4.6 s on 1,000 changed lines and grows with their square."""
    old = "".join(f"- name: c{n}\n  image: example.org/app:1.0.0\n" for n in range(20_000))
    new = old.replace(":1.0.0", ":1.1.0")
    diff = unified_diff("all.yaml", old, new)
    assert diff.count("\n-  image:") == 20_000 and diff.count("\n+  image:") == 20_000


@settings(max_examples=examples(200), deadline=None)
@given(
    lines=st.lists(st.sampled_from(["a", "b", "image: x", ""]), min_size=1, max_size=40),
    changed=st.sets(st.integers(min_value=0, max_value=39)),
    ending=st.sampled_from(["\n", "\r\n"]),
    final=st.booleans(),
)
@pytest.mark.timeout(120)
def test_a_same_shape_diff_reads_as_difflibs(
    lines: list[str], changed: set[int], ending: str, final: bool
) -> None:
    """Same hunks, context and "no newline" marks as difflib wherever lines are unique; and
    always a correct diff: applying it gives the new text."""
    old_lines = [f"{text} {n}{ending}" for n, text in enumerate(lines)]
    if not final:
        old_lines[-1] = old_lines[-1].rstrip("\r\n")
    new_lines = [
        line.replace(" ", " new ", 1) if n in changed else line for n, line in enumerate(old_lines)
    ]
    old, new = "".join(old_lines), "".join(new_lines)
    assert unified_diff("f.yaml", old, new) == difflib_diff("f.yaml", old, new)


class CountingText(str):
    """A text that counts how many characters its backward searches cover."""

    searched = 0

    def rfind(self, sub: str, start: int | None = None, end: int | None = None) -> int:  # type: ignore[override]
        low = 0 if start is None else start
        high = len(self) if end is None else end
        CountingText.searched += max(high - low, 0)
        return super().rfind(sub, start, end)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_locating_targets_searches_each_line_once(newline: str) -> None:
    """A target's column searched for CR from the top of the file: the file's length per
    target, 10^10 characters for 4,000 workloads of a 3 MB file."""
    plain = workloads(2_000, newline)
    text = CountingText(plain)  # libyaml wants an exact str: only the finders read this one
    CountingText.searched = 0
    path = ("spec", "template", "spec", "containers", 0, "image")
    found = [
        DocumentContext("all.yaml", text, index, root).location(nodes.resolve_path(root, path))
        for index, root in enumerate(compose_documents(plain))
    ]
    assert len(found) == 2_000 and {where.column for where in found} == {16}
    assert [where.line for where in found[:2]] == [12, 25]
    assert CountingText.searched < 2 * len(text)


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations the cyclic collector passed over while the test ran."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)


@pytest.mark.timeout(60)
def test_reading_and_rewriting_a_big_file_leave_the_collector_alone(
    collections: list[int],
) -> None:
    """The collector's passes over the growing node graph made the scan and the rewrite of one
    file of 4,000 workloads cost 6x one of 1,000; it is held while one file is read and
    restored after."""
    text = workloads(1_000)
    gc.collect()
    collections.clear()
    targets, _ = scan_text(text, "all.yaml")
    rewritten = rewrite_text(text, "all.yaml", [Update(t, "1.1.0") for t in targets])
    # Young generations are cheap and may still run between the two; a pass over the old
    # generation, where the node graph goes, is what grew with the square.
    assert [generation for generation in collections if generation > 0] == []
    assert gc.isenabled()
    assert rewritten == text.replace(":1.0.0", ":1.1.0")


@pytest.mark.timeout(60)
def test_the_collector_stays_off_when_it_was_off() -> None:
    gc.disable()
    try:
        scan_text(workloads(3), "all.yaml")
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.timeout(60)
def test_overlapping_holds_restore_the_collector_only_when_the_last_ends() -> None:
    """The operator reads files in several threads: the first hold to end must not turn the
    collector back on under another, and the last one out restores it."""
    first, second = held_gc(), held_gc()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_rewriting_every_workload_of_a_big_file_is_byte_exact(newline: str) -> None:
    """Linear, and still the same guarantee: only the image values change."""
    text = workloads(3_000, newline)
    targets, _ = scan_text(text, "all.yaml")
    new = rewrite_text(text, "all.yaml", [Update(t, "1.1.0") for t in targets])
    assert new == text.replace("app:1.0.0", "app:1.1.0")
    diff = unified_diff("all.yaml", text, new)
    assert diff.count("\n-        image:") == 3_000
