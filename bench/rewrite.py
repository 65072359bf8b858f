"""Benchmark: find and rewrite automated images in a generated tree, against ruamel round-trip.

Generates N manifest files (mixed kinds and formatting, 10% automated), then prints
(a) discovery time for the whole tree (and the reconcile path that screens for automation),
(b) rewrite time for every automated target (splice + re-compose verification + atomic write),
(c) ruamel.yaml round-trip load+dump time for the same files, and the ratio; finally it checks
that every byte outside the rewritten values is identical. Run:
``.venv/bin/python bench/rewrite.py [--files 10000] [--roundtrip-sample N] [--keep]``.

``--run-path`` measures what ``imagebot run`` does instead, over N files every one of them
automated: ``scan_tree(only_automated=True)`` then ``rewrite_files`` of every target, once with
the scan's facts (the old text composed once) and once without (composed again by the
rewrite); best of ``--repeat`` each, interleaved, with the facts' bytes per file.
"""

from __future__ import annotations

import argparse
import difflib
import io
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ruamel.yaml import YAML

from imagebot.manifest import (
    Update,
    c_composer_available,
    rewrite_files,
    scan_tree,
    write_files,
)

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Service", "ConfigMap", "HelmRelease")


def workload(rng: random.Random, index: int, automated: bool) -> str:
    kind = rng.choice(KINDS)
    name = f"svc{index:05d}"
    image = f"registry.example.org/team/{name}:1.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    quote = rng.choice(["", "'", '"'])
    dash = rng.choice(["", "  "])  # both sequence indentation styles occur in real repos
    annotations = ""
    if automated:
        annotations = (
            "  annotations:\n"
            "    fluxcd.io/automated: 'true'\n"
            f"    fluxcd.io/tag.app: semver:~1.{rng.randint(0, 20)}\n"
        )
    header = (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n"
        f"  namespace: ns{index % 7}\n"
    )
    if kind == "Service":
        return (
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n"
            f"  - port: 80  # http\n    targetPort: 8080\n  selector:\n    app: {name}\n"
        )
    if kind == "ConfigMap":
        return (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n"
            f"  note: |\n    image: {image}\n    not an image value\n"
        )
    if kind == "HelmRelease":
        return (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
            f"metadata:\n  name: {name}\n{annotations.replace('tag.app', 'tag.chart-image')}"
            f"spec:\n  values:\n    image:\n      repository: {image.partition(':')[0]}\n"
            f"      tag: {quote}{image.partition(':')[2]}{quote}\n    replicas: 2\n"
        )
    pod = (
        f"    spec:\n      containers:\n{dash}      - name: app\n{dash}        image: "
        f"{quote}{image}{quote}\n{dash}        ports:\n{dash}        - containerPort: 8080 \n"
        f"{dash}        env:\n{dash}        - name: MODE\n{dash}          value: prod\n"
    )
    if kind == "CronJob":
        body = "spec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n      template:\n"
        pod = "\n".join("    " + line if line else line for line in pod.split("\n"))
        return header.replace("apps/v1", "batch/v1") + annotations + body + pod
    return header + annotations + "spec:\n  replicas: 3\n  template:\n" + pod


def generate(root: Path, count: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    for index in range(count):
        text = workload(rng, index, automated=index % 10 == 0)
        if rng.random() < 0.1:
            text = text.replace("\n", "\r\n")
        if rng.random() < 0.1:
            text = text.rstrip("\n")
        path = root / f"apps/team{index % 50:02d}/{index:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())


def roundtrip(paths: list[Path]) -> float:
    yaml = YAML()
    yaml.preserve_quotes = True
    started = time.perf_counter()
    for path in paths:
        data = list(yaml.load_all(path.read_text()))
        yaml.dump_all(data, io.StringIO())
    return time.perf_counter() - started


def verify(root: Path, before: dict[str, bytes], updates: list[Update]) -> int:
    """Count files whose bytes differ anywhere but on the lines of their targets."""
    lines_of: dict[str, set[int]] = {}
    for update in updates:
        lines_of.setdefault(update.target.location.file, set()).add(update.target.location.line)
    bad = 0
    for relative, old in before.items():
        new = (root / relative).read_bytes()
        if relative not in lines_of:
            bad += new != old
            continue
        old_lines, new_lines = old.split(b"\n"), new.split(b"\n")
        changed = {
            index + 1
            for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=old_lines, b=new_lines).get_opcodes()
            if tag != "equal"
            for index in range(i1, i2)
        }
        bad += len(old_lines) != len(new_lines) or not changed <= lines_of[relative]
    return bad


def run_path(files: int, repeat: int) -> None:
    """Scan then rewrite every automated target, with and without the scan's facts."""
    work = Path(tempfile.mkdtemp(prefix="imagebot-bench-"))
    try:
        rng = random.Random(42)
        for index in range(files):
            path = work / f"apps/team{index % 50:02d}/{index:05d}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(workload(rng, index, automated=True))
        best: dict[bool, tuple[float, float]] = {}
        results = {}
        for _ in range(repeat):
            for facts in (False, True):
                started = time.perf_counter()
                scan = scan_tree(work, only_automated=True, with_facts=facts)
                scanned = time.perf_counter()
                updates = [Update(t, "2.0.0") for t in scan.targets]
                result = rewrite_files(scan.texts, updates, scan.facts)
                done = time.perf_counter()
                times = (scanned - started, done - scanned)
                old = best.get(facts, (float("inf"), float("inf")))
                best[facts] = (min(old[0], times[0]), min(old[1], times[1]))
                results[facts] = result
        assert results[True].new_texts == results[False].new_texts
        composes = {facts: count_composes(work, facts) for facts in (False, True)}
        tracemalloc.start()  # what a TreeScan holds with facts, less what it holds without
        before = tracemalloc.get_traced_memory()[0]
        kept = scan_tree(work, only_automated=True, with_facts=True)
        held = tracemalloc.get_traced_memory()[0] - before
        del kept
        before = tracemalloc.get_traced_memory()[0]
        kept = scan_tree(work, only_automated=True)
        held_plain = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del kept
        changed = len(results[True].new_texts)
        print(f"{files} automated files, {changed} rewritten, best of {repeat}")
        for facts, label in ((False, "composing again"), (True, "scan's facts   ")):
            scan_s, rewrite_s = best[facts]
            print(f"  {label}: scan {scan_s * 1000:7.1f} ms  rewrite {rewrite_s * 1000:7.1f} ms"
                  f"  total {(scan_s + rewrite_s) * 1000:7.1f} ms"
                  f"  composes {composes[facts]}")  # fmt: skip
        print(f"  facts held: {(held - held_plain) / files:.0f} bytes per file")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def count_composes(work: Path, facts: bool) -> int:
    """How many times the scan and the rewrite compose YAML, counted in every module that
    composes on this path."""
    from imagebot.manifest import compose, rewrite, rewrite_facts, scan

    calls = [0]

    def counting(body: str) -> list[compose.Node]:
        calls[0] += 1
        return compose.compose_documents(body)

    modules = (scan, rewrite, rewrite_facts)
    for module in modules:
        module.compose_documents = counting  # type: ignore[attr-defined]
    try:
        tree = scan_tree(work, only_automated=True, with_facts=facts)
        rewrite_files(tree.texts, [Update(t, "2.0.0") for t in tree.targets], tree.facts)
    finally:
        for module in modules:
            module.compose_documents = compose.compose_documents  # type: ignore[attr-defined]
    return calls[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--roundtrip-sample", type=int, default=0, help="0 = every file")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--run-path", action="store_true", help="scan + rewrite, as a run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.run_path:
        run_path(args.files, args.repeat)
        return
    work = Path(tempfile.mkdtemp(prefix="imagebot-bench-"))
    try:
        generate(work, args.files)
        paths = sorted(work.rglob("*.yaml"))
        before = {p.relative_to(work).as_posix(): p.read_bytes() for p in paths}
        print(f"{len(paths)} files, C composer: {c_composer_available()}")

        started = time.perf_counter()
        scan = scan_tree(work)
        discovery = time.perf_counter() - started
        print(f"(a) discovery, whole tree:      {discovery:7.2f} s  "
              f"({len(scan.targets)} targets in {scan.files_composed} composed files)")  # fmt: skip
        started = time.perf_counter()
        automated_scan = scan_tree(work, only_automated=True, with_facts=True)  # as a run
        screened = time.perf_counter() - started
        composed = automated_scan.files_composed
        print(f"    discovery, automated only:  {screened:7.2f} s  "
              f"({len(automated_scan.targets)} targets, {composed} composed)")  # fmt: skip

        started = time.perf_counter()
        updates = [Update(t, "2.0.0") for t in automated_scan.targets]
        result = rewrite_files(automated_scan.texts, updates, automated_scan.facts)
        write_files(work, result.new_texts)
        rewrite = time.perf_counter() - started
        print(f"(b) rewrite + verify + write:   {rewrite:7.2f} s  "
              f"({len(result.applied)} targets in {len(result.new_texts)} files, "
              f"{len(result.problems)} refused)")  # fmt: skip

        sample = paths if not args.roundtrip_sample else paths[: args.roundtrip_sample]
        for path in sample:  # round-trip the same texts as they were before the rewrite
            path.write_bytes(before[path.relative_to(work).as_posix()])
        spent = roundtrip(sample) * len(paths) / len(sample)
        note = "" if sample is paths else f" (extrapolated from {len(sample)} files)"
        print(f"(c) ruamel round-trip load+dump: {spent:6.2f} s{note}")
        ours = discovery + rewrite
        print(f"ratio round-trip / (discovery + rewrite): {spent / ours:5.1f}x  "
              f"(reconcile path: {spent / (screened + rewrite):5.1f}x)")  # fmt: skip

        for path in sample:
            path.write_bytes(before[path.relative_to(work).as_posix()])
        write_files(work, result.new_texts)
        bad = verify(work, before, list(result.applied))
        print(f"files with a byte changed outside a target line: {bad}")
        ok = bad == 0 and ours < 10 and spent / ours >= 10 and not result.problems
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
