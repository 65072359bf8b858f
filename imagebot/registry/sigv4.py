"""AWS Signature Version 4 for one HTTP request, with hashlib and hmac only.

Just enough of SigV4 to sign an AWS JSON API call with an access key (and a session token): the
canonical request, the string to sign, the chain of derived keys and the ``Authorization``
header. botocore does the same, but it is a heavy import for one header, and imagebot's only AWS
call is ECR's ``DescribeImages``. Which request to sign and where it may be sent is the caller's
business (``ecr``); the credentials never enter a repr.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

from imagebot.records import record

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"  # RFC 3986's unreserved marks: the only ones SigV4 leaves unencoded


@record
class AwsCredentials:
    """An access key, and the session token of temporary credentials (STS, SSO, a role)."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(text: str, safe: str = _UNRESERVED) -> str:
    return quote(text, safe=safe)


def canonical_query(query: str) -> str:
    """Parameters encoded, then sorted by name and value."""
    pairs = sorted((_encode(k), _encode(v)) for k, v in parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], payload_hash: str
) -> tuple[str, str]:
    """The canonical request and its ``SignedHeaders`` list; every header given is signed.
    ``path`` is the path as sent (already encoded once: AWS services other than S3 encode it
    again); header values are trimmed and their inner runs of spaces collapsed."""
    values: dict[str, str] = {}
    for name, value in headers.items():
        values[name.lower()] = " ".join(value.split())
    names = sorted(values)
    lines = "".join(f"{name}:{values[name]}\n" for name in names)
    signed = ";".join(names)
    uri = _encode(path or "/", safe="/" + _UNRESERVED)
    text = f"{method.upper()}\n{uri}\n{canonical_query(query)}\n{lines}\n{signed}\n{payload_hash}"
    return text, signed


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{sha256_hex(canonical.encode())}"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The key derived for one day, region and service: the secret itself never signs."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def signature(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sign(  # noqa: PLR0917 - the request's parts and the scope, all needed
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """The headers to send: ``headers`` plus ``X-Amz-Date``, ``X-Amz-Security-Token`` (with a
    session token) and ``Authorization``. ``Host`` is signed as the URL names it, which is what
    ``requests`` sends; headers added later (``User-Agent``) are simply not signed."""
    parts = urlsplit(url)
    when = now.astimezone(UTC)
    amz_date, day = when.strftime("%Y%m%dT%H%M%SZ"), when.strftime("%Y%m%d")
    sent = {**headers, "X-Amz-Date": amz_date}
    if credentials.session_token:
        sent["X-Amz-Security-Token"] = credentials.session_token
    host = parts.netloc.rpartition("@")[2].lower()
    canonical, signed = canonical_request(
        method, parts.path, parts.query, {**sent, "host": host}, sha256_hex(body)
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    key = signing_key(credentials.secret_access_key, day, region, service)
    proof = signature(key, string_to_sign(amz_date, scope, canonical))
    sent["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={proof}"
    )
    return sent
