"""``record`` against the ``@dataclass(frozen=True, slots=True)`` it stands for: the same
equality, hash, repr, pickling, ``replace`` and frozen guard, for classes of any shape."""

from __future__ import annotations

import dataclasses
import math
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagebot.records import record


def twins(
    shape: str, body: dict[str, Any], annotations: dict[str, str], base: tuple[type, ...] = ()
) -> tuple[type, type]:
    """The same class made by ``record`` and by dataclass, importable here (for pickle)."""
    made = []
    for who, decorate in (("Ours", record), ("Theirs", dataclass(frozen=True, slots=True))):
        name = f"{who}{shape.title().replace('-', '')}"
        namespace = {"__annotations__": dict(annotations), **body, "__module__": __name__}
        namespace["__qualname__"] = name
        globals()[name] = decorate(type(name, base, namespace))
        made.append(globals()[name])
    return made[0], made[1]


SHAPES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "none": ({}, {}),
    "one": ({}, {"a": "object"}),
    "two": ({}, {"a": "object", "b": "object"}),
    "defaults": (
        {"b": 3, "c": field(default_factory=tuple)},
        {"a": "object", "b": "int", "c": "tuple[int, ...]"},
    ),
    "hidden": ({"b": field(default=0, repr=False, compare=False)}, {"a": "object", "b": "object"}),
    "hash-only": ({"b": field(default=0, hash=False)}, {"a": "object", "b": "object"}),
}
VALUES = st.one_of(
    st.integers(), st.text(max_size=5), st.none(), st.floats(), st.tuples(st.integers())
)


@pytest.mark.parametrize("shape", SHAPES)
@given(
    left=st.lists(VALUES, min_size=2, max_size=2), right=st.lists(VALUES, min_size=2, max_size=2)
)
def test_a_record_behaves_as_its_dataclass(shape: str, left: list[Any], right: list[Any]) -> None:
    ours, theirs = twins(shape, *SHAPES[shape])
    count = len(
        [
            f
            for f in dataclasses.fields(theirs)
            if f.init
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
    )
    a, b = ours(*left[:count]), ours(*right[:count])
    x, y = theirs(*left[:count]), theirs(*right[:count])
    assert (a == b) is (x == y) and (a != b) is (x != y)
    assert (a == a) is (x == x)  # noqa: PLR0124 - a NaN field: equal to itself, in a tuple
    assert hash(a) == hash(x) and hash(b) == hash(y)
    assert repr(a).partition("(")[2] == repr(x).partition("(")[2]
    assert repr(a).partition("(")[0] == ours.__qualname__
    assert pickle.loads(pickle.dumps(a)) == a or any(  # noqa: S301 - our own bytes
        isinstance(v, float) and math.isnan(v) for v in left
    )
    assert dataclasses.replace(a) == a or a != a  # noqa: PLR0124 - NaN
    assert a.__eq__(object()) is NotImplemented
    if dataclasses.fields(ours):  # (a class without fields fails otherwise, as dataclass's does)
        with pytest.raises(FrozenInstanceError):
            a.a = 1  # type: ignore[attr-defined]
    assert not hasattr(a, "__dict__")


def test_records_of_different_classes_are_never_equal() -> None:
    first, _ = twins("first", {}, {"a": "int"})
    second, _ = twins("second", {}, {"a": "int"})
    assert first(1) != second(1)
    assert first(1) == first(1) and {first(1): "x"}[first(1)] == "x"


def test_a_subclass_compares_its_own_fields() -> None:
    base, _ = twins("base", {}, {"a": "int"})
    child = record(
        type("Child", (base,), {"__annotations__": {"b": "int"}, "__module__": __name__})
    )
    assert child(1, 2) != child(1, 3)
    assert repr(child(1, 2)) == "Child(a=1, b=2)"
    assert base(1) != child(1, 2)


def test_a_recursive_value_shows_itself_as_dots() -> None:
    ours, _ = twins("listed", {}, {"a": "list[object]"})
    inner: list[object] = []
    value = ours(inner)
    inner.append(value)
    assert repr(value) == "OursListed(a=[...])"


def test_methods_a_class_writes_itself_are_kept() -> None:
    class Own:  # noqa: PLW1641 - record gives it one
        a: int

        def __repr__(self) -> str:
            return "mine"

        def __eq__(self, other: object) -> bool:
            return True

    own = record(Own)
    assert repr(own(1)) == "mine"
    assert own(1) == own(2)
    assert hash(own(1)) == hash((1,))  # Python's None for a class writing __eq__ is replaced
