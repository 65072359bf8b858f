"""Where a real `imagebot run` spends its wall time: a timeline from inside the process.

Runs the CLI in this process with an audit hook that stamps, relative to its start, the first
import of the heavy packages, every git child started, the first registry connection and the
exit. Nothing is patched, so the order of loading is the one users get (a profiler or a wrapper
that imports the run path first would hide whether the clone overlaps the imports).

    .venv/bin/python bench/timeline.py run --repo file:///path/to/remote.git --branch main

Any `imagebot` arguments work. Run it with a fresh HOME and XDG_CACHE_HOME to time a cold run
(as vs-renovate does; its `--keep` work dir holds a seed repo and the registry config).
"""

from __future__ import annotations

import atexit
import sys
import time
from typing import Any

START = time.perf_counter()
HEAVY = {"imagebot.reconcile.run", "requests", "git", "ruamel.yaml", "imagebot.cli.render"}
marks: list[tuple[float, str]] = []
seen: set[str] = set()


def stamp(event: str, args: tuple[Any, ...]) -> None:
    now = time.perf_counter() - START
    if event == "subprocess.Popen":
        marks.append((now, "start " + " ".join(map(str, args[1][:3]))))
    elif event == "os.fork" and "fork" not in seen:
        seen.add("fork")
        marks.append((now, "fork (scan shared with a child)"))
    elif event == "import" and args[0] in HEAVY and args[0] not in seen:
        seen.add(args[0])
        marks.append((now, "import " + args[0]))
    elif event == "socket.connect" and "connect" not in seen:
        seen.add("connect")
        marks.append((now, "first registry connection"))


def report() -> None:
    marks.append((time.perf_counter() - START, "exit"))
    for at, what in marks:
        sys.stderr.write(f"{at * 1000:8.0f} ms  {what}\n")


sys.addaudithook(stamp)
atexit.register(report)

import imagebot.cli  # noqa: E402 - after the hook, so that its imports are stamped too

imagebot.cli.main(sys.argv[1:])
