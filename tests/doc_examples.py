"""The examples in imagebot's markdown, and what each one promises.

Finds the fenced blocks of README.md, docs/*.md, deploy/README.md and CONTRIBUTING.md that run
``imagebot`` (every command line, ``$ imagebot`` in a console block, a pipeline feeding it) or
that are configuration (every ``yaml`` block), and reads the marker before each one:
``<!-- example: exit=0 timeout=30 needs=registry -->``. The grammar is in docs/testing.md
("Documentation examples"). Pure: it reads files and runs nothing; tests/test_doc_examples.py
runs the examples against the rig.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^\s*<!--\s*example:(?P<body>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")
# The one placeholder convention (docs/testing.md): <name>, lower case, and what each needs.
PLACEHOLDERS: dict[str, str | None] = {
    "registry": "registry",  # the rig registry's host:port
    "repo-url": "git",  # a Git remote over HTTP(S) that imagebot may clone and push to
    "owner": None,  # the GitHub owner of imagebot's repository (pre-commit's repo: URL)
    "digest": None,  # a sha256:... digest
    "container": None,  # a container's name, in annotation keys (tag.<container>)
}
SHELL = frozenset({"", "bash", "sh", "shell", "console"})
NEEDS = frozenset({"registry", "git", "kube"})
CONFIGS = frozenset(
    {
        "repository",
        "trusted",
        "resource",
        "annotations",
        "application",
        "kustomization",
        "pre-commit",
    }
)
_OPERATORS = frozenset({"|", "||", "&&", ";", "&", "(", ")"})


class MarkerError(ValueError):
    """A marker that does not follow the grammar."""


@dataclass(frozen=True, slots=True)
class Command:
    """One command line of a block (continuations joined) and, in a console block, the output
    written under it."""

    text: str
    output: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Marker:
    """What an example promises: exit codes (one, or one per command), a timeout per command in
    seconds, the rig servers it needs, and for configuration, how to try it."""

    exit: tuple[int, ...] = (0,)
    timeout: float = 0.0
    needs: frozenset[str] = frozenset()
    config: str | None = None
    run: str | None = None
    env: tuple[str, ...] = ()
    skip: str | None = None
    synopsis: bool = False
    walkthrough: bool = False  # run by tests/test_walkthrough.py, in docs/walkthrough.md only
    output: bool = True
    cwd: str = "."

    def exit_for(self, index: int, count: int) -> int:
        if len(self.exit) == 1:
            return self.exit[0]
        if len(self.exit) != count:
            raise MarkerError(f"exit= names {len(self.exit)} codes for {count} commands")
        return self.exit[index]


@dataclass(frozen=True, slots=True)
class Example:
    """A fenced block that is an example, where it is, and its marker (None: unmarked)."""

    file: str
    line: int
    info: str
    text: str
    kind: str  # "command" or "config"
    marker: Marker | None
    marker_error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"

    def commands(self) -> list[Command]:
        return commands(self.text, console=is_console(self.info, self.text))


def documents(root: Path = ROOT) -> list[Path]:
    """The markdown files whose examples must run."""
    found = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    found += [root / "deploy" / "README.md", root / "CONTRIBUTING.md"]
    return [path for path in found if path.is_file()]


def fenced_blocks(text: str) -> Iterator[tuple[int, str, str, str | None]]:
    """(1-based line of the opening fence, info word, body, the marker comment right before it,
    blank lines allowed between)."""
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = MARKER.match(lines[before]) if before >= 0 else None
        body = "\n".join(lines[index + 1 : end]) + "\n"
        yield index + 1, opening["info"].lower(), body, marker["body"] if marker else None
        index = end + 1


def commands(text: str, *, console: bool) -> list[Command]:
    """The command lines of a shell block: every line (console: every ``$ `` line, the lines
    under it being its output), ``\\`` continuations joined, comment lines left out."""
    found: list[Command] = []
    pending = ""
    output: list[str] = []
    for line in text.rstrip("\n").split("\n"):
        if pending:
            pending += "\n" + line
        elif console and line.startswith("$ "):
            if found or output:
                _close(found, output)
            pending = line[2:]
        elif console:
            output.append(line)
            continue
        elif line.strip() and not line.lstrip().startswith("#"):
            pending = line
        if pending and not pending.endswith("\\"):
            found.append(Command(pending))
            pending = ""
    if pending:
        found.append(Command(pending))
    _close(found, output)
    return found


def _close(found: list[Command], output: list[str]) -> None:
    if found and output:
        found[-1] = Command(found[-1].text, tuple(output))
    output.clear()


def invoked(command: str) -> list[str]:
    """The programs a command line starts: the first word of each pipeline stage and of each
    ``$(...)``, skipping ``NAME=value`` assignments. Quotes are honoured; a line shlex cannot
    read starts nothing."""
    lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = list(lexer)
    except ValueError:
        return []
    programs: list[str] = []
    for inner in re.findall(r"\$\(([^()]*)\)", command):  # command substitution: $(imagebot ...)
        programs += invoked(inner)
    expecting = True
    for word in words:
        if word in _OPERATORS:
            expecting = True
        elif expecting and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            programs.append(word)
            expecting = False
    return programs


def runs_imagebot(command: str) -> bool:
    return "imagebot" in invoked(command)


def is_console(info: str, body: str) -> bool:
    """A console block: ``$ `` before each command, output under it (also without the info
    word, when its first line starts with ``$ ``)."""
    first = next((line for line in body.split("\n") if line.strip()), "")
    return info == "console" or (info in ("", "text") and first.startswith("$ "))


def kind_of(info: str, body: str) -> str | None:
    """ "command" for a shell block that runs imagebot, "config" for a yaml block, else None."""
    if info in ("yaml", "yml"):
        return "config"
    console = is_console(info, body)
    if info in (*SHELL, "text") and any(
        runs_imagebot(c.text) for c in commands(body, console=console)
    ):
        return "command"
    return None


def parse_marker(body: str) -> Marker:
    """The marker's words: ``exit=0`` (or ``exit=0,2`` per command), ``timeout=30``,
    ``needs=registry,git,kube``,
    ``config=repository|trusted|resource|annotations|application|pre-commit``,
    ``run="imagebot ..."``,
    ``env=NAME,NAME``, ``output=ignore``, ``cwd=gitops``, ``synopsis``, ``skip reason="..."``,
    ``walkthrough``."""
    try:
        words = shlex.split(body)
    except ValueError as error:
        raise MarkerError(f"cannot read the marker: {error}") from None
    values: dict[str, str] = {}
    flags: set[str] = set()
    for word in words:
        key, equals, value = word.partition("=")
        if equals:
            values[key] = value
        else:
            flags.add(key)
    known = {"exit", "timeout", "needs", "config", "run", "env", "output", "cwd", "reason"}
    unknown = set(values) - known
    unknown |= flags - {"skip", "synopsis", "walkthrough"}
    if unknown:
        raise MarkerError(f"unknown marker word(s): {', '.join(sorted(unknown))}")
    if "skip" in flags:
        reason = values.get("reason", "").strip()
        if not reason:
            raise MarkerError('a skip needs a reason: <!-- example: skip reason="..." -->')
        return Marker(skip=reason)
    if "synopsis" in flags:
        return Marker(synopsis=True)
    if "walkthrough" in flags:
        return Marker(walkthrough=True)
    if "timeout" not in values or "exit" not in values:
        raise MarkerError("a marker needs exit= and timeout= (or synopsis, or skip reason=)")
    try:
        exits = tuple(int(code) for code in values["exit"].split(","))
        timeout = float(values["timeout"])
    except ValueError:
        raise MarkerError("exit= takes whole numbers, timeout= seconds") from None
    needs = frozenset(n for n in values.get("needs", "").split(",") if n)
    if needs - NEEDS:
        raise MarkerError(f"needs= knows {', '.join(sorted(NEEDS))}")
    config = values.get("config")
    if config is not None and config not in CONFIGS:
        raise MarkerError(f"config= is one of {', '.join(sorted(CONFIGS))}")
    if values.get("output", "check") not in ("check", "ignore"):
        raise MarkerError("output= is check or ignore")
    if values.get("cwd", ".") not in (".", "gitops"):
        raise MarkerError("cwd= is . (beside ./gitops) or gitops (inside it)")
    return Marker(
        exit=exits,
        timeout=timeout,
        needs=needs,
        config=config,
        run=values.get("run"),
        env=tuple(n for n in values.get("env", "").split(",") if n),
        output=values.get("output", "check") == "check",
        cwd=values.get("cwd", "."),
    )


def examples(root: Path = ROOT) -> list[Example]:
    """Every example of every document, in order, marked or not."""
    found: list[Example] = []
    for path in documents(root):
        relative = path.relative_to(root).as_posix()
        for line, info, body, marker_text in fenced_blocks(path.read_text(encoding="utf-8")):
            kind = kind_of(info, body)
            if kind is None:
                continue
            marker: Marker | None = None
            error: str | None = None
            if marker_text is not None:
                try:
                    marker = parse_marker(marker_text)
                except MarkerError as bad:
                    error = str(bad)
            found.append(Example(relative, line, info, body, kind, marker, error))
    return found


def placeholders(text: str) -> set[str]:
    """The ``<name>`` placeholders in ``text`` (HTML-ish words such as ``<br>`` do not occur in
    examples)."""
    return set(PLACEHOLDER.findall(text))
