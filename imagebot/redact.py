"""The one redactor: secrets out of every text that leaves the process.

Removes the secrets imagebot was given or obtained (registry passwords and tokens, the Git
token), ``Authorization``/``Proxy-Authorization`` values, URL userinfo and URL query values named
like a credential. The edges ``remember`` each secret the moment they hold it; the shells pass
their output, logs, events, status and commit messages through ``redact``. It does not decide
what to print and it never raises: a redactor that fails would leak what it was meant to hide.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask ordinary words and digits

_HEADER = re.compile(
    r"(?P<keep>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:basic|bearer|token|digest|negotiate)\s+)?)[^\s\"',;}\]]+",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://)(?P<info>[^/@\s\"'<>]+)@", re.IGNORECASE)
_USER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,16}")  # ``git@``, ``x-access-token@``: a name, kept
_QUERY = re.compile(
    r"(?P<keep>[?&;][\w.-]*(?:token|password|passwd|secret|key|signature|credential)[\w.-]*=)"
    r"[^&#;\s\"'<>]+",
    re.IGNORECASE,
)


class Redactor:
    """Masks its own secrets, every secret ``remember``ed in this process, and the patterns.

    Instances let a caller add secrets that matter only to it (a Git workspace's token); the
    patterns and the process-wide secrets apply to every instance.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Remember secrets; short or empty ones are ignored (they would mask ordinary text)."""
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH} - self._secrets
        if not fresh:
            return
        with self._lock:
            self._secrets |= fresh
            # Longest first, so a secret that contains another is removed whole.
            self._ordered = sorted(self._secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        ordered = self._ordered if self is _PROCESS else self._ordered + _PROCESS._ordered
        for secret in ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _HEADER.sub(rf"\g<keep>{MASK}", text)
        text = _USERINFO.sub(_userinfo, text)
        return _QUERY.sub(rf"\g<keep>{MASK}", text)


def _userinfo(match: re.Match[str]) -> str:
    """``user:password@`` loses its password; a name-shaped user stays, a token-sized one not."""
    user, colon, _ = match["info"].partition(":")
    kept = user if _USER_NAME.fullmatch(user) else MASK
    return f"{match['keep']}{kept}{colon and ':' + MASK}@"


_PROCESS = Redactor()


def remember(*secrets: str | None) -> None:
    """Mask these secrets in everything this process prints, logs, posts or commits from now on."""
    _PROCESS.add(*secrets)


def redact(text: str) -> str:
    """``text`` without any secret this process knows of and without credential-shaped parts."""
    return _PROCESS(text)


def redact_tree(value: Any) -> Any:
    """Every string inside nested dicts and lists redacted (a status patch, a JSON document)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(item) for item in value]
    return value


_installed = False
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Redact every log record this process creates, whatever handler later writes it.

    A record factory sees each record once, before any handler (ours, kopf's or logging's
    last-resort one) formats it, so no handler can be left out. Idempotent.
    """
    global _installed  # noqa: PLW0603 - one factory per process, installed once
    with _install_lock:
        if _installed:
            return
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            try:
                record.msg, record.args = redact(record.getMessage()), None
            except Exception:  # a bad format string must still be logged, redacted
                record.msg, record.args = redact(str(record.msg)), None
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
