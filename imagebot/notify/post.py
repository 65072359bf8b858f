"""Deliver one notice to one receiver: sign, POST, retry briefly, say how it went.

The edge of notifications, and the one place their HTTP failures are classified. A receiver's
address and token are secrets: no message here carries the URL (requests' exceptions quote it,
so only their type is kept), and the receiver is named by its label. Redirects are never
followed (a 3xx fails: give the final address), so a receiver cannot send the signed body on
to another host. It raises nothing: a delivery that failed is a ``Delivery`` that says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from imagebot import __version__
from imagebot.config import Receiver
from imagebot.durations import http_date
from imagebot.notify.notice import Notice, generic_body, slack_body
from imagebot.records import record

if TYPE_CHECKING:
    import requests

MAX_ATTEMPTS = 3
BACKOFF_SECONDS = (1.0, 3.0)  # before the second and the third attempt
MAX_RETRY_AFTER_SECONDS = 10.0  # a 429 asking for longer ends the delivery: it is reported
DEADLINE_SECONDS = 20.0  # every attempt to one receiver, waits included
TIMEOUT_SECONDS = (5.0, 10.0)  # connect, read
SIGNATURE_HEADER = "X-Signature"


@record
class Delivery:
    """How one delivery went: ``detail`` says why it failed (``HTTP 500``, ``timed out``)."""

    receiver: str
    delivered: bool
    attempts: int
    detail: str = ""

    def __str__(self) -> str:
        if self.delivered:
            return f"notified {self.receiver}"
        return (
            f"notification to {self.receiver} failed after {self.attempts} attempt(s): "
            f"{self.detail}"
        )


def sign(body: bytes, token: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: Flux's ``generic-hmac`` X-Signature, keyed by the
    token as UTF-8 bytes."""
    digest = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def request_for(receiver: Receiver, notice: Notice) -> tuple[bytes, dict[str, str]]:
    """The exact bytes to POST and their headers (the signature is of these very bytes)."""
    payload = slack_body(notice) if receiver.type == "slack" else generic_body(notice)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"imagebot/{__version__}"}
    if receiver.type == "generic-hmac" and receiver.token:
        headers[SIGNATURE_HEADER] = sign(body, receiver.token)
    return body, headers


def deliver(
    receiver: Receiver,
    notice: Notice,
    *,
    session: requests.Session,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Delivery:
    """POST ``notice`` to ``receiver``: up to ``MAX_ATTEMPTS`` for no answer, 5xx, 408 and 429
    (its Retry-After honoured up to ``MAX_RETRY_AFTER_SECONDS``), within ``DEADLINE_SECONDS``."""
    body, headers = request_for(receiver, notice)
    deadline = clock() + DEADLINE_SECONDS
    detail = "no address"
    attempt = 0
    while receiver.address and attempt < MAX_ATTEMPTS:
        attempt += 1
        ok, detail, wait = _attempt(session, receiver.address, body, headers)
        if ok:
            return Delivery(receiver.label, True, attempt)
        if wait is None or attempt == MAX_ATTEMPTS:
            break
        wait = max(wait, BACKOFF_SECONDS[attempt - 1])
        if clock() + wait > deadline:
            detail += f"; no time left to wait {wait:g}s for another attempt"
            break
        sleep(wait)
    return Delivery(receiver.label, False, attempt, detail)


def _attempt(
    session: requests.Session, address: str, body: bytes, headers: dict[str, str]
) -> tuple[bool, str, float | None]:
    """One POST: (delivered, what went wrong, seconds to wait before retrying or None for a
    failure that retrying cannot mend)."""
    import requests

    try:
        answer = session.post(
            address,
            data=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,  # the answer's body is never read: a huge one costs nothing
        )
    except requests.Timeout:
        return False, "timed out", 0.0
    except requests.RequestException as error:  # its text quotes the URL: keep the type only
        return False, f"no answer ({type(error).__name__})", 0.0
    with answer:
        return _judged(answer.status_code, answer.headers.get("Retry-After"))


def _judged(status: int, after_header: str | None) -> tuple[bool, str, float | None]:
    """An answer's status as ``_attempt`` returns it: 2xx delivered; no redirect followed; 429
    waits its Retry-After when that is short; 5xx and 408 are retried; other 4xx are not."""
    if 200 <= status < 300:
        return True, "", None
    if 300 <= status < 400:
        return False, f"HTTP {status}: redirects are not followed; give the final address", None
    wait: float | None = None
    if status == 429:
        after = retry_after(after_header)
        if after is not None and after > MAX_RETRY_AFTER_SECONDS:
            return False, f"HTTP 429, asked to wait {after:g}s", None
        wait = after or 0.0
    elif status >= 500 or status == 408:
        wait = 0.0
    return False, f"HTTP {status}", wait


def retry_after(value: Any, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None if
    absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    when = http_date(text)  # a zone-less date is UTC, never the host's local time
    return None if when is None else max(0.0, when.timestamp() - now())
