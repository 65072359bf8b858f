"""The workspace lock: a second holder waits for the first, gives up after its timeout, and a
holder killed with SIGKILL leaves no stale lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from imagebot.errors import GitError
from imagebot.gitrepo.lock import POLL_SECONDS, FileLock
from tests.support import FakeClock


def test_a_second_holder_waits_until_the_first_releases(tmp_path: Path) -> None:
    first = FileLock(tmp_path / "ws.lock")
    first.acquire(timeout=0)
    clock = FakeClock(now=0.0)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            first.release()

    second = FileLock(tmp_path / "ws.lock", clock=clock, sleep=sleep)
    second.acquire(timeout=60)

    assert second.held and not first.held
    assert len(clock.sleeps) == 3
    second.release()


def test_a_second_holder_gives_up_after_its_timeout_naming_the_first(tmp_path: Path) -> None:
    first = FileLock(tmp_path / "ws.lock")
    first.acquire(timeout=0)
    clock = FakeClock(now=0.0)
    second = FileLock(tmp_path / "ws.lock", clock=clock, sleep=clock.sleep)

    with pytest.raises(GitError, match=rf"\(pid {os.getpid()}\) still holds .*ws.lock after 2 s"):
        second.acquire(timeout=2)

    assert not second.held
    assert clock.now == pytest.approx(2, abs=POLL_SECONDS)
    first.release()


HOLD = """
import sys, time
from pathlib import Path
from imagebot.gitrepo.lock import FileLock
FileLock(Path(sys.argv[1])).acquire(timeout=0)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.rig
def test_a_holder_killed_by_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "ws.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(GitError, match=rf"pid {holder.pid}"):
        FileLock(path).acquire(timeout=0)

    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = FileLock(path)
    lock.acquire(timeout=0)
    assert lock.held
    lock.release()
    assert holder.stdin is not None
    holder.stdin.close()
    holder.stdout.close()
