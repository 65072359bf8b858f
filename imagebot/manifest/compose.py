"""Compose YAML text into node graphs whose marks are character offsets into that same text.

libyaml through ruamel.yaml.clib is tried first (fast, accepts TABs as separators); ruamel's
pure-Python parser is the fallback for what libyaml rejects (``{image: nginx:1.0}``: a ``:``
inside a flow plain scalar), then again with separator TABs as spaces for text that needs both.
Text that nests too deep is refused before either composer runs, and documents that are cyclic
or alias bombs right after (``guard``): ``UnsafeYamlError``. Nothing here constructs Python
objects or ever emits YAML.
"""

from __future__ import annotations

import gc
import re
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from imagebot.errors import ManifestError
from imagebot.manifest.guard import Unsafe, may_alias, may_be_deep, too_deep, unsafe_graph

try:  # ruamel.yaml.clib is a declared dependency, but a PyPy install would not have it
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised only without the C extension
    CParser = None

BOM = "\ufeff"
STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
MERGE_TAG = "tag:yaml.org,2002:merge"

__all__ = [
    "BOM",
    "BOOL_TAG",
    "NULL_TAG",
    "STR_TAG",
    "ComposeError",
    "MappingNode",
    "Node",
    "ScalarNode",
    "SequenceNode",
    "UnsafeYamlError",
    "c_composer_available",
    "compose_documents",
    "held_gc",
    "resolves_to_string",
    "split_bom",
]


class ComposeError(ManifestError):
    """The text is not YAML that either composer accepts; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class UnsafeYamlError(ComposeError):
    """YAML that is refused although it may be valid: nested too deep, an anchor used inside
    itself, or aliases expanding past the budget. The file is a problem, not a skip."""


_PLAIN_TAGS: dict[str, Any] = {}
_PLAIN_TAGS_LIMIT = 65_536
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))

if CParser is not None:

    class _CLoader(CParser, VersionedResolver):  # type: ignore[misc]
        """libyaml's reader, scanner, parser and composer in C; tags resolved by ruamel."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            VersionedResolver.__init__(self, version=None, loadumper=self)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            # ruamel's resolve looks the YAML version up and builds its tables once per loader,
            # a file's; this loader always resolves as YAML 1.2, so a plain value's tag can be
            # cached, and one shared 1.2 resolver builds them once.
            if kind is ScalarNode:
                if not implicit[0]:
                    return self.DEFAULT_SCALAR_TAG
                tag = _PLAIN_TAGS.get(value)
                if tag is None:
                    tag = _RESOLVERS[1].resolve(kind, value, implicit)
                    if len(_PLAIN_TAGS) >= _PLAIN_TAGS_LIMIT:
                        _PLAIN_TAGS.clear()
                    _PLAIN_TAGS[value] = tag
                return tag
            if kind is SequenceNode:
                return self.DEFAULT_SEQUENCE_TAG
            return self.DEFAULT_MAPPING_TAG


def c_composer_available() -> bool:
    return CParser is not None


def split_bom(text: str) -> tuple[str, str]:
    """``(prefix, body)``: libyaml does not count a leading BOM in its marks, so it is cut off
    before composing and put back when writing."""
    if text.startswith(BOM):
        return BOM, text[1:]
    return "", text


def compose_documents(body: str) -> list[Node]:
    """Every document of ``body`` (which must not start with a BOM) as a node graph.

    Raises ComposeError with the first parser's message when neither composer accepts it, and
    UnsafeYamlError for text too deep to compose or documents that are cyclic or alias bombs.
    """
    deep = may_be_deep(body)
    libyaml = CParser is not None
    try:
        with held_gc():
            documents = _compose_c(body, deep) if libyaml else _compose_pure(body, deep)
    except YAMLError as first:
        libyaml = False
        documents = _compose_fallback(body, deep, first)
    except (ValueError, TypeError) as error:  # libyaml reports some encoding faults this way
        raise ComposeError(f"not readable as YAML: {error}", None) from error
    if may_alias(body, libyaml=libyaml):  # without an alias there is no cycle and no bomb
        for root in documents:
            _refuse(unsafe_graph(root))
    return documents


def _compose_fallback(body: str, deep: bool, first: YAMLError) -> list[Node]:
    """The pure parser on what libyaml refused, then with separator TABs as spaces."""
    for text in (body, _tabs_as_spaces(body)) if "\t" in body else (body,):
        try:
            with held_gc():
                return _compose_pure(text, deep)
        except YAMLError:
            continue
    raise _as_compose_error(first) from first


@contextmanager
def held_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while one file is composed and read: neither makes
    garbage cycles, and the collector's passes over a growing node graph made one file of
    4,000 workloads cost 6x one of 1,000, not 4x. Holds are counted across threads (the
    operator reads files in several), and the last one out restores the state the first found.
    """
    with _GC_LOCK:
        if not _gc_hold["count"]:
            _gc_hold["was_on"] = gc.isenabled()
            gc.disable()
        _gc_hold["count"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_hold["count"] -= 1
            if not _gc_hold["count"] and _gc_hold["was_on"]:
                gc.enable()


_GC_LOCK = threading.Lock()
_gc_hold = {"count": 0, "was_on": False}


def _refuse(unsafe: Unsafe | None) -> None:
    if unsafe is not None:
        raise UnsafeYamlError(f"refused: {unsafe.reason}", unsafe.line)


def _check_depth(events: Iterable[Any]) -> None:
    _refuse(too_deep(events))


def _compose_c(body: str, deep: bool) -> list[Node]:
    if deep:
        _check_depth(_c_events(body))
    loader = _CLoader(body)
    try:
        documents: list[Node] = []
        while loader.check_node():
            documents.append(loader.get_node())
        return documents
    finally:
        loader.dispose()
        # The resolver points back at its loader (``loadumper``, ``_resolver``): without this
        # cycle broken, each file's loader waits for a full GC, ~3 KB a file of peak RSS.
        loader.loadumper = loader._resolver = None


def _c_events(body: str) -> Iterator[Any]:
    """libyaml's parse events: its parser keeps a stack of states, it does not recurse."""
    parser = CParser(body)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def _compose_pure(body: str, deep: bool) -> list[Node]:
    with warnings.catch_warnings():
        # A reused anchor is valid YAML (the later one wins, as libyaml has it): no warning.
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        if deep:
            _check_depth(YAML(typ="safe", pure=True).parse(body))
        return list(YAML(typ="safe", pure=True).compose_all(body))


_TABS_AFTER_INDENT = re.compile(r"^([ \t]*)([^\r\n]*)", re.MULTILINE)


def _tabs_as_spaces(body: str) -> str:
    """``body`` with every TAB after a line's indentation turned into a space: same length, so
    the same marks. For text with both TAB separators (only libyaml reads them) and ``:`` in flow
    plain scalars (only the pure parser reads them); leading TABs stay and stay invalid."""
    return _TABS_AFTER_INDENT.sub(lambda m: m.group(1) + m.group(2).replace("\t", " "), body)


def _as_compose_error(error: YAMLError) -> ComposeError:
    line = None
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "invalid YAML"
        return ComposeError(f"not valid YAML: {problem}", line)
    return ComposeError(f"not valid YAML: {error}", line)


def resolves_to_string(value: str) -> bool:
    """True when ``value`` written plain is a string under YAML 1.1 and 1.2 alike.

    Kubernetes tools read YAML 1.1 (``yes``, ``12:30``) and others 1.2; a tag such as ``1.10``
    written plain would become a float in both, so such values must be quoted.
    """
    return all(r.resolve(ScalarNode, value, (True, False)) == STR_TAG for r in _RESOLVERS)


def iter_nodes(root: Node) -> Iterator[Node]:
    """Each node object of a graph once (aliases are the same object), depth first."""
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
