"""Process and port plumbing shared by the rig's servers.

Starts server binaries so that none outlives the test run: each child is tracked and killed at
exit, and on Linux it also gets a parent-death signal (util-linux `setpriv`), so even a SIGKILLed
pytest leaves nothing behind. It knows nothing of what the servers are; the server modules do.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO


class RigError(RuntimeError):
    """A rig server could not be started or used; the message says what to install or check."""


_LIVE: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()
_SETPRIV = shutil.which("setpriv")


def require_binary(name: str, package: str) -> str:
    """Return the absolute path of `name`, or fail naming the Debian package that provides it."""
    found = name if Path(name).is_absolute() and Path(name).exists() else shutil.which(name)
    if not found:
        raise RigError(
            f"{name} is missing: install the Debian package {package!r} "
            f"(scripts/bootstrap does it, or: apt-get install {package})"
        )
    return found


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that was free a moment ago (callers retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(
    argv: Sequence[str],
    *,
    stdout: Path,
    stderr: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a tracked server process with its output in two files."""
    # Only the main thread gets the parent-death signal: Linux sends it when the creating *thread*
    # exits, which would kill servers started from a short-lived worker thread.
    pdeath = _SETPRIV is not None and threading.current_thread() is threading.main_thread()
    full = [_SETPRIV, "--pdeathsig", "KILL", "--", *argv] if pdeath and _SETPRIV else list(argv)
    with stdout.open("ab") as out, stderr.open("ab") as err:
        proc = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    with _LOCK:
        _LIVE.add(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], *, grace: float = 2.0) -> None:
    """Terminate a tracked process, kill it if it lingers, and forget it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with _LOCK:
        _LIVE.discard(proc)


def live_processes() -> list[subprocess.Popen[bytes]]:
    """Tracked processes that are still running (the rig's own tests check this is empty)."""
    with _LOCK:
        return [p for p in _LIVE if p.poll() is None]


def tail(path: Path, limit: int = 2000) -> str:
    """The end of a log file, for error messages."""
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-limit:].strip()
    return ""


def write_private(path: Path, data: str | bytes) -> Path:
    """Write a file only its owner can read (keys, password files)."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    fh: IO[bytes]
    with path.open("wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    return path


@atexit.register
def _stop_all() -> None:
    for proc in list(_LIVE):
        stop(proc, grace=1.0)
