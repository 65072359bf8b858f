"""Benchmark: `set-image` and `list` over a generated 10,000-file tree of every kind family.

The tree (``bench/kinds_tree.py``) mixes built-in workloads with the custom resources of issue 16;
about one file in six carries the shared sidecar image. Each command runs as the real CLI in a
child process, best of --repeat, as wall and CPU seconds (user + system; the machine is shared).
`set-image` is timed on a fresh copy each time and reported as files of the tree per second, with
the files it changed and those still holding the old sidecar (`image: <shared>:2.x` left behind).
``--code DIR`` runs another checkout's imagebot (``--code /work/main`` gives the "before" figure).
Run: .venv/bin/python bench/kinds.py [--files 10000] [--repeat 3] [--code DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.kinds_tree import SHARED, generate  # noqa: E402
from bench.scratch import isolated_env  # noqa: E402

NEW_TAG = "9.9.9"


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system of the child) and its stdout. ``cwd`` is the scratch
    folder: ``python -m`` puts its working directory first on the path, ahead of --code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 5):
        raise SystemExit(f"{' '.join(args[3:6])} -> {proc.returncode}\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout


def _holds_old(path: Path) -> bool:
    """Whether a container-style ``image: <shared>:2.x`` value in the file kept its old tag."""
    return f"image: {SHARED}:2.".encode() in path.read_bytes()


def left_behind(tree: Path) -> int:
    return sum(_holds_old(path) for path in tree.rglob("*.yaml"))


def _origin(env: dict[str, str], cwd: Path) -> str:
    """Where the child's imagebot is imported from, so a figure names the code it measured."""
    code = "import imagebot, pathlib; print(pathlib.Path(imagebot.__file__).parent.parent)"
    found = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                           text=True, check=True)  # fmt: skip
    return found.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose imagebot runs")
    options = parser.parse_args()
    cli = [sys.executable, "-m", "imagebot"]
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-kinds-") as scratch:
        work = Path(scratch)
        env = {**isolated_env(work), "PYTHONPATH": str(options.code.resolve())}
        pristine = work / "pristine"
        made = generate(pristine, options.files)
        holding = left_behind(pristine)
        print(f"{options.files} files, imagebot from {_origin(env, work)}: " + ", ".join(
            f"{family} {count}" for family, count in made.items()))  # fmt: skip
        print(f"files holding {SHARED}:2.x in a value: {holding}")

        listed = []
        for _ in range(options.repeat):
            wall, cpu, out = timed([*cli, "list", "--repo", str(pristine), "--all",
                                    "--output", "json"], env, work)  # fmt: skip
            listed.append((wall, cpu, len(json.loads(out)["targets"])))
        wall, cpu, targets = min(listed)
        print(f"list --all: {wall:.2f} s wall, {cpu:.2f} s CPU, {targets} targets")

        released = []
        for attempt in range(options.repeat):
            tree = work / f"tree-{attempt}"
            shutil.copytree(pristine, tree)
            wall, cpu, _ = timed(
                [*cli, "set-image", f"{SHARED}:{NEW_TAG}", "--repo", str(tree)], env, work
            )
            changed = [
                tree / path.relative_to(pristine)
                for path in pristine.rglob("*.yaml")
                if (tree / path.relative_to(pristine)).read_bytes() != path.read_bytes()
            ]
            halfway = sum(_holds_old(path) for path in changed)
            released.append((wall, cpu, len(changed), left_behind(tree), halfway))
            shutil.rmtree(tree)
        wall, cpu, changed, stale, halfway = min(released)
        print(
            f"set-image: {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"{options.files / wall:.0f} files/s wall ({options.files / cpu:.0f} per CPU s), "
            f"{changed} files changed ({halfway} of them halfway), "
            f"{stale} still holding the old tag"
        )
    return 0 if stale == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
