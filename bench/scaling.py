"""Benchmark: one file of 1,000 / 2,000 / 4,000 workloads for `list`, `set-image` and `run`.

Issue 13 measured 3 / 8 / 29 s: quadratic. Each command runs as the real CLI in a child process
(this tree's code, through PYTHONPATH), best of --repeat in CPU seconds (user + system, children
included: the machine is shared), with its start-up measured the same way
on a tree holding one workload and subtracted. `run` is `run --dry-run --output json` against a
rig registry and a bare Git remote (one commit of 4,000 changes is the Git helper's to carry).
Exits 1 unless 4x the workloads costs at most 5x the time for each command.
Run: .venv/bin/python bench/scaling.py [--sizes 1000 2000 4000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import isolated_env  # noqa: E402
from tests.rig import ImagePusher, running_registry  # noqa: E402
from tests.rig.git import make_bare_repo  # noqa: E402

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
REPOSITORY = "bench/scaling"
LIMIT = 5.0


def workloads(count: int, image: str) -> str:
    """``count`` automated Deployments in one file, as separate documents."""
    return "---\n".join(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{n:05d}\n"
        "  annotations:\n    fluxcd.io/automated: 'true'\n    fluxcd.io/tag.app: semver:~1\n"
        "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: {image}:1.0.0  # pinned by the bench\n        ports:\n"
        "        - containerPort: 8080\n"
        for n in range(count)
    )


def timed(args: list[str], env: dict[str, str], cwd: Path, expect: Callable[[str], None]) -> float:
    """CPU seconds (user + system) of the command and its children, git included: on a shared
    machine wall time measures the neighbours as much as imagebot."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} -> {proc.returncode}\n{proc.stderr[-2000:]}")
    expect(proc.stdout)
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    cli = [sys.executable, "-m", "imagebot"]
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-scaling-") as scratch:
        work = Path(scratch)
        env = isolated_env(work)
        with running_registry(work / "registry") as (server, _):
            with ImagePusher(server) as pusher:
                pusher.push_tags(REPOSITORY, {"1.0.0": T0, "1.1.0": T0 + dt.timedelta(hours=1)})
            image = f"{server.host}/{REPOSITORY}"

            def commands(count: int) -> dict[str, Callable[[], float]]:
                tree = work / f"tree-{count}"
                shutil.rmtree(tree, ignore_errors=True)
                tree.mkdir()
                text = workloads(count, image).encode()
                (tree / "all.yaml").write_bytes(text)
                remote = make_bare_repo(work / f"remote-{count}-{time.monotonic_ns()}.git",
                                        {"all.yaml": text})  # fmt: skip

                def listed(out: str) -> None:
                    assert out.count("all.yaml:") == count, out[-500:]

                def released(out: str) -> None:
                    assert out.count("all.yaml:") >= count, out[-500:]

                def planned(out: str) -> None:
                    assert len(json.loads(out)["changes"]) == count, out[-500:]

                def set_image() -> float:
                    (tree / "all.yaml").write_bytes(text)
                    return timed([*cli, "set-image", "--repo", str(tree), f"{image}:1.1.0"],
                                 env, tree, released)  # fmt: skip

                return {
                    "list": lambda: timed([*cli, "list", "--repo", str(tree)], env, tree, listed),
                    "set-image": set_image,
                    "run --dry-run": lambda: timed(
                        [*cli, "run", "--repo", remote.as_uri(), "--dry-run", "--output", "json"],
                        env,
                        tree,
                        planned,
                    ),
                }

            def best(count: int) -> dict[str, float]:
                found = commands(count)
                return {
                    name: min(run() for _ in range(options.repeat)) for name, run in found.items()
                }

            startup = best(1)
            figures = {count: best(count) for count in options.sizes}

    names = list(startup)
    print(f"best of {options.repeat}, CPU seconds; start-up = the same command on 1 workload")
    print("| workloads | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    print("| start-up (1) | " + " | ".join(f"{startup[n]:.2f}" for n in names) + " |")
    for count, row in figures.items():
        print(f"| {count} | " + " | ".join(f"{row[n]:.2f}" for n in names) + " |")
    low, high = min(options.sizes), max(options.sizes)
    ok = True
    for name in names:
        ratio = (figures[high][name] - startup[name]) / max(
            figures[low][name] - startup[name], 1e-3
        )
        ok = ok and ratio <= LIMIT * high / (4 * low)
        print(f"{name}: {high}/{low} workloads cost {ratio:.2f}x (start-up subtracted)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
