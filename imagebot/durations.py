"""Durations as Flux users write them: Go's ``time.ParseDuration`` grammar, or plain seconds.

``parse_duration`` is the one parser behind ``imagebot run --interval`` and an ImageAutomation's
``spec.interval``. It reads text (``90s``, ``5m``, ``1h30m``, ``500ms``, ``1.5h``, ``90``) and
numbers (YAML's ``interval: 90``) into seconds. It sets no minimum: each caller checks its own;
the maximum (``MAX_SECONDS``) keeps every duration one that ``time.sleep`` and clocks can take.
"""

from __future__ import annotations

import math
import re

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


def _bounded(seconds: float, value: object) -> float:
    if seconds > MAX_SECONDS:  # also inf, from a long run of digits
        shown = repr(value) if len(repr(value)) <= 30 else f"{repr(value)[:27]}..."
        raise ConfigError(f"{shown} is longer than a year ({MAX_SECONDS:.0f}s); give less")
    return float(seconds)
