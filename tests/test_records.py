"""``record`` against the ``@dataclass(frozen=True, slots=True)`` it stands for: the same
equality, hash, repr, pickling, ``replace`` and frozen guard, for classes of any shape."""

from __future__ import annotations

import dataclasses
import inspect
import math
import pickle
import threading
from dataclasses import FrozenInstanceError, InitVar, dataclass, field
from typing import Any, ClassVar

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
    "not-in-init": (
        {"b": field(default=5, init=False), "c": field(default_factory=tuple, init=False)},
        {"a": "object", "b": "int", "c": "tuple[int, ...]"},
    ),
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
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__doc__.partition("(")[2] == theirs.__doc__.partition("(")[2]
    for name in ("b", "c"):
        assert hasattr(a, name) is hasattr(x, name)
        if hasattr(x, name):
            assert repr(getattr(a, name)) == repr(getattr(x, name))  # (NaN is not equal)
    assert ours.__dataclass_params__.frozen and ours.__dataclass_params__.init
    if dataclasses.fields(ours):  # (a class without fields fails otherwise, as dataclass's does)
        with pytest.raises(FrozenInstanceError, match="cannot assign to field 'a'"):
            a.a = 1  # type: ignore[attr-defined]
        with pytest.raises(FrozenInstanceError, match="cannot delete field 'a'"):
            del a.a  # type: ignore[attr-defined]
    assert not hasattr(a, "__dict__")


def test_a_field_outside_init_without_a_default_stays_unset_as_with_dataclass() -> None:
    ours, theirs = twins("unset", {"b": field(init=False)}, {"a": "int", "b": "int"})
    assert not hasattr(ours(1), "b") and not hasattr(theirs(1), "b")
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))


def test_a_default_before_a_field_without_one_is_refused_as_dataclass_does() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        twins("misordered", {"a": 1}, {"a": "int", "b": "int"})


# dataclass reads a text annotation's ClassVar and InitVar through the module's own names.
_READ_THROUGH = (ClassVar, InitVar)


class _Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("negative")


@pytest.mark.parametrize(
    ("shape", "body", "annotations"),
    [
        pytest.param("post-init", {"__post_init__": _Checked.__post_init__}, {"a": "int"}),
        pytest.param("class-var", {"limit": 3}, {"a": "int", "limit": "ClassVar[int]"}),
        pytest.param("init-var", {}, {"a": "int", "scale": "InitVar[int]"}),
        pytest.param("keyword", {"b": field(default=0, kw_only=True)}, {"a": "int", "b": "int"}),
    ],
)
def test_classes_past_the_plain_shape_are_made_as_dataclass_makes_them(
    shape: str, body: dict[str, Any], annotations: dict[str, str]
) -> None:
    ours, theirs = twins(shape, body, annotations)
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    arguments = (1, 2) if shape == "init-var" else (1,)
    assert repr(ours(*arguments)).partition("(")[2] == repr(theirs(*arguments)).partition("(")[2]
    with pytest.raises(FrozenInstanceError):
        ours(*arguments).a = 2  # type: ignore[attr-defined]
    if shape == "post-init":
        with pytest.raises(ValueError, match="negative"):
            ours(-1)


def test_a_record_is_a_frozen_base_to_dataclass_and_to_record() -> None:
    base, _ = twins("frozen-base", {}, {"a": "int"})
    theirs = dataclass(frozen=True)(type("Theirs", (base,), {"__annotations__": {"b": "int"}}))
    ours = record(type("OursChild", (base,), {"__annotations__": {"b": "int"}}))
    for child in (theirs, ours):
        value = child(1, 2)
        assert (value.a, value.b) == (1, 2)
        with pytest.raises(FrozenInstanceError):
            value.b = 3
    with pytest.raises(TypeError, match="non-frozen"):
        dataclass(type("Thawed", (base,), {"__annotations__": {"b": "int"}}))


def test_a_plain_subclass_may_set_what_is_not_a_field() -> None:
    base, _ = twins("open-base", {}, {"a": "int"})
    child = type("Open", (base,), {})  # no __slots__: instances have a __dict__
    value = child(1)
    value.note = "kept"
    assert value.note == "kept"
    del value.note
    with pytest.raises(FrozenInstanceError):
        value.a = 2


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


def test_records_share_their_methods_but_equality_and_hash() -> None:
    first, _ = twins("shared-a", {}, {"a": "int"})
    second, _ = twins("shared-b", {}, {"b": "int"})
    for name in ("__repr__", "__setattr__", "__delattr__", "__getstate__", "__setstate__"):
        assert vars(first)[name] is vars(second)[name]
    for name in ("__init__", "__eq__", "__hash__"):
        assert vars(first)[name] is not vars(second)[name]
        assert vars(first)[name].__qualname__ == f"OursSharedA.{name}"


def test_a_recursion_through_two_records_shows_dots_where_it_closes() -> None:
    outer, _ = twins("outer", {}, {"a": "list[object]"})
    inner, _ = twins("inner", {}, {"b": "list[object]"})
    held: list[object] = []
    value = outer([inner(held)])
    held.append(value)
    for _ in range(2):  # nothing is left marked as being shown
        assert repr(value) == "OursOuter(a=[OursInner(b=[...])])"


def test_a_repr_running_in_another_thread_is_not_a_recursion() -> None:
    ours, _ = twins("threaded", {}, {"a": "object"})
    entered, release = threading.Event(), threading.Event()
    worker_ident: list[int] = []

    class Gate:
        def __repr__(self) -> str:
            if threading.get_ident() in worker_ident:
                entered.set()
                release.wait(5)
            return "gate"

    value = ours(Gate())
    shown: list[str] = []

    def show() -> None:
        worker_ident.append(threading.get_ident())
        shown.append(repr(value))

    worker = threading.Thread(target=show)
    worker.start()
    assert entered.wait(5)  # the worker is inside repr(value)
    assert repr(value) == "OursThreaded(a=gate)"
    release.set()
    worker.join(5)
    assert shown == ["OursThreaded(a=gate)"]


def test_a_record_based_on_a_record_reaches_the_base_methods_as_before() -> None:
    base, _ = twins("super-base", {}, {"a": "int"})

    def __repr__(self: Any) -> str:
        return f"<{super(child, self).__repr__()}>"

    namespace = {"__annotations__": {"b": "int"}, "__module__": __name__, "__repr__": __repr__}
    child = record(type("SuperChild", (base,), namespace))
    # The base's repr and equality, reached from a subclass, read the base's fields.
    assert repr(child(1, 2)) == "<SuperChild(a=1)>"
    assert base.__eq__(child(1, 2), child(1, 3)) is True
    assert child(1, 2) != child(1, 3)


def test_a_plain_class_of_two_records_passes_both_guards() -> None:
    valued, _ = twins("valued", {}, {"a": "int"})
    marker, _ = twins("marker", {}, {})
    for bases in ((valued, marker), (marker, valued)):
        both = type("Both", bases, {})
        value = both.__new__(both)
        valued.__init__(value, 1)  # (the first base's __init__ is the class's)
        value.note = "kept"
        assert value.note == "kept" and value.a == 1
        del value.note
        with pytest.raises(FrozenInstanceError, match="cannot assign to field 'a'"):
            value.a = 2
        with pytest.raises(FrozenInstanceError, match="cannot delete field 'a'"):
            del value.a
