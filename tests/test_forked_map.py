"""``forked_map`` and ``ForkedMap``: a tree's files shared with a forked child that works from
the end of the list, the result always the serial one. The child is a real fork of the test
process; its failures must never be the run's.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from imagebot.manifest import rewrite_files, scan_tree, serial_map
from imagebot.manifest.rewrite import Update
from imagebot.reconcile import forked
from imagebot.reconcile.forked import MIN_ITEMS, ForkedMap, forked_map

pytestmark = pytest.mark.rig  # forks a process

needs_two_cpus = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="forked_map forks only with 2 CPUs or more"
)


def square_with_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def slow_square_with_pid(n: int) -> tuple[int, int]:
    time.sleep(0.002)  # long enough for the child to be forked and take its share
    return n * n, os.getpid()


@needs_two_cpus
def test_both_processes_take_items_and_the_results_come_back_in_order() -> None:
    items = list(range(MIN_ITEMS * 2 + 1))
    results = forked_map(slow_square_with_pid, items)
    assert [value for value, _ in results] == [n * n for n in items]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid() and pids[-1] != os.getpid()
    assert len(set(pids)) == 2
    # One meeting point: this process's items first, then the child's.
    assert pids == sorted(pids, key=lambda pid: pid != os.getpid())


@needs_two_cpus
def test_the_child_works_while_this_process_does_its_meanwhile_once() -> None:
    ran: list[int] = []

    def meanwhile() -> None:
        ran.append(os.getpid())
        time.sleep(0.5)

    shared = ForkedMap(meanwhile)
    items = list(range(MIN_ITEMS * 2))
    results = shared(slow_square_with_pid, items)
    assert [value for value, _ in results] == [n * n for n in items]
    theirs = sum(pid != os.getpid() for _, pid in results)
    assert theirs > len(items) // 2  # the child ran ahead while this process was busy
    assert ran == [os.getpid()]
    assert [value for value, _ in shared(square_with_pid, items)] == [n * n for n in items]
    assert ran == [os.getpid()]  # not again on the next map


def test_few_items_run_no_meanwhile() -> None:
    ran: list[int] = []
    shared = ForkedMap(lambda: ran.append(1))
    assert shared(square_with_pid, [1, 2, 3]) == [
        (1, os.getpid()),
        (4, os.getpid()),
        (9, os.getpid()),
    ]
    assert ran == []


def test_few_items_stay_in_this_process() -> None:
    results = forked_map(square_with_pid, list(range(MIN_ITEMS - 1)))
    assert {pid for _, pid in results} == {os.getpid()}


@needs_two_cpus
def test_a_child_that_dies_leaves_its_half_to_this_process() -> None:
    parent = os.getpid()

    def die_in_the_child(n: int) -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return n + 1

    items = list(range(MIN_ITEMS * 2))
    assert forked_map(die_in_the_child, items) == [n + 1 for n in items]


@needs_two_cpus
def test_a_child_killed_midway_leaves_what_it_claimed_to_this_process() -> None:
    parent = os.getpid()
    items = list(range(MIN_ITEMS * 2))

    def die_after_some(n: int) -> int:
        if os.getpid() != parent and n == len(items) - 10:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.002)
        return n + 1

    assert ForkedMap(lambda: time.sleep(0.2))(die_after_some, items) == [n + 1 for n in items]


@needs_two_cpus
def test_an_error_in_the_childs_half_is_raised_here_as_the_serial_map_would() -> None:
    def fail_on_the_last(n: int) -> int:
        if n == MIN_ITEMS * 2 - 1:
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match=f"item {MIN_ITEMS * 2 - 1}"):
        forked_map(fail_on_the_last, list(range(MIN_ITEMS * 2)))


@needs_two_cpus
def test_an_error_in_this_half_stops_and_reaps_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: list[int] = []
    real_stop = forked._stop
    monkeypatch.setattr(forked, "_stop", lambda pid: (stopped.append(pid), real_stop(pid)))
    parent = os.getpid()

    def fail_first(n: int) -> int:
        if os.getpid() != parent:
            time.sleep(0.002)  # the child works from the end: item 0 stays this process's
        elif n == 0:
            raise KeyError("first")
        return n

    with pytest.raises(KeyError):
        forked_map(fail_first, list(range(MIN_ITEMS * 2)))
    assert len(stopped) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(stopped[0], os.WNOHANG)  # reaped: no zombie left behind


def manifest(n: int) -> str:
    extra = "      - name: side\n        image: busybox:1.0\n" if n % 7 == 0 else ""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{n}\n  annotations:\n"
        '    imagebot.io/automated: "true"\n    imagebot.io/tag.app: semver:*\n'
        "spec:\n  template:\n    spec:\n      containers:\n"
        f"      - name: app\n        image: reg.example/team/app{n % 5}:1.0.{n % 3}\n{extra}"
    )


@needs_two_cpus
def test_a_tree_scanned_and_rewritten_forked_is_the_serial_result(tmp_path: Path) -> None:
    for n in range(MIN_ITEMS * 3):
        (tmp_path / f"app-{n:03d}.yaml").write_text(manifest(n))
    (tmp_path / "broken.yaml").write_text("a: [unclosed\n")
    (tmp_path / "big.yaml").write_text("x" * 2001)
    kwargs = {"only_automated": True, "watch_automated": True, "with_facts": True}
    serial = scan_tree(tmp_path, max_bytes=2000, **kwargs)  # type: ignore[arg-type]
    spread = scan_tree(tmp_path, max_bytes=2000, map_files=forked_map, **kwargs)  # type: ignore[arg-type]
    assert spread == serial
    containers = sum(2 if n % 7 == 0 else 1 for n in range(MIN_ITEMS * 3))
    assert len(serial.targets) == containers and len(serial.problems) == 1  # big.yaml
    updates = [Update(target, "2.0.0") for target in serial.targets]
    one = rewrite_files(serial.texts, updates, serial.facts, map_files=serial_map)
    two = rewrite_files(serial.texts, updates, serial.facts, map_files=forked_map)
    assert one == two
    assert len(one.new_texts) == MIN_ITEMS * 3
