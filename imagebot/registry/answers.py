"""Decode a registry's JSON answer without trusting it: one place for the hostile cases.

A body is already bounded in size by the transport; here nesting depth (``json`` recurses and
raises ``RecursionError`` on a 100,000-deep array), bad encodings, ``NaN``/``Infinity`` and
non-object answers become a ``RegistryAnswerError`` naming what was asked. Shapes beyond
"a JSON object" are checked by the readers of each kind of answer.
"""

from __future__ import annotations

import json

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
