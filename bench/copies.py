"""Benchmark: what looking for unchanged copies costs ``set-image`` over a 10,000-file tree.

Generates ``bench/rewrite.py``'s tree (each file its own image), then adds a shared image to
one workload file in ten, in a sidecar (a target), and to half of those again in an
AnalysisTemplate document (a copy imagebot does not read). Times (CPU, best of 5, interleaved)
the scan ``set-image`` makes without and with the copy search (``scan_tree(..., watch=...)``)
for an image in one file and for the shared one, and checks that every AnalysisTemplate copy
is found. Run: ``.venv/bin/python bench/copies.py [--files 10000]``; exits 1 when a copy is
missed or the search costs more than half again the scan.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rewrite import generate  # the same tree as bench/rewrite.py

from imagebot.manifest import scan_tree

SHARED = "ghcr.io/acme/shared"
TEMPLATE = (
    "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata:\n  name: smoke\n"
    "spec:\n  metrics:\n  - name: smoke\n    provider:\n      job:\n        spec:\n"
    "          template:\n            spec:\n              containers:\n"
    f"              - name: smoke\n                image: {SHARED}:1.0\n"
)


def share(root: Path) -> tuple[int, int]:
    """Give one workload file in ten a sidecar of SHARED, and half of those an AnalysisTemplate
    too: (sidecars, templates)."""
    sidecars = templates = 0
    for index, path in enumerate(sorted(root.rglob("*.yaml"))):
        text = path.read_bytes().decode()
        first = re.search(r"^( *)- name: app\r?\n", text, re.MULTILINE)
        if index % 10 or first is None:
            continue
        pad, end = first.group(1), "\r\n" if "\r" in first.group(0) else "\n"
        sidecar = f"{pad}- name: shared{end}{pad}  image: {SHARED}:1.0{end}"
        text = text[: first.start()] + sidecar + text[first.start() :]
        sidecars += 1
        if index % 20 == 0:
            text = text.rstrip("\r\n") + end + TEMPLATE.replace("\n", end)
            templates += 1
        path.write_bytes(text.encode())
    return sidecars, templates


def timed(root: Path, watches: list[tuple[str, ...]], rounds: int = 5) -> list[tuple[float, int]]:
    """Best time and copies found per watch; the rounds interleave, so a busy machine slows
    every variant alike."""
    times: list[list[float]] = [[] for _ in watches]
    found = [0] * len(watches)
    for _ in range(rounds):
        for index, watch in enumerate(watches):
            started = time.process_time()
            scan = scan_tree(root, watch=watch)
            times[index].append(time.process_time() - started)
            found[index] = len(scan.occurrences)
    return [(min(t), n) for t, n in zip(times, found, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        generate(root, args.files)
        sidecars, templates = share(root)
        names = ["registry.example.org/team/svc00042", SHARED]
        (plain, _), *watched = timed(root, [(), *((name,) for name in names)])
        print(
            f"{args.files} files; {SHARED} in {sidecars} sidecars and {templates} "
            "AnalysisTemplates (best of 5)"
        )
        print(f"scan without the copy search: {plain:.2f} s ({args.files / plain:,.0f} files/s)")
        failed = False
        for name, (seconds, found) in zip(names, watched, strict=True):
            expected = templates if name == SHARED else 0
            print(
                f"scan watching {name}: {seconds:.2f} s ({args.files / seconds:,.0f} files/s, "
                f"{(seconds / plain - 1) * 100:+.0f}%), {found} copies (expected {expected})"
            )
            failed = failed or found != expected or seconds > plain * 1.5
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
