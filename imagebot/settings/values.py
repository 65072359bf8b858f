"""Check and convert one value of one ``Kind``: the leaves of the settings grammar.

Each converter takes the table row and the raw value (YAML or JSON) and returns the typed value,
or raises ``Bad`` with a message that ``grammar`` prefixes with where the value stands. Reading
a ``FILE`` value reads that file and a ``DIRECTORY`` value is looked at; nothing else here
touches the outside world.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from imagebot.durations import parse_duration
from imagebot.errors import ConfigError
from imagebot.settings.fields import PLATFORM_PATTERN, Field, Kind

_PLATFORM = re.compile(PLATFORM_PATTERN)


class Bad(Exception):
    """A value that does not fit its field; the reader adds where it stands."""


def string_of(kind: Kind, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise Bad(f"expected {kind.value}, got {value!r}")
    return value


def _boolean(_entry: Field, value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"expected true or false, got {value!r}")
    return value


def _string(entry: Field, value: object) -> str:
    return string_of(entry.kind if entry.kind is not Kind.STRINGS else Kind.STRING, value)


def _platform(_entry: Field, value: object) -> str:
    text = string_of(Kind.PLATFORM, value)
    if not _PLATFORM.fullmatch(text):
        raise Bad(f"{text!r} is not {Kind.PLATFORM.value}")
    return text


def _choice(entry: Field, value: object) -> str:
    text = string_of(entry.kind, value)
    if text not in entry.choices:
        raise Bad(f"{text!r}: expected one of {', '.join(entry.choices)}")
    return text


def _file(_entry: Field, value: object) -> str:
    path = string_of(Kind.FILE, value)
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as error:
        raise Bad(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise Bad(f"cannot read {path}: not UTF-8 text") from None


def _directory(_entry: Field, value: object) -> str:
    """A directory path; one that does not exist yet is made when first used."""
    path = string_of(Kind.DIRECTORY, value)
    found = Path(path).expanduser()
    if found.exists() and not found.is_dir():
        raise Bad(f"{path} is not a directory")
    return path


def _duration(entry: Field, value: object) -> float:
    try:
        seconds = parse_duration(value)
    except ConfigError as error:
        raise Bad(str(error)) from None
    if entry.minimum is not None and seconds < entry.minimum:
        raise Bad(f"{value!r} is shorter than {entry.minimum:g}s; imagebot would hammer")
    return seconds


def _secret(_entry: Field, value: object) -> str:
    name = value.get("name") if isinstance(value, Mapping) else None
    if not isinstance(name, str) or not name:
        raise Bad("expected {name: SECRET}, a Secret in this namespace")
    return name


def _number(entry: Field, value: object) -> int | float:
    whole = entry.kind is Kind.INT
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        raise Bad(f"expected {entry.kind.value}, got {value!r}")
    if not math.isfinite(value):
        raise Bad(f"{value!r} is not a finite number")
    low, high = entry.minimum, entry.maximum
    if low is not None and (value <= low if entry.above else value < low):
        raise Bad(f"must be {'above' if entry.above else 'at least'} {low:g}, got {value!r}")
    if high is not None and value > high:
        raise Bad(f"must be at most {high:g}, got {value!r}")
    return value if whole else float(value)


CONVERTERS: dict[Kind, Callable[[Field, object], object]] = {
    Kind.STRING: _string,
    Kind.BOOL: _boolean,
    Kind.INT: _number,
    Kind.NUMBER: _number,
    Kind.PLATFORM: _platform,
    Kind.CHOICE: _choice,
    Kind.FILE: _file,
    Kind.DIRECTORY: _directory,
    Kind.DURATION: _duration,
    Kind.SECRET: _secret,
}
# List kinds and the kind of their items.
ITEMS = {Kind.STRINGS: Kind.STRING, Kind.PLATFORMS: Kind.PLATFORM, Kind.SECRETS: Kind.SECRET}


_TYPE_NAMES = ((bool, "a boolean"), (str, "a string"), (list, "a list"), (Mapping, "a mapping"))


def type_name(value: object) -> str:
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__
