"""Time ``select_tag`` over 100,000 hostile tags under adversarial regex and glob patterns
(issue 13; target: under 1 s each).

    .venv/bin/python bench/hostile_policy.py [--tags N] [--repeat R]

The tags are long runs of ``a`` ending in ``-`` (what made ``regex:^(a+)+$`` hang on Python's
backtracking ``re``), with a few that match. Each line prints the best of R runs of parse +
select and the chosen tag, so a wrong answer is as visible as a slow one. Exits non-zero when a
pattern misses the target.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from imagebot.model import TagInfo
from imagebot.policy import parse_policy, select_tag

TARGET_SECONDS = 1.0

PATTERNS = {
    "regex:^(a+)+$": "nested quantifiers",
    "regex:^(a|a)*$": "same alternatives",
    "regex:^(a|aa)+$": "overlapping alternatives",
    "regex:^" + ".*" * 40 + "b$": "40 dot-stars",
    "regex:^(.*a){20}$": "repeated group",
    "glob:" + "*a" * 40 + "*b": "40 stars",
    "glob:" + "*?" * 60: "60 star-questions",
    "glob:" + "*[ab]" * 30 + "*-": "30 star-classes",
}


def hostile_tags(n: int) -> list[TagInfo]:
    """Tags of 64 to 127 characters, almost all ``aaa...a-``; every 1000th is plain ``a``s
    (or ends in ``b``), so the patterns have something to choose."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        length = 64 + i % 63
        if i % 1000 == 0:
            tag = "a" * length
        elif i % 1000 == 500:
            tag = "a" * (length - 1) + "b"
        else:
            tag = "a" * (length - len(str(i)) - 1) + f"{i}-"
        out.append(TagInfo(tag, start + timedelta(seconds=i)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=100_000, help="tags per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per pattern (best is shown)")
    options = parser.parse_args()
    tags = hostile_tags(options.tags)
    slow = []
    print(f"{options.tags} tags, {len({t.tag for t in tags})} distinct")
    for text, what in PATTERNS.items():
        best, chosen = float("inf"), None
        for _ in range(options.repeat):
            started = time.perf_counter()
            decision = select_tag(parse_policy(text), tags)
            best = min(best, time.perf_counter() - started)
            chosen = decision.chosen
        flag = "" if best < TARGET_SECONDS else "  SLOW"
        name = chosen.tag if chosen else "-"
        shown = name if len(name) < 20 else f"{name[:6]}...{name[-6:]} ({len(name)})"
        print(f"{what:<26} {best:.3f} s  chose {shown}{flag}")
        if flag:
            slow.append(what)
    if slow:
        raise SystemExit(f"over {TARGET_SECONDS} s: {', '.join(slow)}")


if __name__ == "__main__":
    main()
