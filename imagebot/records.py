"""``record``: a frozen, slotted dataclass that costs half as much to define.

``@dataclass(frozen=True, slots=True)`` writes six methods per class as source text and compiles
each one: ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and
``__delattr__``. A run loads about a hundred such value classes, and those 600 compiles were a
third of its import time (0.1 s of a 0.8 s run on 200 manifests). ``record`` lets dataclass
write what depends on the fields' order and defaults (``__init__``, and the frozen guards), and
gives each class equality, hash and repr as dataclass defines them, from closures over one
``operator.attrgetter`` of its fields: nothing is compiled, and comparing stays in C.

Everything dataclasses offer keeps working (``field``, ``replace``, ``fields``, ``asdict``,
pickling, ``FrozenInstanceError``).
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")

__all__ = ["record"]


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, with the same ``==``, ``hash`` and ``repr``."""
    own = dict(cls.__dict__)  # methods the class writes itself stay, as with dataclass
    made: Any = dataclasses.dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
    fields = dataclasses.fields(made)
    compared = _values([f.name for f in fields if f.compare])
    hashed = _values([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
    shown = [f.name for f in fields if f.repr]
    shown_values = _values(shown)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(compared(self) == compared(other))
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        pairs = zip(shown, shown_values(self), strict=True)
        return f"{self.__class__.__qualname__}({', '.join(f'{n}={v!r}' for n, v in pairs)})"

    for method in (__eq__, __hash__, __repr__):
        name = method.__name__
        # A class that writes __eq__ alone gets __hash__ None from Python: not its own choice.
        if name not in own or (name == "__hash__" and own[name] is None):
            method.__qualname__ = f"{made.__qualname__}.{name}"
            setattr(made, name, method)
    result: type[_T] = made
    return result


def _values(names: Sequence[str]) -> Callable[[object], tuple[Any, ...]]:
    """The named attributes of an object as a tuple, whatever their number."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        get = operator.attrgetter(names[0])
        return lambda obj: (get(obj),)
    getter: Callable[[object], tuple[Any, ...]] = operator.attrgetter(*names)
    return getter
