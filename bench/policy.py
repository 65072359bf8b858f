"""Time ``select_tag`` over 100,000 tags for every policy kind (target: under 0.3 s each).

    .venv/bin/python bench/policy.py [--tags N] [--repeat R]

Each line prints the best of R runs of parse + select (parsing is once per policy, as reconcile
does), the candidates' shape and the chosen tag, so a wrong answer is as visible as a slow one.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from imagebot.model import TagInfo
from imagebot.policy import parse_policy, select_tag

TARGET_SECONDS = 0.3


def versions(n: int, rng: random.Random) -> list[TagInfo]:
    """Mostly releases, some prereleases, v-prefixes, short forms and non-versions."""
    out = []
    for i in range(n):
        major, minor, patch = rng.randrange(20), rng.randrange(50), i % 1000
        shape = i % 10
        if shape == 0:
            out.append(TagInfo(f"{major}.{minor}.{patch}-rc.{i % 7}"))
        elif shape == 1:
            out.append(TagInfo(f"v{major}.{minor}.{patch}"))
        elif shape == 2:
            out.append(TagInfo(f"{major}.{minor}"))
        elif shape == 3:
            out.append(TagInfo(f"build-{i}"))
        else:
            out.append(TagInfo(f"{major}.{minor}.{patch}"))
    return out


def timed_tags(n: int, rng: random.Random) -> list[TagInfo]:
    """Branch builds with creation times, a tenth of them without one."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        branch = ("develop", "main", "feature-x")[i % 3]
        created = None if i % 10 == 9 else start + timedelta(seconds=rng.randrange(10**7))
        out.append(TagInfo(f"{branch}-v{i}-{rng.randrange(16**7):07x}", created))
    return out


def numbers(n: int, rng: random.Random) -> list[TagInfo]:
    return [TagInfo(str(rng.randrange(10**10)) if i % 20 else "latest") for i in range(n)]


def names(n: int, rng: random.Random) -> list[TagInfo]:
    return [TagInfo(f"RELEASE.2024-{rng.randrange(1, 13):02d}-{i:06d}Z") for i in range(n)]


Case = tuple[str, str, Callable[[int, random.Random], list[TagInfo]], dict[str, str]]
CASES: list[Case] = [
    ("glob", "glob:develop-v*", timed_tags, {}),
    ("regex", r"regex:^main-v\d+-[0-9a-f]{7}$", timed_tags, {}),
    ("semver", "semver:>=1.0.0 <15.0.0 || ^17.x-0", versions, {}),
    ("numerical", "numerical:asc", numbers, {}),
    ("alphabetical", "alphabetical:desc", names, {}),
    ("alphabetical+extract", "alphabetical:asc", names, {"filter": r"^RELEASE\.(?P<d>.*)Z$"}),
    ("minor", "minor", versions, {"current": "7.3.2"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    slow = []
    for name, text, make, extra in CASES:
        tags = make(args.tags, random.Random(name))
        best = float("inf")
        chosen = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            flt = extra.get("filter")
            policy = parse_policy(text, filter_pattern=flt, extract="$d" if flt else None)
            decision = select_tag(policy, tags, current=extra.get("current"))
            best = min(best, time.perf_counter() - started)
            chosen = decision.chosen.tag if decision.chosen else None
        flag = "" if best < TARGET_SECONDS else "  SLOW"
        if flag:
            slow.append(name)
        print(f"{name:<22} {len(tags):>7} tags  {best:6.3f} s  chose {chosen}{flag}")
    if slow:
        raise SystemExit(f"over {TARGET_SECONDS} s: {', '.join(slow)}")


if __name__ == "__main__":
    main()
