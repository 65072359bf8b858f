"""Benchmark: deep, cyclic and bomb YAML rejected in < 1 s each, the sibling workload updated.

For each hostile file: the time `scan_text` takes to turn it into one problem (in this process),
then `imagebot run --output json` as a child process (this tree's code, through PYTHONPATH) on a
bare Git remote holding that file beside a good workload, against a rig registry with a newer tag:
the good file must be committed and pushed, the hostile one reported and left as it was.
Exits 1 when a rejection takes 1 s or more, or a sibling was not updated.
Run: .venv/bin/python bench/hostile_yaml.py
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import isolated_env  # noqa: E402
from imagebot.manifest import scan_text  # noqa: E402
from tests.rig import ImagePusher, running_registry  # noqa: E402
from tests.rig.git import make_bare_repo, run_git  # noqa: E402

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
REPOSITORY = "bench/hostile"
LIMIT_SECONDS = 1.0
IMAGEBOT = (sys.executable, "-m", "imagebot")


def workload(name: str, image: str, extra: str = "", tail: str = "") -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\n{extra}metadata:\n  name: {name}\n"
        "  annotations:\n    fluxcd.io/automated: 'true'\n    fluxcd.io/tag.app: semver:~1\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: {image}:1.0.0\n{tail}"
    )


def cases(image: str) -> dict[str, str]:
    deep = 100_000
    laughs = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    laughs += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    merges = ["m0: &m0 {k: v}"]
    merges += [f"m{i}: &m{i}\n  <<: [*m{i - 1}, *m{i - 1}]\n  k{i}: v" for i in range(1, 60)]
    return {
        "flow nesting 100,000 deep": workload(
            "deep", image, tail="  x: " + "[" * deep + "]" * deep + "\n"
        ),
        "block nesting 100,000 deep": workload(
            "deep", image, tail="  x:\n    " + "- " * deep + "x\n"
        ),
        "merge-key cycle": workload("cycle", image, "loop: &a\n  <<: [&b {<<: *a}]\n<<: *a\n"),
        "alias cycle": workload("cycle", image, "loop: &a [1, *a]\n"),
        "billion laughs (10^9 aliases)": workload("laughs", image, "\n".join(laughs) + "\n"),
        "merge bomb (2^60 merges)": workload("bomb", image, "\n".join(merges) + "\n<<: *m59\n"),
    }


def main() -> int:
    rows: list[tuple[str, int, float, float, bool, str]] = []
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-hostile-") as scratch:
        work = Path(scratch)
        env = isolated_env(work)
        with running_registry(work / "registry") as (server, _):
            with ImagePusher(server) as pusher:
                pusher.push_tags(REPOSITORY, {"1.0.0": T0, "1.1.0": T0 + dt.timedelta(hours=1)})
            image = f"{server.host}/{REPOSITORY}"
            for number, (name, text) in enumerate(cases(image).items()):
                started = time.perf_counter()
                targets, problems = scan_text(text, "apps/hostile.yaml")
                rejected = time.perf_counter() - started
                assert not targets and len(problems) == 1, (name, targets, problems)
                files = {
                    "apps/good.yaml": workload("good", image).encode(),
                    "apps/hostile.yaml": text.encode(),
                }
                remote = make_bare_repo(work / f"remote-{number}.git", files)
                started = time.perf_counter()
                proc = subprocess.run(
                    [*IMAGEBOT, "run", "--repo", remote.as_uri(), "--output", "json"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                wall = time.perf_counter() - started
                result = json.loads(proc.stdout) if proc.stdout.strip() else {}
                good = run_git("--git-dir", str(remote), "show", "main:apps/good.yaml")
                kept = run_git("--git-dir", str(remote), "show", "main:apps/hostile.yaml")
                updated = (
                    proc.returncode == 0
                    and f"{image}:1.1.0" in good
                    and kept == text
                    and [p["file"] for p in result.get("problems", [])] == ["apps/hostile.yaml"]
                )
                if not updated:
                    print(f"{name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
                rows.append((name, len(text), rejected, wall, updated, problems[0].message))

    print("| hostile file | bytes | rejected in s | `imagebot run` wall s | sibling updated |")
    print("|---|---|---|---|---|")
    for name, size, rejected, wall, updated, _ in rows:
        print(f"| {name} | {size:,} | {rejected:.3f} | {wall:.2f} | {'yes' if updated else 'NO'} |")
    for name, _, _, _, _, message in rows:
        print(f"  {name}: {message}")
    ok = all(rejected < LIMIT_SECONDS and updated for _, _, rejected, _, updated, _ in rows)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
