"""``record``: a frozen, slotted dataclass that costs half as much to define, and less to keep.

``@dataclass(frozen=True, slots=True)`` writes six methods per class as source text and compiles
each one: ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and
``__delattr__``. A run loads about a hundred such value classes, and those 600 compiles were a
third of its import time (0.1 s of a 0.8 s run on 200 manifests). ``record`` lets dataclass
write what depends on the fields' order and defaults (``__init__``, and the frozen guards), and
gives each class equality, hash and repr as dataclass defines them, from one
``operator.attrgetter`` of its fields: nothing is compiled, and comparing stays in C.

Everything dataclasses offer keeps working (``field``, ``replace``, ``fields``, ``asdict``,
pickling, ``FrozenInstanceError``).

A frozen dataclass also compiles its two frozen guards (``__setattr__``, ``__delattr__``), each
from its own source text: 0.15 ms a class, ~10 ms of every start. For a plain class (no dataclass
base, no ``__post_init__``, ``InitVar``, ``ClassVar`` or keyword-only field: every record of
imagebot) ``record`` asks dataclass for the fields and slots only, writes the guards itself and
``__init__`` in one compile of its own, assigning as a frozen dataclass does. Any other class
takes dataclass's frozen path whole.

A class, once defined, is kept for the whole run, so what it keeps is part of the run's peak.
A plain record's methods used to be seven closures of its own (equality, hash, repr behind a
``reprlib.recursive_repr`` of its own, the guards, the pickling pair), each a function with its
qualname, cells and closure tuple. Now each class keeps one ``_Layout`` as ``__record__`` (the
class, its field names and getters: one ``attrgetter`` where all read every field, as in most),
and its repr, guards and pickling pair are the functions of ``_Shared``, the same in every
class, reading ``type(self).__record__``; repr has one recursion guard for all, keyed as
reprlib's is on the object and the thread. Equality and hash stay closures of the class's own:
the lookup through the class would cost them 5 ns of 205 and 14 of 160. The slots' setters for
unpickling are made when a class is first unpickled, and an ``__init__`` that reads nothing of
its class's own when called (no factory, no default outside its signature) shares its globals
with the others. A record of four fields keeps 6.3 kB instead of 9.7 kB once the collector has
run (tracemalloc, Python 3.11); importing the run path holds 15.85 MB instead of 16.15. The rest
is mostly the slotted class dataclass makes, the compiled ``__init__`` (1.8 kB) and the
``Field``s. The class's dict still grows to 64 places to take the methods (0.77 kB): the copy
dataclass makes of the class keeps the places of what it removes, so the 20 entries of a
four-field record do not fit in 32. The shared methods' qualnames name ``_Shared``, not the
class.

A record whose base is a record takes dataclass's frozen path, and keeps its repr as a closure of
its own too: the shared methods find the fields through the instance's class, and a base's,
reached through ``super()`` from a subclass, must still read the base's fields.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import operator
import reprlib
from _thread import get_ident
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar, dataclass_transform

_T = TypeVar("_T")
_Getter = Callable[[object], tuple[Any, ...]]

__all__ = ["record"]


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, with the same ``==``, ``hash`` and ``repr``."""
    missing = [name for name in _GIVEN if _wanted(cls, name)]
    made: Any
    if _plain(cls):
        made = _share(cls, missing)
    else:
        made = dataclasses.dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
        _compare_and_show(made, missing)
    result: type[_T] = made
    return result


# What record gives a class, unless the class writes it itself.
_GIVEN: tuple[str, ...] = ("__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__")
_GIVEN += ("__getstate__", "__setstate__")


def _wanted(cls: type, name: str) -> bool:
    """Whether ``record`` gives the class method ``name``: only if it does not write it itself.
    A class that writes ``__eq__`` alone gets ``__hash__`` None from Python: not its own choice."""
    own = vars(cls)
    return name not in own or (name == "__hash__" and own[name] is None)


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


def _share(cls: Any, missing: Sequence[str]) -> Any:
    """``record`` for a plain class: the shared methods and the layout they read, equality and
    hash of its own, and an ``__init__`` that assigns past the guards, as ``frozen=True`` would
    give it."""
    # Without a docstring dataclass writes one from the signature, which is object's here
    # until the class has its own __init__ (and reading a builtin's costs a tokenizer).
    documented = bool(cls.__doc__)
    if not documented:
        cls.__doc__ = "-"
    made = dataclasses.dataclass(slots=True, init=False, eq=False, repr=False)(cls)
    fields = dataclasses.fields(made)
    made.__init__ = _frozen_init(made, fields)
    made.__record__ = layout = _Layout(made, fields)
    own = _comparing(made, layout.compared, layout.hashed)
    for name in missing:
        setattr(made, name, own[name] if name in own else _SHARED[name])
    params = made.__dataclass_params__
    params.init = params.frozen = True  # what subclasses and tools read
    if not documented:
        made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
    return made


class _Layout:
    """A plain record's fields and their getters, kept on the class as ``__record__`` for the
    shared methods. Fields read alike share one getter: in most records compare, hash, repr and
    pickling all read every field, through one ``attrgetter``."""

    __slots__ = ("cls", "compared", "hashed", "names", "showing", "shown", "state", "stores")
    cls: type  # the guards refuse anything on its own instances
    names: tuple[str, ...]  # and its fields on a subclass's
    compared: _Getter
    hashed: _Getter
    shown: tuple[str, ...]
    showing: _Getter
    state: _Getter
    stores: tuple[Callable[[object, object], None], ...]  # past the guards; at first unpickling

    def __init__(self, cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> None:
        names = tuple(f.name for f in fields)
        if names == vars(cls).get("__slots__"):
            names = vars(cls)["__slots__"]  # the same tuple, kept once
        compared = tuple(f.name for f in fields if f.compare)
        hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        shown = tuple(f.name for f in fields if f.repr)
        getters = {wanted: _values(wanted) for wanted in {names, compared, hashed, shown}}
        self.cls, self.names, self.state = cls, names, getters[names]
        self.compared, self.hashed = getters[compared], getters[hashed]
        self.shown, self.showing = (names if shown == names else shown), getters[shown]


# Which records' reprs are running, in which thread: one set for all, where reprlib's
# recursive_repr keeps one per class.
_SHOWING: set[tuple[int, int]] = set()


class _Shared:
    """The methods plain records share: the same functions in every class (never instantiated
    here). Each reads what differs, the class's ``_Layout``, from ``type(self).__record__``."""

    __record__: ClassVar[_Layout]

    def __repr__(self) -> str:
        key = id(self), get_ident()
        if key in _SHOWING:
            return "..."  # a value that holds itself, shown as reprlib.recursive_repr shows it
        _SHOWING.add(key)
        try:
            layout = type(self).__record__
            pairs = zip(layout.shown, layout.showing(self), strict=True)
            return f"{self.__class__.__qualname__}({', '.join(f'{n}={v!r}' for n, v in pairs)})"
        finally:
            _SHOWING.discard(key)

    def __setattr__(self, name: str, value: object) -> None:
        _past_guards(self, name, "__setattr__", "assign to")(name, value)

    def __delattr__(self, name: str) -> None:
        _past_guards(self, name, "__delattr__", "delete")(name)

    # Pickling (the forked scan sends thousands of records) reads and stores the slots directly:
    # dataclass's own pair asks ``fields(self)`` for every object, at twice the cost.
    def __getstate__(self) -> tuple[object, ...]:
        state = type(self).__record__.state
        return state(self)

    def __setstate__(self, values: Sequence[object]) -> None:
        layout = type(self).__record__
        try:
            stores = layout.stores
        except AttributeError:  # made at the class's first unpickling: most never are
            stores = layout.stores = _stores(layout.cls, layout.names)
        any(map(operator.call, stores, itertools.repeat(self), values))  # (each returns None)


_SHARED: dict[str, Callable[..., Any]] = {
    name: vars(_Shared)[name] for name in _GIVEN if name in vars(_Shared)
}


def _comparing(cls: type, compared: _Getter, hashed: _Getter) -> dict[str, Callable[..., Any]]:
    """A record's ``__eq__`` and ``__hash__``, the methods it keeps of its own, as closures: read
    through the class's ``__record__``, as the shared methods read theirs, the getters would
    cost equality 5 ns of 205 and a hash 14 ns of 160."""

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    for method in (__eq__, __hash__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    return {"__eq__": __eq__, "__hash__": __hash__}


def _past_guards(self: Any, name: str, method: str, verb: str) -> Any:
    """``super(cls, self).<method>``, once the guard of ``cls`` (the record whose guard runs)
    lets ``name`` through: as a frozen dataclass's does, it refuses anything on ``cls``'s own
    instances, and a field of ``cls`` on a subclass's. (A plain class with two records as
    bases meets the second's guard there; it takes its turn here, as super() would call it.)"""
    owner: type = type(self).__record__.cls
    mro = type(self).__mro__
    while True:
        if type(self) is owner or name in vars(owner)["__record__"].names:
            raise dataclasses.FrozenInstanceError(f"cannot {verb} field {name!r}")
        following = getattr(super(owner, self), method)
        if getattr(following, "__func__", None) is not _SHARED[method]:
            return following
        owner = next(klass for klass in mro[mro.index(owner) + 1 :] if method in vars(klass))


def _compare_and_show(cls: Any, missing: Sequence[str]) -> None:
    """Equality, hash and repr for a record past the plain shape, as closures of its own: the
    shared repr finds the fields through the instance's class, and a record's base may be a
    record, whose repr (reached through ``super()``) must show the base's fields."""
    fields = dataclasses.fields(cls)
    compared = _values([f.name for f in fields if f.compare])
    hashed = _values([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
    shown = [f.name for f in fields if f.repr]
    shown_values = _values(shown)

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        pairs = zip(shown, shown_values(self), strict=True)
        return f"{self.__class__.__qualname__}({', '.join(f'{n}={v!r}' for n, v in pairs)})"

    __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
    own = _comparing(cls, compared, hashed) | {"__repr__": __repr__}
    for name in own.keys() & missing:
        setattr(cls, name, own[name])


def _values(names: Sequence[str]) -> _Getter:
    """The named attributes of an object as a tuple, whatever their number."""
    if not names:
        return _nothing
    if len(names) == 1:
        get = operator.attrgetter(names[0])
        return lambda obj: (get(obj),)
    getter: _Getter = operator.attrgetter(*names)
    return getter


def _nothing(_: object) -> tuple[()]:
    return ()


def _stores(cls: type, names: tuple[str, ...]) -> tuple[Callable[[object, object], None], ...]:
    """The setters of a record's fields, past the guards. (A generator in ``__setstate__`` would
    cost every call a cell for the variables it reads.)"""
    return tuple(_store(cls, name) for name in names)


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
    # What the body reads when called (factories, defaults outside the signature) goes in its
    # globals; the parameters' defaults are read once, by the def, from its locals. An
    # __init__ that calls nothing of its class's own shares its globals with every other.
    own: dict[str, Any] = {}
    made: dict[str, Any] = {}
    parameters, lines = ["self"], []
    defaulted = False  # Python's rule: a parameter with a default is followed only by such
    for index, f in enumerate(fields):
        name = f.name
        if f.default_factory is not dataclasses.MISSING:
            own[f"__make{index}"] = f.default_factory
            default, value = "__factory", f"__make{index}()"
            if f.init:
                value = f"{value} if {name} is __factory else {name}"
        elif f.default is not dataclasses.MISSING:
            default = value = f"__default{index}"
            (made if f.init else own)[default] = f.default
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
    scope = _SCOPE | own if own else _SCOPE
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
# The globals of the __init__s: shared by those that need nothing of their class's own.
_SCOPE: dict[str, Any] = {"__set": object.__setattr__, "__factory": _FACTORY}
