"""Tag policies: which tag a container should run. Pure code: no I/O, no clock.

``parse_policy`` compiles a policy string (and an optional Flux v2 style filter) once;
``select_tag`` picks among candidate tags and explains its ``Decision``; ``select_gated`` adds
the checks on the winner (required platforms, minimum age). The policy kinds live
in one module each (glob, regex, semver, numerical, alphabetical, bumps); the reference is
docs/policies.md.
"""

from imagebot.policy.factory import TagPolicy, parse_policy
from imagebot.policy.gate import Gate, Gated, Refusal, select_gated
from imagebot.policy.protocol import Ordering, Policy, Rank
from imagebot.policy.ranges import Range, parse_range
from imagebot.policy.select import Decision, RankMemo, Verdict, select_tag
from imagebot.policy.versions import Version, parse_version

__all__ = [
    "Decision",
    "Gate",
    "Gated",
    "Ordering",
    "Policy",
    "Range",
    "Rank",
    "RankMemo",
    "Refusal",
    "TagPolicy",
    "Verdict",
    "Version",
    "parse_policy",
    "parse_range",
    "parse_version",
    "select_gated",
    "select_tag",
]
