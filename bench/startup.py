"""Time the CLI's start-up: ``imagebot --help`` and ``imagebot policy select`` (target < 0.3 s).

    .venv/bin/python bench/startup.py [--repeat R]

Each line prints the best of R runs of ``python -m imagebot ...`` as a child process, so the
figure includes the interpreter's start and every import. These used to be asserts in
tests/test_cli.py and tests/test_policy_cli.py, where a busy machine made them flaky; the tests
still check the cause of a slow start (no heavy module imported), this script checks the time.
Exits non-zero when a command misses the target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

TARGET_SECONDS = 0.3

COMMANDS: dict[str, tuple[list[str], bytes]] = {
    "imagebot --help": (["--help"], b""),
    "imagebot policy select semver:*": (["policy", "select", "semver:*"], b"1.0.0\n"),
}


def timed(args: list[str], stdin: bytes) -> float:
    """Wall time of one ``python -m imagebot ARGS`` run, which must succeed."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "imagebot", *args], input=stdin, capture_output=True, check=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (best is shown)")
    options = parser.parse_args()
    slow = []
    for label, (args, stdin) in COMMANDS.items():
        best = min(timed(args, stdin) for _ in range(options.repeat))
        flag = "" if best < TARGET_SECONDS else "  SLOW"
        print(f"{label:<36} {best:.3f} s{flag}")
        if flag:
            slow.append(label)
    if slow:
        raise SystemExit(f"over {TARGET_SECONDS} s: {', '.join(slow)}")


if __name__ == "__main__":
    main()
