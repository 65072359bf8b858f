"""The ``regex:`` / ``regexp:`` policy, and the Go regex dialect shared with filters and globs.

Patterns are written for Go's RE2 (Flux and Argo CD are Go) and run on RE2 (``google-re2``):
matching takes linear time, so no pattern can hang a run (Python's ``re`` backtracks: ``^(a+)+$``
against ``aaaa...a-`` never ends). A walk over the pattern first refuses, with position and
reason, what Go refuses but RE2's C++ build would take; the policy searches unanchored (write
``^...$``); the newest creation time wins (``timed``).
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any, Protocol

from imagebot.errors import PolicyError
from imagebot.policy.timed import TimeOrdered

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class Match(Protocol):
    """What callers read from a match (RE2's and Python's match objects both have it)."""

    def group(self, index: int | str, /) -> str | None: ...


class Regex(Protocol):
    """A compiled pattern: RE2's ``_Regexp`` (Python's ``re.Pattern`` has the same shape)."""

    @property
    def groups(self) -> int: ...
    @property
    def groupindex(self) -> Mapping[str, int]: ...
    def search(self, text: str) -> Match | None: ...
    def fullmatch(self, text: str) -> Match | None: ...


def regex_policy(pattern: str) -> TimeOrdered:
    """The ordering for ``regex:PATTERN``; PolicyError when the regex does not compile."""
    # An empty regex is valid and finds every tag, as in Go (and as an empty filter does).
    compile_regex(pattern, "regex policy")  # the Go dialect's refusals, with positions
    return TimeOrdered(pattern, re2_tester(pattern), f"does not match the regex {pattern!r}")


def compile_regex(pattern: str, what: str) -> Regex:
    """Compile a Go-style regex on RE2; ``what`` names it in errors ("filter", "regex policy").

    The Go dialect walk refuses, with a position, what Go refuses. When RE2 itself refuses the
    pattern, Python's compiler (which only parses here; it never matches) usually names the
    position too; otherwise RE2's reason is given with the place of the fragment it quotes.
    """
    translated = _GoRegex(pattern, what).translate()
    try:
        return compile_re2(pattern)
    except PolicyError as refused:
        _python_reason(translated, pattern, what)
        raise PolicyError(f"invalid {what} {pattern!r}: {refused}") from None


def compile_re2(pattern: str) -> Regex:
    """``pattern`` compiled by RE2, imported on first use (start-up stays fast without it),
    with its logging of parse errors to stderr turned off; PolicyError carries RE2's reason
    and, where it can be found, the position of the fragment it names."""
    import re2  # lazy: only policies with a pattern pay for the import

    try:
        compiled: Regex = re2.compile(pattern, _options(re2))
    except re2.error as error:
        raw = error.args[0] if error.args else ""
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        _, _, fragment = reason.partition(": ")
        at = pattern.find(fragment) if fragment else -1
        raise PolicyError(f"{reason}{f' at position {at}' if at >= 0 else ''}") from None
    return compiled


def re2_tester(pattern: str, *, whole: bool = False) -> Callable[[str], object]:
    """A yes/no matcher for a pattern ``compile_re2`` accepted: True when ``pattern`` is found
    in the text (matches all of it when ``whole``), None otherwise.

    Choosing among 100,000 tags needs no groups: RE2 answers from its DFA, and calling the
    compiled program directly skips the wrapper's per-call span decoding (3-5x faster, which
    keeps hostile patterns over 100,000 tags under a second). Without that entry point (another
    google-re2 build) the public ``search``/``fullmatch`` give the same answers.
    """
    import re2

    public = compile_re2(pattern)
    fallback = public.fullmatch if whole else public.search
    program: Any = getattr(getattr(re2, "_re2", None), "RE2", None)
    if program is None or not all(hasattr(program, n) for n in ("Match", "Anchor", "ok")):
        return fallback
    options = _options(re2)
    options.never_capture = True
    compiled = program(pattern.encode("utf-8", "surrogatepass"), options)
    if not compiled.ok():
        return fallback
    anchor = program.Anchor.ANCHOR_BOTH if whole else program.Anchor.UNANCHORED
    match = compiled.Match

    def found(text: str) -> object:
        data = text.encode("utf-8", "surrogatepass")
        return True if match(anchor, data, 0, len(data))[0][0] >= 0 else None

    return found


def _options(re2: Any) -> Any:
    """RE2's options for imagebot: parse errors are not logged to stderr (they come back as a
    PolicyError with the pattern's position); otherwise RE2's defaults, which are Go's syntax."""
    options = re2.Options()
    options.log_errors = False
    return options


def _python_reason(translated: str, pattern: str, what: str) -> None:
    """Raise Python's reading of a pattern RE2 refused, when Python refuses it too: its
    messages name the position (``unterminated character set at position 0``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like: Go has no sets
            re.compile(translated, re.ASCII)
    except re.error as error:
        at = f" at position {error.pos}" if error.pos is not None else ""
        raise PolicyError(f"invalid {what} {pattern!r}: {error.msg}{at}") from error
    except RecursionError:
        return  # too deeply nested for Python's parser: RE2's reason stands


# Go's named classes, spelled as Python class contents.
_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_REPEAT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_FLAGS = re.compile(r"\(\?([A-Za-z-]*)\)")  # (?i): flags until the end of the enclosing group
_UNSUPPORTED = {
    "(?=": "lookahead",
    "(?!": "negative lookahead",
    "(?<=": "lookbehind",
    "(?<!": "negative lookbehind",
    "(?>": "atomic group",
    "(?#": "comment group",
    "(?(": "conditional group",
    "(?P=": "backreference",
}


class _GoRegex:
    """Refuse what Go refuses (lookaround, backreferences, possessive repeats, repeats over
    1000, RE2's C++-only ``\\C``) with the user's positions, and spell the pattern in Python's
    syntax, which is only parsed, to name the position of other errors."""

    def __init__(self, pattern: str, what: str) -> None:
        self.pattern, self.what = pattern, what
        self.out: list[str] = []
        # Per open group, the flags of the (?flags) groups set inside it: Go lets them stand
        # anywhere, Python only at the start, so they become scoped (?flags:...) groups that
        # close at the group's `|` and `)` and reopen after each `|`.
        self.scopes: list[list[str]] = [[]]

    def fail(self, at: int, reason: str, why: str = "") -> PolicyError:
        why = why or "Go's regex syntax, which Flux and Argo CD use, does not have it"
        return PolicyError(
            f"invalid {self.what} {self.pattern!r}: {reason} at position {at} ({why})"
        )

    def translate(self) -> str:
        p, i, out = self.pattern, 0, self.out
        while i < len(p):
            c = p[i]
            if c == "\\":
                i = self.escape(i)
            elif c == "[":
                i = self.char_class(i)
            elif c == "(" and p.startswith("(?", i):
                i = self.group(i)
            elif c == "{" and (m := _REPEAT.match(p, i)):
                if any(int(n) > 1000 for n in m.group(1, 3) if n):
                    raise self.fail(i, "a repeat count over 1000")
                out.append(m.group())
                i = m.end()
                self.not_possessive(i)
            elif c == "{":
                out.append("\\{")  # not a repeat in Go (`x{,3}`): a literal brace
                i += 1
            elif c in "()|":
                self.structure(c)
                i += 1
            else:
                out.append(c)
                i += 1
                if c in "*+?":
                    self.not_possessive(i)
        out.append(")" * len(self.scopes[0]))
        return "".join(out)

    def structure(self, c: str) -> None:
        """A plain group opening, a group closing or an alternation, with flag scopes."""
        if c == "(":
            self.scopes.append([])
            self.out.append(c)
            return
        scope = self.scopes[-1]
        self.out.append(")" * len(scope))
        self.out.append(c)
        if c == "|":
            self.out.extend(f"(?{flags}:" for flags in scope)
        elif len(self.scopes) > 1:
            self.scopes.pop()
        else:
            scope.clear()  # an unbalanced ')': Python's compiler reports it

    def not_possessive(self, i: int) -> None:
        if self.pattern[i : i + 1] == "+":
            raise self.fail(i - 1, "a possessive repeat (a repeat followed by '+')")

    def escape(self, i: int) -> int:
        p = self.pattern
        nxt = p[i + 1 : i + 2]
        if nxt == "z":
            self.out.append("\\Z")  # Go's end of text
        elif nxt == "Q":  # \Q...\E: literal text
            end = p.find("\\E", i + 2)
            end = len(p) if end == -1 else end
            self.out.append(re.escape(p[i + 2 : end]))
            return end + 2
        elif (nxt.isdigit() and nxt != "0") or nxt in ("Z", "g", "N", "u", "U", "C"):
            raise self.fail(i, f"the escape \\{nxt}")
        else:
            self.out.append(p[i : i + 2])
        return i + 2

    def group(self, i: int) -> int:
        p = self.pattern
        for opening, name in _UNSUPPORTED.items():
            if p.startswith(opening, i):
                raise self.fail(i, f"a {name} {opening!r}")
        flags = _FLAGS.match(p, i)
        if flags is not None and self.out:
            self.out.append(f"(?{flags.group(1)}:")
            self.scopes[-1].append(flags.group(1))
            return flags.end()
        if flags is not None:
            self.out.append(flags.group())  # at the very start Python takes them as they are
            return flags.end()
        self.scopes.append([])
        if p.startswith("(?<", i):
            self.out.append("(?P<")  # Go 1.22's (?<name>...)
            return i + 3
        self.out.append("(?")
        return i + 2

    def char_class(self, i: int) -> int:
        p, out = self.pattern, self.out
        out.append("[")
        i += 1
        if p[i : i + 1] == "^":
            out.append("^")
            i += 1
        if p[i : i + 1] == "]":
            out.append("\\]")
            i += 1
        while i < len(p) and p[i] != "]":
            if p.startswith("[:", i) and (end := p.find(":]", i + 2)) != -1:
                name = p[i + 2 : end]
                if name.startswith("^") and name[1:] in _POSIX:
                    raise self.fail(i, f"[:{name}:]", "not supported here; write [^[:{name[1:]}:]]")
                if name not in _POSIX:
                    raise self.fail(i, f"[:{name}:]", f"known classes: {', '.join(_POSIX)}")
                out.append(_POSIX[name])
                i = end + 2
            elif p[i] == "\\":
                out.append(p[i : i + 2])
                i += 2
            else:
                # Python reads '[', '&&', '||', '~~' inside a class as future set syntax.
                out.append("\\" + p[i] if p[i] in "[&|~" else p[i])
                i += 1
        if i < len(p):
            out.append("]")
        return i + 1
