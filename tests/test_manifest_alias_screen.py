"""The alias screen (``guard.may_alias``) that lets most files skip the cycle-and-bomb walk.

Skipping is only safe if no text that holds an alias is ever screened out, so the property runs
ruamel's own parser over texts drawn from YAML's indicator characters: whenever it reads an alias
event, the screen must have said "may alias". The hand-made cases pin the point of the screen:
a ``*`` inside a plain scalar (``semver:*``, the policy in most automated files) is no alias.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent

from imagebot.manifest.guard import may_alias

PIECES = st.sampled_from(
    [" ", "  ", "\t", "\n", "- ", ": ", ":", "[", "]", "{", "}", ", ", ",", "*", "&", "a", "b",
     "x1", '"', "'", "<<", "? ", "!!str ", "#", "semver:*", "|", ">"]
)  # fmt: skip


def aliases_in(text: str) -> bool | None:
    """Whether ruamel's parser reads an alias in ``text``; None when it refuses the text."""
    try:
        return any(isinstance(e, AliasEvent) for e in YAML(typ="rt").parse(io.StringIO(text)))
    except (YAMLError, ValueError, TypeError):
        return None


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=24).map("".join))
def test_no_text_with_an_alias_is_screened_out(text: str) -> None:
    if aliases_in(text):
        assert may_alias(text), text


@pytest.mark.parametrize(
    ("text", "alias"),
    [
        ("imagebot.io/tag.app: semver:*\n", False),
        ('tag: "glob:develop-v*"\n', False),
        ("a: b*c\n", False),
        ("a: &x 1\nb: *x\n", True),
        ("- *x\n", True),
        ("[*a, *b]\n", True),
        ('{"a":*b}\n', True),
        ("<<: *base\n", True),
        ("key:\t*y\n", True),
    ],
)
def test_the_screen_on_hand_made_texts(text: str, alias: bool) -> None:
    assert may_alias(text) is alias
    assert aliases_in(text) in (alias, None)


def libyaml_aliases_in(text: str) -> bool | None:
    """Whether libyaml (through ruamel's CParser) reads an alias; None when it refuses."""
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]

    parser = CParser(text)
    try:
        found = False
        while parser.check_event():
            event = parser.get_event()  # always taken: check_event repeats until it is
            found = found or isinstance(event, AliasEvent)
        return found
    except (YAMLError, ValueError, TypeError):
        return None
    finally:
        parser.dispose()


LIBYAML_PIECES = st.sampled_from(
    [" ", "\n", "- ", ": ", "[", "]", "{", "}", ", ", "*", "&", "a", "x-1_", '"', "'", "*/5",
     "<<", "é", "*é", "*\"", "semver:*"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(LIBYAML_PIECES, max_size=24).map("".join))
def test_no_text_libyaml_reads_an_alias_in_is_screened_out(text: str) -> None:
    if libyaml_aliases_in(text):
        assert may_alias(text, libyaml=True), text


@pytest.mark.parametrize(
    ("text", "alias"),
    [
        ('schedule: "*/30 * * * *"\n', False),  # a CronJob's: no anchor name starts with / or "
        ("a: &x-1 1\nb: *x-1\n", True),
        ("[*a_b]\n", True),
    ],
)
def test_the_narrower_screen_for_what_libyaml_composed(text: str, alias: bool) -> None:
    assert may_alias(text, libyaml=True) is alias
    assert libyaml_aliases_in(text) in (alias, None)
    assert may_alias(text)  # the general screen keeps the quote and the slash for ruamel's parser
