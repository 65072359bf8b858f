"""Read composed YAML node graphs: look keys up (merge keys included), follow paths, count uses.

A path is a tuple of mapping keys and sequence indexes from a document's root; the same path finds
the same value again in fresher text. Aliases are shared node objects, so "how many places use
this scalar" is a count of logical paths to it. Read-only: nothing here edits text.
"""

from __future__ import annotations

from collections.abc import Iterator

from imagebot.manifest.compose import (
    MERGE_TAG,
    STR_TAG,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    iter_nodes,
)

YamlPath = tuple[str | int, ...]
# What YAML counts as a line break (libyaml counts NEL, LS and PS too).
LINE_BREAKS = "\r\n\x85\u2028\u2029"


def is_merge_key(key: Node) -> bool:
    # Compare the text first: reading ``tag`` builds a string each time, and it is rarely "<<".
    return key.value == "<<" and isinstance(key, ScalarNode) and key.tag == MERGE_TAG


def items(node: Node) -> list[tuple[Node, Node]]:
    """A mapping's effective pairs: its own first, then those merged in by ``<<`` that it does
    not override (earlier merge sources win, as YAML's merge key specifies, and a source's own
    merges come before the next source). Each merged mapping is read once, however often it is
    merged (a merge bomb costs its written size) and a mapping merging itself adds nothing."""
    if not isinstance(node, MappingNode):
        return []
    if not any(is_merge_key(key) for key, _ in node.value):
        return list(node.value)
    merged: list[tuple[Node, Node]] = []
    seen: set[object] = set()
    done: set[int] = set()
    pending: list[Node] = [node]
    while pending:  # depth first, in order: what the recursive definition reads first wins
        mapping = pending.pop()
        if id(mapping) in done or not isinstance(mapping, MappingNode):
            continue
        done.add(id(mapping))
        sources: list[Node] = []
        for key, value in mapping.value:
            if is_merge_key(key):
                sources.extend(value.value if isinstance(value, SequenceNode) else [value])
            elif _key_text(key) not in seen:
                seen.add(_key_text(key))
                merged.append((key, value))
        pending.extend(reversed(sources))
    return merged


def _key_text(key: Node) -> object:
    return key.value if isinstance(key, ScalarNode) else id(key)


def get(node: Node | None, key: str) -> Node | None:
    """The value of ``key`` in a mapping (its own, else merged in), or None."""
    if not isinstance(node, MappingNode):
        return None
    merges = False
    for k, v in node.value:  # one pass over the own keys: they win over merged ones
        if k.value == key and isinstance(k, ScalarNode):
            found: Node = v
            return found
        merges = merges or is_merge_key(k)
    if merges:
        for k, v in items(node):
            if k.value == key and isinstance(k, ScalarNode):
                return v
    return None


def text(node: Node | None) -> str | None:
    """A scalar's text, whatever its resolved tag (``1.10`` stays ``"1.10"``); None otherwise."""
    return node.value if isinstance(node, ScalarNode) else None


def string(node: Node | None) -> str | None:
    """A scalar's text only when it resolves to a string (not null, not a bool or number)."""
    return node.value if isinstance(node, ScalarNode) and node.tag == STR_TAG else None


def get_text(node: Node | None, *keys: str) -> str | None:
    for key in keys:
        node = get(node, key)
    return text(node)


def sequence(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def resolve_path(root: Node, path: YamlPath) -> Node | None:
    node: Node | None = root
    for step in path:
        if isinstance(step, int):
            values = sequence(node)
            node = values[step] if 0 <= step < len(values) else None
        else:
            node = get(node, step)
        if node is None:
            return None
    return node


def has_aliases(root: Node) -> bool:
    """True when some node object is reachable from two places (an alias or a merge key)."""
    seen: set[int] = set()
    for node in iter_nodes(root):
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
            if any(is_merge_key(k) for k, _ in node.value):
                return True
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        for child in children:
            if id(child) in seen:
                return True
            seen.add(id(child))
    return False


def count_uses(root: Node, wanted: list[Node]) -> dict[int, int]:
    """For each wanted node, the number of logical places (paths from ``root``, through aliases
    and merge keys) where it is used. A node on a cycle counts as used without bound (-1)."""
    parents: dict[int, list[Node]] = {}
    for node in iter_nodes(root):
        children = [v for _, v in items(node)] if isinstance(node, MappingNode) else sequence(node)
        for child in children:
            parents.setdefault(id(child), []).append(node)
    memo: dict[int, int] = {id(root): 1}
    for node in wanted:
        _count_paths(node, parents, memo)
    return {id(node): memo[id(node)] for node in wanted}


def _count_paths(start: Node, parents: dict[int, list[Node]], memo: dict[int, int]) -> None:
    """Fill ``memo`` with the number of paths from the root to ``start`` (-1 on a cycle),
    without recursion: an alias chain may be as long as the file."""
    active: set[int] = set()
    stack: list[tuple[Node, bool]] = [(start, False)]
    while stack:
        node, ready = stack.pop()
        key = id(node)
        if key in memo:
            continue
        above = parents.get(key, [])
        if ready:
            active.discard(key)
            counts = [memo[id(parent)] for parent in above]
            memo[key] = -1 if any(count < 0 for count in counts) else sum(counts)
            continue
        active.add(key)
        stack.append((node, True))
        for parent in above:
            if id(parent) in active:
                memo[key] = -1  # a cycle: used without bound
                break
            if id(parent) not in memo:
                stack.append((parent, False))


def duplicate_key(root: Node) -> ScalarNode | None:
    """The second occurrence of the first key repeated in one mapping, if any."""
    for node in iter_nodes(root):
        if isinstance(node, MappingNode):
            repeated = repeated_key(node)
            if repeated is not None:
                return repeated
    return None


def repeated_key(node: MappingNode) -> ScalarNode | None:
    """The second occurrence of the first key repeated in this one mapping, if any."""
    if len(node.value) < 2:
        return None
    seen: dict[str, ScalarNode] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or is_merge_key(key):
            continue
        other = seen.get(key.value)
        # "1" and 1 are different keys; compare tags only when the texts collide.
        if other is not None and other.tag == key.tag:
            return key
        seen[key.value] = key
    return None


def content_start(source: str, node: Node) -> int:
    """Where a node's content begins: its start mark includes properties (``&anchor``,
    ``!!str``) and the whitespace or comments that may follow them."""
    index = int(node.start_mark.index)
    end = int(node.end_mark.index)
    while index < end and source[index] in "&!":
        while index < end and source[index] not in " \t" + LINE_BREAKS:
            index += 1
        index = _skip_blank(source, index, end)
    return index


def _skip_blank(source: str, index: int, end: int) -> int:
    while index < end:
        char = source[index]
        if char in " \t" + LINE_BREAKS:
            index += 1
        elif char == "#":
            while index < end and source[index] not in LINE_BREAKS:
                index += 1
        else:
            break
    return index


def walk_scalars(root: Node) -> Iterator[tuple[YamlPath, ScalarNode]]:
    """Every scalar value (not keys) with the first physical path that reaches it."""
    seen: set[int] = set()
    stack: list[tuple[YamlPath, Node]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            yield path, node
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and not is_merge_key(key):
                    stack.append(((*path, key.value), value))
        elif isinstance(node, SequenceNode):
            stack.extend(((*path, i), item) for i, item in enumerate(node.value))
