"""Which of a repository's tags ``list-images`` shows for a container, in which order.

fluxctl's rule: newest first, the first ``--limit`` of them, and the running tag wherever it
stands, after a count of the tags left out between. Pure: the tags come from the registry client.
"""

from __future__ import annotations

from collections.abc import Sequence

from imagebot.model import TagInfo
from imagebot.records import record


@record
class Available:
    """A repository's tags as ``list-images`` shows them for one container: newest first by
    creation time (tags without one last, by name), cut to ``limit``; ``shown`` keeps the
    deployed tag even past the limit, and ``omitted`` counts the tags left out before it."""

    shown: tuple[TagInfo, ...]
    total: int
    omitted_before_current: int = 0
    current_listed: bool = True


def newest_first(tags: Sequence[TagInfo]) -> list[TagInfo]:
    """Newest first by creation time, then by tag name (descending) for equal or no times."""
    dated = sorted(
        ((t.created, t) for t in tags if t.created is not None),
        key=lambda pair: (pair[0], pair[1].tag),
        reverse=True,
    )
    undated = sorted((t for t in tags if t.created is None), key=lambda t: t.tag, reverse=True)
    return [*(t for _, t in dated), *undated]


def available(tags: Sequence[TagInfo], current: str | None, limit: int) -> Available:
    """The tags to show (``limit`` 0: all), as fluxctl's list-images did: the first ``limit``
    newest, and the deployed one wherever it stands, after a count of the tags between."""
    ordered = newest_first(tags)
    listed = current is not None and any(t.tag == current for t in ordered)
    if limit <= 0 or len(ordered) <= limit:
        return Available(tuple(ordered), len(ordered), current_listed=listed)
    shown = list(ordered[:limit])
    omitted = 0
    if listed and all(t.tag != current for t in shown):
        index = next(i for i, t in enumerate(ordered) if t.tag == current)
        omitted = index - limit
        shown.append(ordered[index])
    return Available(tuple(shown), len(ordered), omitted, listed)
