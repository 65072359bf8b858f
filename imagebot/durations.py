"""Durations as Flux users write them: Go's ``time.ParseDuration`` grammar.

``parse_interval`` reads an interval (``imagebot run --interval``, an ImageAutomation's
``spec.interval``) in exactly the grammar of ``INTERVAL_PATTERN``, which the CRD carries as its
``pattern``: the API server, the docs and this parser admit the same text (``90s``, ``5m``,
``1h30m``, ``500ms``, ``1.5h``) and nothing else, never bare seconds (``90`` would be a Go error
and a Flux error). ``parse_duration`` is laxer, for flags such as ``--interval-tick 10``: any Go
unit, or plain seconds. Neither sets a minimum: each caller checks its own; the maximum
(``MAX_SECONDS``) keeps every duration one that ``time.sleep`` and clocks can take.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from imagebot.errors import ConfigError

# Go's units; "µs" and "μs" are both spellings of microseconds in Go.
_UNITS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
# Longest units first so that "ms" is not read as "m" followed by a stray "s".
_UNIT = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_PART = re.compile(rf"({_NUMBER})({_UNIT})")
_GO_DURATION = re.compile(rf"(?:{_NUMBER}(?:{_UNIT}))+")
_SECONDS = re.compile(_NUMBER)
_MAX_TEXT = 64  # "1h30m15s500ms" is 13; a longer duration is a mistake or an attack

INTERVAL_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
"""An interval, as Flux's CRDs spell it: one or more number-unit pairs. Both a Python and an
ECMA-262 regular expression (the API server's dialect), so the CRD can carry it verbatim."""
INTERVAL_MAX_LENGTH = _MAX_TEXT
_INTERVAL = re.compile(INTERVAL_PATTERN)

MAX_SECONDS = 366 * 86400.0
"""A year: nothing in imagebot waits longer, and a longer wait overflows ``time.sleep``."""


def parse_duration(value: object) -> float:
    """Seconds in ``value``; a ``ConfigError`` saying how to write one when it is not a duration.

    Like Go, a text duration is a sequence of decimal numbers each with a unit (``1h30m``,
    ``2.5s``, ``300ms``); a bare number means seconds (Go accepts only ``0`` bare). ``value`` may
    be raw YAML or JSON, so anything but text or a number is refused, and so are negative,
    infinite and not-a-number durations: nothing in imagebot waits backwards. So is anything
    longer than ``MAX_SECONDS``.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{value!r} is not a duration; write e.g. 90s, 5m or 1h30m")
    if not isinstance(value, str):
        # Compared before any float(): a 400-digit int would overflow it.
        if (isinstance(value, float) and not math.isfinite(value)) or value < 0:
            raise ConfigError(f"{value!r} is not a duration; use zero or more seconds")
        return _bounded(value, value)
    text = value.strip()
    if len(text) > _MAX_TEXT:
        raise ConfigError(f"{text[:_MAX_TEXT]!r}...: too long for a duration")
    if _SECONDS.fullmatch(text):
        return _bounded(float(text), value)
    if not _GO_DURATION.fullmatch(text):
        raise ConfigError(f"{value!r} is not a duration; write e.g. 90s, 5m, 1h30m or 500ms")
    total = sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))
    return _bounded(total, value)


def parse_interval(value: object) -> float:
    """Seconds in an interval written as ``INTERVAL_PATTERN`` says; a ``ConfigError`` otherwise.

    Text only, as the CRD's ``type: string`` is: a YAML number (``interval: 90``) is refused
    with the fix, not read as seconds, so a file the API server would reject is never accepted
    here. No surrounding space either: the CRD's pattern would refuse it.
    """
    if not isinstance(value, str):
        raise ConfigError(f"{value!r} is not a duration; {_fix(value)}")
    if len(value) > INTERVAL_MAX_LENGTH:
        raise ConfigError(f"{value[:INTERVAL_MAX_LENGTH]!r}...: too long for a duration")
    if not _INTERVAL.fullmatch(value):
        raise ConfigError(f"{value!r} is not a duration; write e.g. 90s, 5m or 1h30m")
    total = sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(value))
    return _bounded(total, value)


def _fix(value: object) -> str:
    """How to write a YAML number as an interval: ``90`` -> ``"90s"``. (No float() here: a
    400-digit int would overflow it; NaN and infinities fail the comparison.)"""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= MAX_SECONDS:
        return f'write "{value:g}s" (a Go duration, a string)'
    return "write e.g. 90s, 5m or 1h30m"


def _bounded(seconds: float, value: object) -> float:
    if seconds > MAX_SECONDS:  # also inf, from a long run of digits
        shown = repr(value) if len(repr(value)) <= 30 else f"{repr(value)[:27]}..."
        raise ConfigError(f"{shown} is longer than a year ({MAX_SECONDS:.0f}s); give less")
    return float(seconds)


def http_date(value: str) -> datetime | None:
    """An RFC 2822 / HTTP date, aware (a zone of ``-0000`` means UTC, as RFC 2822 says); None for
    anything that does not parse or overflows."""
    try:
        when = parsedate_to_datetime(value)
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
