"""A/B: `imagebot run` from two or more source trees on the same seed repo, interleaved.

On a shared machine single runs swing by ±40 %; running the contenders in turn, N rounds, and
comparing medians is what tells a change from noise. Each run gets a fresh copy of the seed bare
repo, a fresh HOME and XDG_CACHE_HOME (a cold run, as vs-renovate times it), and
`python -m imagebot` with PYTHONPATH set to the tree, so a git worktree of another commit is a
contender as it is (compile its bytecode first: `python -m compileall -q TREE/imagebot`).

    .venv/bin/python bench/ab.py --seed SEED.git --runs 6 /tmp/old-worktree .

The registry the seed's manifests name must be up: `../shared/bench/vs-renovate --keep` leaves a
work dir with `seed.git` and `registry.yml`; start `docker-registry serve registry.yml` on its
storage again (the images are cached as /tmp/imagebot-peer/images/team-N-*.tar).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def one_run(tree: Path, seed: Path) -> tuple[float, float, float]:
    """Wall s, CPU s (children included) and peak RSS MiB of one cold run from ``tree``."""
    with tempfile.TemporaryDirectory(prefix="imagebot-ab-") as scratch:
        work = Path(scratch)
        shutil.copytree(seed, work / "remote.git", symlinks=True)
        for name in ("home", "cache"):
            (work / name).mkdir()
        env = dict(os.environ, HOME=str(work / "home"), XDG_CACHE_HOME=str(work / "cache"),
                   GIT_TERMINAL_PROMPT="0", PYTHONPATH=str(tree))  # fmt: skip
        command = ["/usr/bin/time", "-f", "%e %U %S %M", sys.executable, "-m", "imagebot", "run",
                   "--repo", (work / "remote.git").as_uri(), "--branch", "main"]  # fmt: skip
        done = subprocess.run(
            command, env=env, cwd=work, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr[-2000:]}")
        wall, user, system, rss = done.stderr.strip().splitlines()[-1].split()
        return float(wall), float(user) + float(system), int(rss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, required=True, help="the bare repo to run on")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("trees", nargs="+", type=Path, help="source trees (repository roots)")
    args = parser.parse_args()
    samples: dict[Path, list[tuple[float, float, float]]] = {tree: [] for tree in args.trees}
    for _ in range(args.runs):
        for tree in args.trees:
            samples[tree].append(one_run(tree.resolve(), args.seed))
    for tree, runs in samples.items():
        wall, cpu, rss = (statistics.median(run[i] for run in runs) for i in range(3))
        print(f"{tree!s:32s} wall {wall:.3f} s  cpu {cpu:.3f} s  peak RSS {rss:.1f} MiB  "
              f"(best wall {min(run[0] for run in runs):.3f} s, {len(runs)} runs)")  # fmt: skip


if __name__ == "__main__":
    main()
