"""Hostile patterns and tag lists (issue 13): regex and glob policies run in linear time.

Python's ``re`` backtracks: ``regex:^(a+)+$`` against a pushed tag like ``aaaa...a-`` hung a whole
run, and a glob with many ``*`` against a long tag did the same. Policies now run on RE2 and the
same patterns finish at once. Every case carries a generous time limit (a hang fails the test;
no test asserts a timing); properties check the answers against slow references on small inputs.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.errors import PolicyError
from imagebot.model import TagInfo
from imagebot.policy import parse_policy, select_tag
from imagebot.policy.glob import compile_glob
from imagebot.policy.regex import _GoRegex, compile_regex, re2_tester

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EVIL = "a" * 5000 + "-"


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(r"^(a+)+$", id="nested-plus"),
        pytest.param(r"^(a*)*$", id="nested-star"),
        pytest.param(r"^(a|a)*$", id="same-alternatives"),
        pytest.param(r"^(a|aa)+$", id="overlapping-alternatives"),
        pytest.param(r"^(a+|a+a+)+b", id="nested-alternatives"),
        pytest.param(r"^" + ".*" * 60 + "b$", id="many-dot-stars"),
        pytest.param(r"^(.*a){20}$", id="repeated-group"),
        pytest.param(r"^(?:a{1,30}){1,30}-b$", id="counted-repeats"),
    ],
)
def test_catastrophic_regexes_answer_at_once(pattern: str) -> None:
    regex = compile_regex(pattern, "regex policy")
    assert regex.search(EVIL) is None
    for n in (1, 10, 127):
        assert regex.search("a" * n + "-") is None


@pytest.mark.timeout(20)
def test_the_campaigns_regex_policy_chooses_among_long_tags() -> None:
    evil = [TagInfo("a" * n + "-", T0 + n * timedelta(seconds=1)) for n in range(1, 128)]
    good = TagInfo("a" * 40, T0)
    decision = select_tag(parse_policy("regex:^(a+)+$"), [*evil, good])
    assert decision.chosen == good


@pytest.mark.timeout(20)
def test_a_filter_with_nested_quantifiers_answers_at_once() -> None:
    policy = parse_policy("numerical:asc", filter_pattern=r"^(a+)+-(?P<n>\d+)$", extract="$n")
    tags = [TagInfo("a" * 120 + "-7"), TagInfo("a" * 126 + "x"), TagInfo("a" * 60 + "-12")]
    assert select_tag(policy, tags).chosen == tags[2]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("glob", "tag", "matches"),
    [
        pytest.param("*a" * 60 + "*b", "a" * 127, False, id="many-stars-miss"),
        pytest.param("*a" * 60 + "*b", "a" * 126 + "b", True, id="many-stars-hit"),
        pytest.param("*?" * 100 + "z", "x" * 126 + "z", True, id="star-question"),
        pytest.param("*" * 5000 + "x", "y" * 127, False, id="star-run"),
        pytest.param("*[ab]*[ab]" * 40 + "-", "ab" * 63 + "a", False, id="star-classes"),
    ],
)
def test_globs_with_many_stars_answer_at_once(glob: str, tag: str, matches: bool) -> None:
    assert (compile_glob(glob)(tag) is not None) is matches
    assert compile_glob(glob)("a" * 5000 + "!") is None


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "policy",
    ["regex:^(a+)+$", "regex:(a|a)*-$", "glob:" + "*a" * 30 + "*-", "glob:*-*-*-*-*-*-*-x"],
)
def test_a_huge_tag_list_under_a_hostile_pattern_finishes(policy: str) -> None:
    tags = [
        TagInfo("a" * (1 + n % 120) + f"-{n}", T0 + n * timedelta(seconds=1)) for n in range(20_000)
    ]
    decision = select_tag(parse_policy(policy), tags)
    assert decision.reason


def test_regexes_run_on_re2_and_compile_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    """RE2 logs parse errors to stderr unless told not to; imagebot prints its own message."""
    assert type(compile_regex("a", "filter")).__module__.startswith("re2")
    with pytest.raises(PolicyError, match=r"invalid repetition size: \{1,1000\} at position"):
        compile_regex("(a{1,1000}){1,1000}", "filter")  # Python accepts it: RE2's reason stands
    with pytest.raises(PolicyError, match="unterminated subpattern at position 1"):
        compile_regex("x(abc", "filter")
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        pytest.param(r"a\Cb", r"the escape \C at position 1", id="any-byte"),
        pytest.param(r"(?=a)", "lookahead '(?=' at position 0", id="lookahead"),
        pytest.param(r"(a)\1", r"the escape \1 at position 3", id="backreference"),
        pytest.param(r"[", "unterminated character set at position 0", id="open-class"),
        pytest.param("a" * 10 + "{1001}", "repeat count over 1000", id="huge-repeat"),
    ],
)
def test_go_dialect_refusals_keep_their_positions(pattern: str, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        compile_regex(pattern, "regex policy")


def test_what_go_accepts_and_python_did_not_now_compiles() -> None:
    assert compile_regex(r"^\pN+$", "filter").search("123") is not None
    assert compile_regex(r"^(?U)a+$", "filter").search("aaa") is not None


@pytest.mark.rig
def test_policy_select_does_not_import_re2_for_a_semver_policy() -> None:
    """RE2 is imported lazily: ``imagebot policy select semver:*`` starts without it."""
    code = (
        "import sys\nfrom imagebot.cli import main\n"
        "try:\n    main(['policy', 'select', 'semver:*'])\nexcept SystemExit:\n    pass\n"
        "print('RE2', 're2' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input="1.0.0\n", capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["1.0.0", "RE2 False"]


# --- properties against slow references ------------------------------------------------------

_ATOMS = st.sampled_from(["a", "b", "-", ".", "[ab]", "[^a]", r"\d", "1", "(a|b)", "(ab)", "()"])
_QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{1,2}", "{2}", "*?", "+?"])


@st.composite
def small_regexes(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(_ATOMS, _QUANTIFIERS), min_size=1, max_size=6))
    body = "".join(atom + q for atom, q in pieces)
    if draw(st.booleans()):
        body = "(" + body + ")" + draw(_QUANTIFIERS)
    if draw(st.booleans()):
        body += "|" + draw(_ATOMS)
    return draw(st.sampled_from(["", "^"])) + body + draw(st.sampled_from(["", "$"]))


@pytest.mark.timeout(120)
@settings(max_examples=400, deadline=None)
@given(pattern=small_regexes(), text=st.text(alphabet="ab1-x", max_size=12))
def test_property_re2_finds_what_pythons_re_finds(pattern: str, text: str) -> None:
    """On small inputs Python's ``re`` (the old engine) is a fine reference: same answer, same
    groups."""
    reference = re.compile(_GoRegex(pattern, "x").translate(), re.ASCII).search(text)
    found = compile_regex(pattern, "regex policy").search(text)
    assert (found is None) == (reference is None)
    if found is not None and reference is not None:
        assert found.group(0) == reference.group(0)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=None)
@given(pattern=small_regexes(), text=st.text(alphabet="ab1-x", max_size=12), whole=st.booleans())
def test_property_the_fast_tester_and_its_fallback_agree(
    pattern: str, text: str, whole: bool
) -> None:
    """``re2_tester`` calls RE2's compiled program directly where the build exposes it; on a
    build that does not, the public API answers. Both must give the same yes/no."""
    import re2

    fast = re2_tester(pattern, whole=whole)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(re2, "_re2", None)
        fallback = re2_tester(pattern, whole=whole)
    assert fast is not fallback
    assert bool(fast(text)) == bool(fallback(text))


_GLOB_PIECES = st.sampled_from(["a", "b", "-", "*", "?", "[ab]", "[!a]", "[a-c]", "**"])


@pytest.mark.timeout(120)
@settings(max_examples=400, deadline=None)
@given(
    glob=st.lists(_GLOB_PIECES, min_size=1, max_size=8).map("".join),
    tag=st.text(alphabet="abc-", max_size=12),
)
def test_property_globs_match_as_fnmatch_does(glob: str, tag: str) -> None:
    """``fnmatch.fnmatchcase`` reads ``*``, ``?``, ``[...]`` and ``[!...]`` as imagebot does."""
    assert (compile_glob(glob)(tag) is not None) == fnmatch.fnmatchcase(tag, glob)


@pytest.mark.timeout(120)
@settings(max_examples=400, deadline=None)
@given(
    glob=st.lists(
        st.sampled_from(["a", "ab", "b", "-", "*", "**", "aa"]), min_size=1, max_size=9
    ).map("".join),
    tag=st.text(alphabet="ab-", max_size=14),
)
def test_property_star_only_globs_match_as_fnmatch_does(glob: str, tag: str) -> None:
    """Globs of text and ``*`` take the piece-finding path, the rest RE2: both agree with
    fnmatch."""
    assert (compile_glob(glob)(tag) is not None) == fnmatch.fnmatchcase(tag, glob)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=None)
@given(
    times=st.dictionaries(st.integers(0, 40), st.integers(0, 20), max_size=15),
    current=st.integers(0, 40),
    current_hours=st.integers(0, 20),
    listed=st.booleans(),
)
def test_property_selection_with_a_known_current_time_never_goes_older(
    times: dict[int, int], current: int, current_hours: int, listed: bool
) -> None:
    tags = [TagInfo(f"v{n}", T0 + h * timedelta(hours=1)) for n, h in times.items()]
    when = T0 + current_hours * timedelta(hours=1)
    tags = [t for t in tags if t.tag != f"v{current}"]
    if listed:
        tags.append(TagInfo(f"v{current}", when))
    decision = select_tag(
        parse_policy("regex:^v"), tags, current=f"v{current}", current_created=when
    )
    if decision.chosen is not None:
        assert decision.chosen.created is not None and decision.chosen.created >= when
