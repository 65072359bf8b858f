"""What any test may need and no test owns: the repository's paths, a fake clock, tree comparison.

Nothing here starts a server or a process (the rig in ``tests/rig/`` does that), so every helper
is usable in the fast lane. Domain helpers stay beside their tests (``registry_fakes.py``,
``run_support.py``, ``controller_support.py``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "seed-example" / "deployment.yaml"  # the Flux v1 walkthrough's manifest, as is


@dataclass
class FakeClock:
    """``clock()`` reads monotonic time; ``sleep`` advances it at once and remembers each delay.

    Pass ``clock`` and ``clock.sleep`` wherever code takes a clock and a sleep, so waits, backoffs
    and deadlines are checked without real time passing.
    """

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Tree = Mapping[str, bytes]


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Each file's bytes by relative POSIX path, ``.git`` left out.

    A symlink reads as ``-> target`` rather than its target's bytes, so a link that became a
    file (or now leads elsewhere) shows up as a difference.
    """
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if ".git" in relative.parts:
            continue
        if path.is_symlink():
            files[relative.as_posix()] = b"-> " + str(path.readlink()).encode()
        elif path.is_file():
            files[relative.as_posix()] = path.read_bytes()
    return files


def tree_diff(actual: Tree, expected: Tree) -> str:
    """A unified diff per differing file, each line shown as its ``repr`` so that trailing spaces,
    tabs, CRLF and a missing final newline are visible; empty when the trees are equal."""
    parts = [f"only in expected: {name}\n" for name in sorted(set(expected) - set(actual))]
    parts += [f"only in actual: {name}\n" for name in sorted(set(actual) - set(expected))]
    for name in sorted(set(actual) & set(expected)):
        if actual[name] != expected[name]:
            parts += difflib.unified_diff(
                [repr(line) + "\n" for line in expected[name].splitlines(keepends=True)],
                [repr(line) + "\n" for line in actual[name].splitlines(keepends=True)],
                f"expected/{name}",
                f"actual/{name}",
            )
    return "".join(parts)


def assert_same_tree(actual: Path | Tree, expected: Path | Tree) -> None:
    """Byte-for-byte equality of two trees (folders or ``tree_bytes`` maps); the failure message
    is the unified diff."""
    got = tree_bytes(actual) if isinstance(actual, Path) else actual
    want = tree_bytes(expected) if isinstance(expected, Path) else expected
    diff = tree_diff(got, want)
    assert not diff, "the trees differ:\n" + diff
