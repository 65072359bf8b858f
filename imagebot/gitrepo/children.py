"""Git children that die with imagebot, even when imagebot is killed with ``kill -9``.

A killed imagebot used to leave ``git clone`` (and its helpers: ``git-remote-http``,
``index-pack``, ``upload-pack``, ``ssh``) writing into the cache, so that the next run met a
half-written clone still growing. Parent-death signals do not help there: Linux sends them to
the direct child only, and git's own helpers outlive it.

So every git command imagebot starts carries ``IMAGEBOT_GIT_OWNER=<marker>`` in its environment
(``GitEnvironment`` puts it there), and git passes its environment on to all of its helpers. A
small reaper process, started once per imagebot process before its first git command, waits for
end of file on a pipe whose only writer is imagebot. The kernel closes that pipe however
imagebot ends, ``kill -9`` included; the reaper then kills (SIGKILL) every process whose
environment holds the marker, and exits. The marker is random per imagebot process, so no other
process's git is ever touched. It reads only ``/proc/<pid>/environ`` of processes it may read
(its own user's) and compares one string; on systems without ``/proc`` it does nothing.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

__all__ = ["OWNER_ENV", "ensure_reaper", "owner_environment"]

OWNER_ENV = "IMAGEBOT_GIT_OWNER"

# Runs with ``python -I -S``: no site packages, no imagebot, so it starts in milliseconds.
# Repeats the sweep until it finds nothing: a helper may start while the first sweep runs.
_REAPER = """
import os, signal, sys
marker = b"\\0" + sys.argv[1].encode() + b"\\0"
while os.read(0, 4096):
    pass
me = str(os.getpid())
for _ in range(20):
    found = False
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open("/proc/" + pid + "/environ", "rb") as handle:
                environ = b"\\0" + handle.read()
        except OSError:
            continue
        if marker in environ:
            found = True
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    if not found:
        break
"""

_state: dict[str, object] = {}


def owner_environment() -> dict[str, str]:
    """The variable that marks git children as this process's (see the module docstring)."""
    return {OWNER_ENV: _marker()}


def ensure_reaper() -> None:
    """Start this process's reaper unless it runs already; call before starting git.

    Uses ``posix_spawn`` rather than ``subprocess``: the reaper is never waited for (it ends
    after imagebot does), and nothing should warn that it still runs at interpreter exit.
    """
    marker = _marker()
    if _state.get("reaper") == marker or not hasattr(os, "posix_spawn") or not sys.executable:
        return
    read_end, write_end = os.pipe()  # both close-on-exec: no git child inherits the writer
    try:
        os.posix_spawn(
            sys.executable,
            [sys.executable, "-I", "-S", "-c", _REAPER, f"{OWNER_ENV}={marker}"],
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0)],
            setsid=True,  # a terminal's Ctrl-C reaches imagebot, which ends, then the reaper acts
        )
    except OSError as error:  # the run goes on; only a kill -9 would leave git running
        os.close(write_end)
        log.warning("cannot start the reaper of git children: %s", error)
        return
    finally:
        os.close(read_end)
    _state["reaper"] = marker
    _state["pipe"] = write_end  # kept open for the life of this process, on purpose


def _marker() -> str:
    """A random marker for this process; a forked child gets its own."""
    pid = os.getpid()
    if _state.get("pid") != pid:
        _state.update(pid=pid, marker=f"{pid}-{os.urandom(8).hex()}")
    return str(_state["marker"])
