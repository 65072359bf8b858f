"""Apply updates to the texts of many files at once, and show what changed as a unified diff.

Reconcile and the release workflow collect ``Update``s in memory; ``rewrite_files`` applies them
file by file (a file that cannot be rewritten safely is left out whole and reported) and returns
the new texts for one write and one commit. Pure: writing is ``tree.write_files``'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field

from imagebot.errors import ManifestError
from imagebot.manifest.facts import FileFacts
from imagebot.manifest.filemap import FileMap, serial_map
from imagebot.manifest.update import Update, new_value
from imagebot.model import Problem
from imagebot.records import record


def updated_value(update: Update) -> str:
    """The text the target's field will hold once ``update`` is applied."""
    target = update.target
    return new_value(update, target.current_value, str(target.location))


@record
class RewriteResult:
    """New texts of the files that changed (relative path -> text) and the files refused."""

    new_texts: Mapping[str, str] = field(default_factory=dict)
    applied: tuple[Update, ...] = ()
    problems: tuple[Problem, ...] = ()


def rewrite_files(
    texts: Mapping[str, str],
    updates: Sequence[Update],
    facts: Mapping[str, FileFacts] | None = None,
    *,
    map_files: FileMap | None = None,
) -> RewriteResult:
    """Apply updates file by file to ``texts``; a file that cannot be rewritten safely is left
    out whole and reported, the others go on. ``facts`` (the scan's, ``TreeScan.facts``) spare
    composing each file's old text again; a file's facts count only for the text they were
    taken from. ``map_files`` spreads the files (``serial_map`` when None)."""
    by_file: dict[str, list[Update]] = defaultdict(list)
    for update in updates:
        by_file[update.target.location.file].append(update)
    known = facts or {}

    def rewrite_one(item: tuple[str, list[Update]]) -> str | Problem:
        # Loaded by the process that rewrites: with a forked map, the child alone, as a rule.
        from imagebot.manifest.rewrite import rewrite_text

        file, file_updates = item
        old = texts.get(file)
        if old is None:
            return Problem("not rewritten: the file's text is not at hand", file)
        try:
            return rewrite_text(old, file, file_updates, known.get(file))
        except ManifestError as error:
            return _not_rewritten(file, str(error))

    work = sorted(by_file.items())
    new_texts: dict[str, str] = {}
    applied: list[Update] = []
    problems: list[Problem] = []
    for (file, file_updates), new in zip(
        work, (map_files or serial_map)(rewrite_one, work), strict=True
    ):
        if isinstance(new, Problem):
            problems.append(new)
        elif new != texts[file]:
            new_texts[file] = new
            # A target already at the new value is not news: the others in its file are.
            applied.extend(u for u in file_updates if updated_value(u) != u.target.current_value)
    return RewriteResult(new_texts, tuple(applied), tuple(problems))


def _not_rewritten(file: str, message: str) -> Problem:
    """The refusal as a Problem, its ``file:line:`` prefix moved into the Problem's fields."""
    line: int | None = None
    if message.startswith(f"{file}:"):
        rest = message.removeprefix(f"{file}:")
        number, _, tail = rest.partition(": ")
        if number.isdigit():
            line, message = int(number), tail
        else:
            message = rest.lstrip()
    return Problem(f"not rewritten: {message}", file, line)


def unified_diff(file: str, old: str, new: str) -> str:
    """A ``git diff``-like unified diff of one file; line endings are kept as they are."""
    old_lines, new_lines = _lines(old), _lines(new)
    if len(old_lines) == len(new_lines):
        lines: Iterable[str] = _diff_in_place(file, old_lines, new_lines)
    else:
        import difflib  # only for an edit that adds or drops lines: a rewrite never does

        lines = difflib.unified_diff(old_lines, new_lines, fromfile=f"a/{file}", tofile=f"b/{file}")
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def _diff_in_place(file: str, old: list[str], new: list[str]) -> Iterator[str]:
    """The diff of two texts with as many lines, line ``i`` paired with line ``i``: what every
    image rewrite is (a splice never adds a line). difflib's matcher costs the square of the
    number of changed lines, a minute for 4,000 workloads in one file; this is one pass.
    Hunks are grouped as difflib groups them: 3 lines of context, joined across 6 or fewer."""
    changed = [index for index, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    if not changed:
        return
    yield f"--- a/{file}\n"
    yield f"+++ b/{file}\n"
    groups: list[list[int]] = [[changed[0]]]
    for index in changed[1:]:
        if index - groups[-1][-1] - 1 > 2 * _CONTEXT:
            groups.append([index])
        else:
            groups[-1].append(index)
    for group in groups:
        start = max(group[0] - _CONTEXT, 0)
        stop = min(group[-1] + 1 + _CONTEXT, len(old))
        span = _range(start, stop)
        yield f"@@ -{span} +{span} @@\n"
        index = start
        while index < stop:
            if old[index] == new[index]:
                yield " " + old[index]
                index += 1
                continue
            end = index
            while end < stop and old[end] != new[end]:
                end += 1
            yield from ("-" + line for line in old[index:end])
            yield from ("+" + line for line in new[index:end])
            index = end


_CONTEXT = 3


def _range(start: int, stop: int) -> str:
    """A hunk's line range as ``diff -u`` writes it (``5`` for one line, ``5,7`` for more)."""
    length = stop - start
    return str(start + 1) if length == 1 else f"{start + 1},{length}"


def _lines(text: str) -> list[str]:
    # Only LF ends a line here: str.splitlines would also split on form feeds and NEL.
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    return [*lines, pieces[-1]] if pieces[-1] else lines
