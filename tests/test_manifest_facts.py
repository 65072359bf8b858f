"""The scan's facts spare the rewrite composing the old text again, and change no answer.

``rewrite_text(text, file, updates, facts)`` splices at the spans the scan recorded and composes
only the new text; without facts it composes both and pairs the graphs (``first_difference``).
Every drawn manifest of the rewriter's property tests, every fixture file and the hand-made cases
below must give the same new text, or the same refusal, both ways; and where the composing way
succeeds the facts way must succeed on its own (it falls back only where the answer is a
refusal). The shape digest itself is checked against ``first_difference`` on drawn graphs with
anchors and aliases.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from imagebot.errors import RewriteError
from imagebot.manifest import Update, plan_set_image, rewrite_text, scan_text
from imagebot.manifest.compose import compose_documents
from imagebot.manifest.facts import FileFacts, shape
from imagebot.manifest.rewrite_facts import _Edit, _same_shape, _same_token, rewrite_with_facts
from imagebot.manifest.scan import scan_file
from imagebot.manifest.splice import apply_splices, splice_span
from imagebot.manifest.verify import first_difference
from imagebot.model import Target
from imagebot.refs import parse_reference
from tests.lane_support import examples
from tests.test_manifest_properties import (
    FLUX_OBJECTS,
    MANIFESTS,
    MARKER,
    OTHERS,
    TAGS,
    TARGET,
    TRICKY_TAGS,
    Manifest,
    draw_tags,
    render,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def facts_of(text: str, file: str) -> FileFacts | None:
    return scan_file(text, file, with_facts=True).facts


def composing_way(text: str, file: str, updates: list[Update]) -> str:
    try:
        return rewrite_text(text, file, updates)
    except RewriteError as error:
        return f"refused: {error}"


def facts_way(text: str, file: str, updates: list[Update], facts: FileFacts | None) -> str:
    try:
        return rewrite_text(text, file, updates, facts)
    except RewriteError as error:
        return f"refused: {error}"


def assert_same_both_ways(text: str, file: str, updates: list[Update]) -> str:
    """The answer of both ways (equal), after checking the facts way needed no fallback."""
    expected = composing_way(text, file, updates)
    facts = facts_of(text, file)
    assert facts_way(text, file, updates, facts) == expected
    alone = rewrite_with_facts(text, file, updates, facts) if facts is not None else None
    if expected.startswith("refused: "):
        assert alone is None
    elif updates:
        assert alone == expected
    return expected


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MANIFESTS, st.data())
def test_drawn_manifests_give_the_same_text_both_ways(
    manifest: Manifest, data: st.DataObject
) -> None:
    old_tags = draw_tags(manifest, data)
    old = render(manifest, old_tags, data.draw(TAGS))
    targets, problems = scan_text(old, "m.yaml")
    assert not problems
    # Each target its own new tag, some the same as now, some that must be quoted.
    new_tags = data.draw(st.lists(st.one_of(TRICKY_TAGS, st.sampled_from(old_tags))))
    updates = [Update(t, tag) for t, tag in zip(targets, new_tags, strict=False)]
    new = assert_same_both_ways(old, "m.yaml", updates)
    assert not new.startswith("refused: ")


@settings(max_examples=examples(150), deadline=None)
@given(
    uses=st.lists(st.sampled_from(["alias", "merge", "own", "other"]), min_size=1, max_size=5),
    shared_elsewhere=st.booleans(),
    old_tag=TAGS,
    new_tag=TAGS,
    some=st.booleans(),
)
def test_anchored_images_give_the_same_answer_both_ways(
    uses: list[str], shared_elsewhere: bool, old_tag: str, new_tag: str, some: bool
) -> None:
    """An anchored image, aliased, merged, copied or shared with ``status``: rewritten alike,
    or refused alike (``some`` updates only the first target: the other uses stay)."""
    elsewhere = "status: {image: *img}\n" if shared_elsewhere else ""
    containers = [f"  - &first\n    name: c0\n    image: &img {TARGET}:{old_tag}\n"]
    for index, use in enumerate(uses, start=1):
        value = {"alias": "*img", "own": f"{TARGET}:{old_tag}", "other": f"{OTHERS[0]}:x"}.get(use)
        merge = "<<: *first\n    " if use == "merge" else ""
        image = f"    image: {value}\n" if value else ""
        containers.append(f"  - {merge}name: c{index}\n{image}")
    old = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + "".join(containers) + elsewhere
    targets, _ = scan_text(old, "m.yaml")
    updates, _ = plan_set_image(targets, parse_reference(TARGET), new_tag)
    assert_same_both_ways(old, "m.yaml", updates[:1] if some else updates)


@settings(max_examples=examples(150), deadline=None)
@given(
    old_tags=st.lists(TRICKY_TAGS, min_size=1, max_size=3),
    new_tag=TRICKY_TAGS,
    quote=st.sampled_from(["", "'", '"']),
    gap=st.sampled_from([" ", "  ", "\t", " \t "]),
)
def test_setter_marked_values_give_the_same_answer_both_ways(
    old_tags: list[str], new_tag: str, quote: str, gap: str
) -> None:
    assume(all(tag != "null" or quote for tag in old_tags))
    blocks = [
        f"    c{index}:\n      tag: {quote}{tag}{quote}{gap}{MARKER}\n"
        for index, tag in enumerate(old_tags)
    ]
    old = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\n"
        "spec:\n  values:\n" + "".join(blocks) + FLUX_OBJECTS
    )
    targets, _ = scan_text(old, "release.yaml")
    updates, _ = plan_set_image(targets, parse_reference(TARGET), new_tag)
    assert_same_both_ways(old, "release.yaml", updates)


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


@pytest.mark.parametrize("new", ["9.9.9", "1.10", "sha256:" + "a" * 64])
def test_every_fixture_file_gives_the_same_answer_both_ways(new: str) -> None:
    tried = 0
    for path in fixture_files():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        targets = list(scan_file(text, path.name).targets)
        if not targets:
            continue
        tried += 1
        updates = [
            Update(t, None, new) if new.startswith("sha256:") else Update(t, new) for t in targets
        ]
        assert_same_both_ways(text, path.name, updates)
    assert tried > 20


def updates_to(text: str, tag: str, file: str = "m.yaml") -> list[Update]:
    return [Update(t, tag) for t in scan_text(text, file)[0]]


POD = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"

HAND_MADE = {
    "alias used by two targets": POD
    + "  - {name: a, image: &i nginx:1.0}\n  - {name: b, image: *i}\n",
    "anchor also used by status": POD + "  - {name: a, image: &i nginx:1.0}\nstatus: {seen: *i}\n",
    "merged container": POD + "  - &c {name: a, image: nginx:1.0}\n  - {<<: *c, name: b}\n",
    "flow mapping with a colon": POD + "  - {name: a, image: nginx:1.0, x: a:b}\n",
    "libyaml refuses, ruamel reads": POD + "  - {name: a, image: nginx:1.0}\n  - {x: a:b}\n",
    "three documents": f"{POD}  - name: a\n    image: nginx:1.0\n---\n{POD}  - name: b\n"
    "    image: 'redis:6'\n---\n# only a comment\n",
    "repeated key in another document": f"{POD}  - name: a\n    image: nginx:1.0\n---\n"
    f"{POD}  - name: b\n    image: redis:6\n    image: redis:7\n",
    "repeated key beside the image": f"{POD}  - name: a\n    image: nginx:1.0\n  - name: a\n"
    "    env: {A: 1, A: 2}\n",
    "byte order mark": "\ufeff" + POD + '  - name: a\n    image: "nginx:1.0"\n',
    "CRLF": (POD + "  - name: a\n    image: nginx:1.0   # pinned\n").replace("\n", "\r\n"),
    "block scalar": POD + "  - name: a\n    image: >-\n      nginx:1.0\n",
    "image over two lines": POD + '  - name: a\n    image: "nginx:\n      1.0"\n',
    "tagged": POD + "  - name: a\n    image: !!str nginx:1.0\n",
    "anchor and tag": POD
    + "  - name: a\n    image: &i !!str nginx:1.0\n  - {name: b, image: *i}\n",
    "kustomize": "images:\n- name: nginx\n  newTag: '1.0'\n- {name: redis, newTag: 6}\n",
}


@pytest.mark.parametrize("case", sorted(HAND_MADE))
@pytest.mark.parametrize("tag", ["2.0", "1.0", "yes", "1.10"])
def test_hand_made_cases_give_the_same_answer_both_ways(case: str, tag: str) -> None:
    text = HAND_MADE[case]
    file = "kustomization.yaml" if case == "kustomize" else "m.yaml"
    assert_same_both_ways(text, file, updates_to(text, tag, file))


def test_a_repeated_key_refuses_alike_and_the_other_document_is_still_rewritten() -> None:
    text = HAND_MADE["repeated key in another document"]
    [target] = scan_text(text, "m.yaml")[0]  # the second document holds no target
    assert target.location.document == 0
    assert "nginx:2.0" in assert_same_both_ways(text, "m.yaml", updates_to(text, "2.0"))


def test_facts_of_another_text_are_not_used() -> None:
    """A retry rewrites fresher text: the facts of the old one must not place the splice."""
    old = POD + "  - name: a\n    image: nginx:1.0\n"
    fresh = "# a comment pushed by someone else\n" + old
    facts = facts_of(old, "m.yaml")
    assert facts is not None
    updates = updates_to(old, "2.0")
    assert rewrite_with_facts(fresh, "m.yaml", updates, facts) is None
    assert rewrite_text(fresh, "m.yaml", updates, facts) == fresh.replace("1.0", "2.0")


def test_a_shape_that_differs_is_worded_by_the_composing_way() -> None:
    """Facts whose shape does not match (as if the splice had changed more than the value):
    the facts way gives up and the composing way answers as it always did. (In a flow mapping,
    where a plain value is not proven the same token, so the shape is what decides.)"""
    text = POD + "  - {name: a, image: nginx:1.0}\n"
    facts = facts_of(text, "m.yaml")
    assert facts is not None
    wrong = FileFacts(facts.text, bytes(16), facts.slots)
    updates = updates_to(text, "2.0")
    assert rewrite_with_facts(text, "m.yaml", updates, wrong) is None
    assert rewrite_text(text, "m.yaml", updates, wrong) == text.replace("1.0", "2.0")


def test_a_target_without_facts_goes_the_composing_way() -> None:
    text = POD + "  - name: a\n    image: nginx:1.0\n"
    facts = facts_of(text, "m.yaml")
    assert facts is not None
    [target] = scan_text(text, "m.yaml")[0]
    moved = Target(**{**_fields(target), "yaml_path": ("spec", "containers", 0, "name")})
    assert rewrite_with_facts(text, "m.yaml", [Update(moved, "2.0")], facts) is None
    with pytest.raises(RewriteError, match="now has 'a' there"):
        rewrite_text(text, "m.yaml", [Update(moved, "2.0")], facts)


def _fields(target: Target) -> dict[str, object]:
    return {name: getattr(target, name) for name in target.__dataclass_fields__}


# Drawn graphs: top-level keys whose values are scalars, flow sequences, or aliases of an
# earlier anchored value; the second text redraws some values. Equal shapes must mean no
# difference for ``first_difference`` and the other way round.
SCALARS = st.sampled_from(["a", "1", "'1'", '"a"', "null", "~", "x y", "!!str 1", "b"])
VALUES = st.one_of(
    SCALARS.map(lambda s: ("scalar", s)),
    st.lists(SCALARS, max_size=3).map(lambda items: ("seq", "[" + ", ".join(items) + "]")),
    st.integers(0, 5).map(lambda k: ("alias", str(k))),
)


def _render(values: list[tuple[str, str]]) -> str:
    lines = []
    for index, (kind, text) in enumerate(values):
        if kind == "alias":
            earlier = [i for i, (k, _) in enumerate(values[:index]) if k != "alias"]
            if earlier:
                lines.append(f"k{index}: *a{earlier[int(text) % len(earlier)]}")
                continue
            text = "a"
        lines.append(f"k{index}: &a{index} {text}")
    return "\n".join(lines) + "\n"


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(VALUES, min_size=1, max_size=6),
    st.dictionaries(st.integers(0, 5), VALUES, max_size=3),
)
@example([("scalar", "1")], {0: ("scalar", "'1'")})  # same value, another tag
@example([("scalar", "'1'")], {0: ("scalar", "!!str 1")})  # same value and tag
@example([("seq", "[a]"), ("alias", "0")], {1: ("seq", "[a]")})  # an alias become a copy
@example([("seq", "[a]"), ("seq", "[b]"), ("alias", "0")], {2: ("alias", "1")})  # elsewhere
@example([("seq", "[a, b]")], {0: ("seq", "[a]")})  # a collection of another size
def test_equal_shapes_mean_no_difference(
    values: list[tuple[str, str]], redrawn: dict[int, tuple[str, str]]
) -> None:
    old_text = _render(values)
    new_values = [redrawn.get(index, value) for index, value in enumerate(values)]
    new_text = _render(new_values)
    old, new = compose_documents(old_text), compose_documents(new_text)
    same = shape(old)[0] == shape(new)[0]
    assert same == (first_difference(old, new) is None), (old_text, new_text)


def test_an_alias_turned_copy_changes_the_shape() -> None:
    old = compose_documents("a: &x [1]\nb: *x\n")
    new = compose_documents("a: &x [1]\nb: [1]\n")
    assert shape(old)[0] != shape(new)[0]
    assert first_difference(old, new) is not None


def test_a_target_whose_value_moved_on_is_refused_alike() -> None:
    """A target planned on older text than the facts': the value is not the one it expects."""
    text = POD + "  - name: a\n    image: nginx:1.0\n"
    [target] = scan_text(text, "m.yaml")[0]
    stale = Target(**{**_fields(target), "current_value": "nginx:0.9"})
    refused = assert_same_both_ways(text, "m.yaml", [Update(stale, "2.0")])
    assert "now has 'nginx:1.0' there, not 'nginx:0.9'" in refused


def test_a_target_in_a_document_with_a_repeated_key_is_refused_alike() -> None:
    """The scan leaves such a target out; one planned on the text before the key was repeated
    must still be refused, not spliced at the facts' span."""
    clean = POD + "  - name: a\n    image: nginx:1.0\n"
    repeated = clean + "  - {name: b, name: c}\n"
    [target] = scan_text(clean, "m.yaml")[0]
    assert not scan_text(repeated, "m.yaml")[0]
    facts = facts_of(repeated, "m.yaml")
    assert facts is not None and facts.refused == (0,)
    refused = facts_way(repeated, "m.yaml", [Update(target, "2.0")], facts)
    assert refused == composing_way(repeated, "m.yaml", [Update(target, "2.0")])
    assert "key 'name' appears twice" in refused
    assert rewrite_with_facts(repeated, "m.yaml", [Update(target, "2.0")], facts) is None


@pytest.mark.parametrize("case", sorted(HAND_MADE))
def test_a_scan_finds_the_same_with_facts_as_without(case: str) -> None:
    """The facts' walk also finds the repeated keys: the problems and targets are the same."""
    text = HAND_MADE[case] + "---\n" + HAND_MADE["repeated key in another document"]
    plain, walked = scan_file(text, "m.yaml"), scan_file(text, "m.yaml", with_facts=True)
    assert plain.facts is None and walked.facts is not None
    assert walked == plain.__class__(**{**_fields_of(plain), "facts": walked.facts})
    assert any("appears twice" in problem.message for problem in walked.problems)


def test_fixture_files_scan_the_same_with_facts_as_without() -> None:
    for path in fixture_files():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        plain, walked = scan_file(text, path.name), scan_file(text, path.name, with_facts=True)
        assert walked == plain.__class__(**{**_fields_of(plain), "facts": walked.facts}), path


def _fields_of(scan: object) -> dict[str, object]:
    return {name: getattr(scan, name) for name in scan.__dataclass_fields__}  # type: ignore[attr-defined]


# Values for the same-token proof: reference characters and every character that could end,
# open or escape a token (indicators, quotes, backslash, blanks, a line break).
PROOF_VALUES = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,11}", fullmatch=True),
    st.text(
        alphabet=st.sampled_from("aZ09._/:@+-#,[]{}'\"\\ \t!&*|>?%`\n"), min_size=1, max_size=12
    ),
)
OLD_SCALARS = st.sampled_from(
    ["nginx:1.0", "'nginx:1.0'", '"nginx:1.0"', "'it''s'", '"a\\"b"', "&a nginx:1.0", "!!str 1.0"]
)
LINES = st.sampled_from(
    [
        "  - name: a\n    image: {old}{suffix}\n",
        "  - {{name: a, image: {old}}}\n",
        "  - name: a\n    image:\n      {old}{suffix}\n",
    ]
)


@settings(max_examples=examples(400), deadline=None)
@given(
    line=LINES,
    old=OLD_SCALARS,
    suffix=st.sampled_from(["", "  ", " # c", "\t"]),
    value=PROOF_VALUES,
)
def test_a_proven_same_token_composes_to_the_same_graph(
    line: str, old: str, suffix: str, value: str
) -> None:
    """Where ``_same_token`` spares the compose, composing agrees: the new text's graph is the
    scan's with only the edited value changed (what ``_same_shape`` checks by composing)."""
    text = POD + line.format(old=old, suffix=suffix)
    facts = facts_of(text, "m.yaml")
    assume(facts is not None and facts.slots)
    assert facts is not None
    [slot] = facts.slots
    try:
        splice = splice_span(text, slot.span, value, in_flow=slot.in_flow, where="m.yaml:6")
    except RewriteError:
        return
    edit = _Edit(slot, value, "m.yaml:6")
    if _same_token(text, edit, splice):
        new = apply_splices(text, [splice], "m.yaml")
        # The scan records no shape where it expects a proof: take it here, to compare.
        old_shape, _, _ = shape(compose_documents(text), indexes={slot.visit})
        assert _same_shape(new, old_shape, facts.slots, {slot.visit: edit}), new


def test_the_same_token_proof_covers_the_common_image_line() -> None:
    """The bench's and most repositories' shape: a plain or quoted reference in a block."""
    for old in ("nginx:1.0", "'nginx:1.0'", '"nginx:1.0"'):
        text = POD + f"  - name: a\n    image: {old}  # pinned\n"
        facts = facts_of(text, "m.yaml")
        assert facts is not None
        [slot] = facts.slots
        splice = splice_span(text, slot.span, "nginx:2.0", in_flow=False, where="m.yaml:6")
        assert _same_token(text, _Edit(slot, "nginx:2.0", "m.yaml:6"), splice)
