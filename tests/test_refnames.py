"""Branch names follow git's rules: the pure rules, held to ``git check-ref-format --branch``.

The property tests start git as the oracle, so they are in the rig lane; the hand-written cases
and the sanitiser's own properties run in the fast lane.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagebot.config import GitSettings
from imagebot.errors import ConfigError
from imagebot.gitrepo import check_git_templates
from imagebot.refnames import MAX_BRANCH_LENGTH, branch_problem, check_branch, sanitize_branch
from tests.lane_support import examples

# Characters that matter to git's rules, and a few that do not; NUL cannot be on a command line.
_TRICKY = "./@{}-~^:?*[\\ \t\x01\x1f\x7fHEADlockab/é"
names = st.text(alphabet=st.sampled_from(_TRICKY), max_size=14) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


def git_accepts(name: str) -> bool:
    """The oracle: does ``git check-ref-format --branch`` accept ``name``, outside any repo?"""
    git = shutil.which("git")
    assert git is not None
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": "/", "LC_ALL": "C"}
    proc = subprocess.run(
        [git, "check-ref-format", "--branch", name],
        cwd="/",
        env=env,
        capture_output=True,
        check=False,
        timeout=30,
    )
    return proc.returncode == 0


BAD = [
    "",
    "HEAD",
    "@",
    "-x",
    "-",
    "../../x",
    "a..b",
    "a.lock",
    "x/a.lock/b",
    "@{",
    "a@{b",
    "a\x01b",
    "a\x7fb",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a/",
    "a.",
    "a//b",
    "/a",
    ".a",
    "x/.a",
]
GOOD = [
    "main",
    "imagebot/flask-1.9.0",
    "a@b",
    "x@",
    "@x",
    "x/HEAD",
    "HEAD/x",
    "a.LOCK",
    "é/ü",
    "a-",
]


@pytest.mark.parametrize("name", BAD)
def test_names_git_refuses_are_refused_with_a_reason(name: str) -> None:
    problem = branch_problem(name)
    assert problem
    with pytest.raises(ConfigError, match=r"git\.pushBranch: .* is not a valid Git branch name"):
        check_branch(name, setting="git.pushBranch")


@pytest.mark.parametrize("name", GOOD)
def test_names_git_accepts_are_accepted(name: str) -> None:
    assert branch_problem(name) is None
    assert check_branch(name, setting="git.branch") == name


@pytest.mark.rig
@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", [name for name in BAD + GOOD if name != "@"])
def test_the_hand_written_cases_agree_with_git(name: str) -> None:
    assert (branch_problem(name) is None) == git_accepts(name)


@pytest.mark.rig
@pytest.mark.timeout(300)
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names)
def test_the_rules_agree_with_git_check_ref_format(name: str) -> None:
    # "@" alone is git's name for HEAD inside a repository: refused here on purpose.
    if name != "@":
        assert (branch_problem(name) is None) == git_accepts(name), branch_problem(name)


@pytest.mark.rig
@pytest.mark.timeout(300)
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names | st.text(alphabet=st.sampled_from(_TRICKY), min_size=190, max_size=260))
def test_a_sanitised_name_is_one_git_accepts_or_nothing(text: str) -> None:
    name = sanitize_branch(text)
    assert name == "" or git_accepts(name)


@settings(max_examples=examples(500), deadline=None)
@given(names | st.text(alphabet=st.sampled_from(_TRICKY), min_size=190, max_size=400))
def test_a_sanitised_name_keeps_every_rule_and_the_length_limit(text: str) -> None:
    name = sanitize_branch(text)
    assert name == "" or branch_problem(name) is None
    assert len(name) <= MAX_BRANCH_LENGTH
    assert sanitize_branch(name) == name  # a valid name is left as it is


@pytest.mark.parametrize("text", ["HEAD", "@", "", "...", "/./", "-/-", "@{"])
def test_texts_with_no_branch_in_them_sanitise_to_nothing(text: str) -> None:
    assert sanitize_branch(text) == ""


@pytest.mark.parametrize(
    ("field", "setting"),
    [("push_branch", "git.pushBranch"), ("branch", "git.branch")],
)
@pytest.mark.parametrize("name", ["../../x", "HEAD", "-x", "a.lock", "a//b", ""])
def test_a_bad_configured_branch_is_a_config_error_before_any_work(
    field: str, setting: str, name: str
) -> None:
    git = GitSettings(**{field: name})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=rf"{setting}: .* is not a valid Git branch name") as info:
        check_git_templates(git)
    assert info.value.permanent


def test_a_push_branch_template_is_checked_once_rendered() -> None:
    check_git_templates(GitSettings(push_branch="imagebot/{changes:{name}}"))
