"""The one "nothing else changed" check that both the rewriter and the annotation editor use."""

from __future__ import annotations

import pytest

from imagebot.manifest.compose import compose_documents
from imagebot.manifest.verify import Difference, first_difference

ANCHORED = "a: &x {k: v}\nb: *x\n"


def difference(old: str, new: str) -> Difference | None:
    return first_difference(compose_documents(old), compose_documents(new))


def test_an_alias_turned_into_an_equal_copy_is_a_difference() -> None:
    """The annotation editor's own check compared shapes, so an alias that became a copy with
    the same content passed it; the rewriter's refused it. The stricter one is the one left."""
    found = difference(ANCHORED, "a: &x {k: v}\nb: {k: v}\n")
    assert found is not None and found.why == "an alias now points elsewhere"


@pytest.mark.parametrize(
    ("new", "why"),
    [
        pytest.param("a: &x {k: w}\nb: *x\n", "'v' became 'w'", id="value"),
        pytest.param("a: &x {k: v, j: 1}\nb: *x\n", "a collection changed size", id="size"),
        pytest.param("a: &x {k: !!str v}\nb: *x\n", None, id="explicit-str-is-the-same-tag"),
        pytest.param("a: &x [k, v]\nb: *x\n", "a node changed kind", id="kind"),
        pytest.param("a: &x {k: 1}\nb: *x\n", "a tag changed from", id="tag"),
    ],
)
def test_any_other_change_is_named(new: str, why: str | None) -> None:
    found = difference(ANCHORED, new)
    if why is None:
        assert found is None
    else:
        assert found is not None and found.why.startswith(why)


def test_documents_added_or_removed_are_a_difference_without_a_line() -> None:
    assert difference("a: 1\n", "a: 1\n---\nb: 2\n") == Difference(
        None, "the number of documents changed"
    )


def test_every_document_is_compared_not_only_the_edited_one() -> None:
    found = difference("a: 1\n---\nb: 2\n", "a: 1\n---\nb: 3\n")
    assert found == Difference(3, "'2' became '3'")


def test_an_edited_scalar_must_read_as_its_new_string() -> None:
    before = compose_documents("image: nginx:1.0\n")
    scalar = before[0].value[0][1]
    edited = {id(scalar): "nginx:1.1"}
    after_ok = compose_documents("image: nginx:1.1\n")
    after_number = compose_documents("image: 1.1\n")
    assert first_difference(before, after_ok, edited=edited) is None
    found = first_difference(before, after_number, edited=edited)
    assert found is not None and found.why.startswith("the new value reads as '1.1'")


def test_a_skipped_entry_is_left_out_on_both_sides() -> None:
    before = compose_documents("metadata:\n  name: web\nspec: {}\n")
    metadata = before[0].value[0][1]
    after = compose_documents("metadata:\n  name: web\n  annotations: {a: b}\nspec: {}\n")
    assert first_difference(before, after) is not None
    assert first_difference(before, after, skipped={id(metadata): "annotations"}) is None
