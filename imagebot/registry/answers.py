"""Decode a registry's JSON answer without trusting it: one place for the hostile cases.

A body is already bounded in size by the transport; here nesting depth (``json`` recurses and
raises ``RecursionError`` on a 100,000-deep array), bad encodings, ``NaN``/``Infinity`` and
non-object answers become a ``RegistryAnswerError`` naming what was asked. Shapes beyond
"a JSON object" are checked by the readers of each kind of answer; ``parse_time`` reads the
times they hold (config blobs, Hub's tags, push-time pages, the cache).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from imagebot.errors import RegistryAnswerError


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes, what: str) -> object:
    """The JSON value of ``body``; ``RegistryAnswerError`` for anything that is not plain JSON."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise RegistryAnswerError(
            f"{what}: the answer is JSON nested too deeply; refused"
        ) from None
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        reason = "not UTF-8" if isinstance(error, UnicodeDecodeError) else "not JSON"
        raise RegistryAnswerError(
            f"{what}: the registry answered something that is {reason} ({_short(error)})"
        ) from None


def load_object(body: bytes, what: str) -> dict[str, object]:
    """Like ``load_json``, for answers that must be a JSON object."""
    data = load_json(body, what)
    if not isinstance(data, dict):
        raise RegistryAnswerError(f"{what}: expected a JSON object, got {_kind(data)}")
    return data


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _short(error: ValueError) -> str:
    return str(error)[:120]


def parse_time(value: object) -> datetime | None:
    """RFC 3339 with any fraction length; the epoch and year 1 (reproducible builds) are None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Python < 3.11 semantics aside, Go writes up to 9 fractional digits
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits) :]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when if when.year > 1970 else None
