"""A registry's reply as data, read within bounds: the body, its error details, Retry-After.

``read_bounded`` reads a body up to a byte bound and refuses more (``RegistryAnswerError``);
``error_detail`` says what an error answer holds without echoing it; ``retry_after_seconds``
reads the header as seconds or a date, bounded. No requests are made here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from imagebot.durations import http_date
from imagebot.errors import RegistryAnswerError, RegistryError
from imagebot.records import record
from imagebot.registry.answers import load_json
from imagebot.registry.blocks import MAX_BLOCK_SECONDS

DEFAULT_RETRY_AFTER_SECONDS = 60.0


@record
class Reply:
    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    url: str


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def safe_url(url: str) -> str:
    """The URL without its query: presigned storage URLs carry signatures there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float:
    """``Retry-After`` as seconds or an HTTP date; a missing or odd value means a minute, and
    no value means more than a day (``MAX_BLOCK_SECONDS``)."""
    if not value:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        when = http_date(value)
        if when is None:
            return DEFAULT_RETRY_AFTER_SECONDS
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return DEFAULT_RETRY_AFTER_SECONDS
    return min(MAX_BLOCK_SECONDS, max(0.0, seconds))


# AWS's JSON APIs (ECR's) answer most refusals with 400 and name them in ``__type``. Asking again
# cannot help these; ``ThrottlingException`` and the other 400s may pass, as a 5xx may.
AWS_AUTH_REFUSALS = frozenset(
    {
        "AccessDeniedException",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "NotAuthorized",
        "UnrecognizedClientException",
    }
)
AWS_NOT_FOUND = frozenset({"RepositoryNotFoundException"})


def aws_error_type(reply: Reply) -> str | None:
    """The short name of an AWS JSON error (``...#RepositoryNotFoundException``), if it is one."""
    try:
        data = load_json(reply.body[:4096], "an error answer")
    except RegistryAnswerError:
        return None
    aws = data.get("__type") if isinstance(data, dict) else None
    return aws.rpartition("#")[2] if isinstance(aws, str) else None


def error_detail(reply: Reply) -> str:
    """A short, safe description of an error body: the registry's error codes, or its kind."""
    content_type = reply.headers.get("content-type", "")
    text = reply.body[:4096].decode("utf-8", "replace")
    if "html" in content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
        return "an HTML page instead of a registry answer (a proxy or login page?)"
    try:
        data = load_json(reply.body[:4096], "an error answer")
    except RegistryAnswerError:
        return "no registry error details"
    aws = data.get("__type") if isinstance(data, dict) else None
    if isinstance(aws, str) and isinstance(data, dict):
        # AWS's JSON protocol (ECR's API): {"__type": "...#RepositoryNotFoundException", ...}
        message = data.get("message") or data.get("Message") or ""
        return f"{aws.rpartition('#')[2][:60]}: {str(message)[:160]}"
    errors = data.get("errors") if isinstance(data, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return "no registry error details"
    return f"{str(first.get('code', '?'))[:40]}: {str(first.get('message', ''))[:160]}"


def read_bounded(response: requests.Response, max_bytes: int, host: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared[:20]) > max_bytes:
        raise RegistryAnswerError(
            f"{host} announced {declared[:20]} bytes, over the {max_bytes} byte bound"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise RegistryAnswerError(f"{host} sent more than {max_bytes} bytes; refused")
        chunks.append(chunk)
    return b"".join(chunks)


def late(host: str, what: str, seconds: float) -> RegistryError:
    """The transient error of an exchange that ran past its whole-request deadline."""
    return RegistryError(
        f"{host} did not finish sending {what} within {seconds:g} s (timeoutSeconds "
        f"bounds each whole request, body included); left alone this time, run again later"
    )


def failure_reason(error: BaseException) -> str:
    """The exception's kind and first words: enough to tell a reset from a refusal."""
    text = str(error).splitlines()[0][:160] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
