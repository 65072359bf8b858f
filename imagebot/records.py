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

A frozen dataclass also compiles its two frozen guards (``__setattr__``, ``__delattr__``), each
from its own source text: 0.15 ms a class, ~10 ms of every start. For a plain class (no dataclass
base, no ``__post_init__``, ``InitVar``, ``ClassVar`` or keyword-only field: every record of
imagebot) ``record`` asks dataclass for the fields and slots only, and makes the guards as
closures and ``__init__`` in one compile of its own, assigning as a frozen dataclass does. Any
other class takes dataclass's frozen path whole.
"""

from __future__ import annotations

import dataclasses
import inspect
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
    made: Any
    if _plain(cls):
        # Without a docstring dataclass writes one from the signature, which is object's here
        # until _freeze gives the class its own (and reading a builtin's costs a tokenizer).
        documented = bool(cls.__doc__)
        if not documented:
            cls.__doc__ = "-"
        made = dataclasses.dataclass(slots=True, init=False, eq=False, repr=False)(cls)
        fields = dataclasses.fields(made)
        _freeze(made, fields)
        if not documented:
            made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
    else:
        made = dataclasses.dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
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


def _plain(cls: type) -> bool:
    """True for a class whose ``__init__`` is fields in order, with defaults and factories only."""
    if any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:]):
        return False  # dataclass checks a base's frozenness: it must see frozen=True from here
    if any("__post_init__" in vars(klass) for klass in cls.__mro__):
        return False
    for name, annotation in vars(cls).get("__annotations__", {}).items():
        if name == "self" or name.startswith("__"):
            return False
        if any(word in str(annotation) for word in ("InitVar", "ClassVar", "KW_ONLY")):
            return False
        value = vars(cls).get(name)
        if isinstance(value, dataclasses.Field) and value.kw_only is True:
            return False
    return True


def _freeze(cls: Any, fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """Give a class dataclass made with ``frozen=False`` what ``frozen=True`` would have:
    an ``__init__`` that assigns past the guards, the guards, pickling through them, and the
    flag that subclasses and tools read."""
    cls.__init__ = _frozen_init(cls, fields)
    names = frozenset(f.name for f in fields)
    # Pickling (the forked scan sends thousands of records) reads and stores the slots directly:
    # dataclass's own pair asks ``fields(self)`` for every object, at twice the cost.
    state = _values([f.name for f in fields])
    stores = tuple(_store(cls, f.name) for f in fields)

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    def __getstate__(self: Any) -> tuple[object, ...]:
        return state(self)

    def __setstate__(self: Any, values: Sequence[object]) -> None:
        for store, value in zip(stores, values, strict=False):
            store(self, value)

    for method in (__setattr__, __delattr__, __getstate__, __setstate__):
        if method.__name__ not in vars(cls):
            method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
            setattr(cls, method.__name__, method)
    params = cls.__dataclass_params__
    params.init = params.frozen = True


def _store(cls: type, name: str) -> Callable[[object, object], None]:
    """How to set field ``name`` past the guards: its slot's own setter, where the class has it."""
    slot = vars(cls).get(name)
    if slot is not None and hasattr(slot, "__set__"):
        setter: Callable[[object, object], None] = slot.__set__
        return setter
    return lambda obj, value: object.__setattr__(obj, name, value)


def _frozen_init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """The ``__init__`` dataclass writes for a frozen class, compiled once: the signature is
    the one thing only source text can give."""
    scope: dict[str, Any] = {"__set": object.__setattr__, "__factory": _FACTORY}
    parameters, lines = ["self"], []
    defaulted = False  # Python's rule: a parameter with a default is followed only by such
    for index, f in enumerate(fields):
        name = f.name
        if f.default_factory is not dataclasses.MISSING:
            scope[f"__make{index}"] = f.default_factory
            default, value = "__factory", f"__make{index}()"
            if f.init:
                value = f"{value} if {name} is __factory else {name}"
        elif f.default is not dataclasses.MISSING:
            scope[f"__default{index}"] = f.default
            default = value = f"__default{index}"
            if f.init:
                value = name
        elif f.init:
            if defaulted:
                raise TypeError(f"non-default argument {name!r} follows default argument")
            default, value = "", name
        else:
            continue  # no value: the slot stays empty, as dataclass leaves it
        if f.init:
            parameters.append(f"{name}={default}" if default else name)
            defaulted = defaulted or bool(default)
        lines.append(f"    __set(self, {name!r}, {value})")
    source = f"def __init__({', '.join(parameters)}) -> None:\n" + "\n".join(lines or ["    pass"])
    made: dict[str, Any] = {}
    exec(source, scope, made)  # noqa: S102 - text built here from field names alone
    init: Callable[..., None] = made["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


class _Factory:
    """The default of a field with a factory: the caller gave nothing, so call the factory."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
