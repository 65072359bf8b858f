"""Check and convert one value of one ``Kind``: the leaves of the settings grammar.

Each converter takes the table row and the raw value (YAML or JSON) and returns the typed value,
or raises ``Bad`` with a message that ``grammar`` prefixes with where the value stands. Reading
a ``FILE`` value reads that file and a ``DIRECTORY`` value is looked at; nothing else here
touches the outside world.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from imagebot.config import Receiver, RegistryHost
from imagebot.durations import parse_interval
from imagebot.errors import ConfigError
from imagebot.settings.fields import PLATFORM_PATTERN, Field, Kind

_PLATFORM = re.compile(PLATFORM_PATTERN)
MAX_SECRET_FILE_BYTES = 64 * 1024  # a password or token file; /dev/zero must not fill memory


class Bad(Exception):
    """A value that does not fit its field; the reader adds where it stands."""


def string_of(kind: Kind, value: object) -> str:
    """``value`` as a non-empty string; no NUL, which no path, name or Git argument may hold."""
    if not isinstance(value, str) or not value:
        raise Bad(f"expected {kind.value}, got {_shown(value)}")
    if "\0" in value:
        raise Bad(f"expected {kind.value}, got a string with a NUL character")
    return value


def _shown(value: object) -> str:
    """``value`` for an error: short, whatever its size (an int of 400 digits, a long text)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 60 else f"{text[:57]}..."


def _boolean(_entry: Field, value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"expected true or false, got {_shown(value)}")
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
    """The text of a small regular file (a password, a token): a FIFO, a device or a directory
    is refused before it is opened, so ``/dev/zero`` neither hangs nor fills memory."""
    path = string_of(Kind.FILE, value)
    try:
        found = _expanded(path)
        if not stat.S_ISREG(found.stat().st_mode):
            raise Bad(f"cannot read {path}: not a regular file")
        with found.open("rb") as handle:
            raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as error:
        raise Bad(f"cannot read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise Bad(f"cannot read {path}: larger than {MAX_SECRET_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Bad(f"cannot read {path}: not UTF-8 text") from None
    if not text:
        raise Bad(f"{path} is empty")
    return text


def _directory(_entry: Field, value: object) -> str:
    """A directory path; one that does not exist yet is made when first used, so the nearest
    part that exists must be a directory imagebot may write in."""
    path = string_of(Kind.DIRECTORY, value)
    found = _expanded(path)
    try:
        if found.exists():
            if not found.is_dir():
                raise Bad(f"{path} is not a directory")
            return path
        parent = next(p for p in found.absolute().parents if p.exists())
        if not parent.is_dir():
            raise Bad(f"{path} cannot be made: {parent} is not a directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise Bad(f"{path} cannot be made: {parent} is not writable")
    except OSError as error:
        raise Bad(f"{path}: {error.strerror or error}") from None
    return path


def _expanded(path: str) -> Path:
    try:
        return Path(path).expanduser()
    except RuntimeError:  # ~user of a user that does not exist, or no HOME
        raise Bad(f"{path}: cannot expand ~ here") from None


def _duration(entry: Field, value: object) -> float:
    try:
        seconds = parse_interval(value)
    except ConfigError as error:
        raise Bad(str(error)) from None
    if entry.minimum is not None and seconds < entry.minimum:
        raise Bad(f"{value!r} is shorter than {entry.minimum:g}s; imagebot would hammer")
    return seconds


def registry_host(value: object) -> str:
    """A registry host as image references spell it (``ghcr.io``, ``registry:5000``, ``[::1]``):
    a key no reference can name would be a setting that never applies, silently."""
    from imagebot.errors import ReferenceError_
    from imagebot.refs import parse_reference

    host = string_of(Kind.STRING, value)
    head, _, port = host.rpartition(":")
    bad = "/" in host or (bool(head) and port.isdigit() and not 0 < int(port) <= 65535)
    if not bad:
        try:
            parse_reference(f"{host}/probe")
        except ReferenceError_:
            bad = True
    if bad:
        raise Bad(f"{host!r} is not a registry host such as ghcr.io or registry:5000")
    return host


def receiver_problem(receiver: Receiver, *, resolved: bool) -> str | None:
    """What is wrong with a notification receiver, or None. ``resolved`` once its address and
    token are known (a file's entry; a CR's after its Secret was read); before that a CR's entry
    needs only the Secret that will hold them. Never quotes the address: it may be a secret."""
    if not receiver.type:
        return "type is required: generic, generic-hmac or slack"
    if receiver.address is not None and not _web_address(receiver.address):
        return "address must be an http:// or https:// URL with a host"
    if receiver.address is None and (resolved or receiver.secret_ref is None):
        return "needs an address: address, addressEnv or addressFile (a CR: the Secret's address)"
    hmac = receiver.type == "generic-hmac"
    if hmac and receiver.token is None and (resolved or receiver.secret_ref is None):
        return "generic-hmac signs with a token: tokenEnv or tokenFile (a CR: the Secret's token)"
    return None


def _web_address(address: str) -> bool:
    try:
        parts = urlsplit(address)
        host = parts.hostname
    except ValueError:
        return False
    printable = address.isprintable() and not any(c.isspace() for c in address)
    return parts.scheme in ("http", "https") and bool(host) and printable


AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
"""The environment variables every AWS SDK reads first, in the order of ``PushTimes``' fields."""


def aws_defaults(host: RegistryHost, env: Mapping[str, str]) -> RegistryHost:
    """``host`` with ``pushTimes: {api: ecr}``'s credentials taken from ``AWS_ENV`` when the
    file names neither key: as the AWS CLI reads them, so a CI job's credentials just work. The
    session token comes along only with that key: a token of other credentials breaks the
    signature. Naming one key but not the other is an error (``Bad``); an unset default is not
    (the API is then left off, with one line saying why)."""
    times = host.push_times
    if times is None or times.api != "ecr":
        return host
    named = (times.access_key_id is not None, times.secret_access_key is not None)
    if any(named) and not all(named):
        raise Bad("name both accessKeyIdEnv and secretAccessKeyEnv, or neither")
    if any(named):
        return host
    key, secret, token = (env.get(name) or None for name in AWS_ENV)
    if times.session_token is not None:
        raise Bad("sessionTokenEnv goes with accessKeyIdEnv and secretAccessKeyEnv")
    found = replace(times, access_key_id=key, secret_access_key=secret, session_token=token)
    return replace(host, push_times=found)


def _secret(_entry: Field, value: object) -> str:
    name = value.get("name") if isinstance(value, Mapping) else None
    if not isinstance(name, str) or not name:
        raise Bad("expected {name: SECRET}, a Secret in this namespace")
    return name


def _number(entry: Field, value: object) -> int | float:
    whole = entry.kind is Kind.INT
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        raise Bad(f"expected {entry.kind.value}, got {_shown(value)}")
    # Python compares an int of any size with a float bound exactly, without float(value):
    # a 400-digit YAML integer is out of range, not an OverflowError.
    if isinstance(value, float) and not math.isfinite(value):
        raise Bad(f"{value!r} is not a finite number")
    low, high = entry.minimum, entry.maximum
    if low is not None and (value <= low if entry.above else value < low):
        raise Bad(f"must be {'above' if entry.above else 'at least'} {low:g}, got {_shown(value)}")
    if high is not None and value > high:
        raise Bad(f"must be at most {high:g}, got {_shown(value)}")
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
