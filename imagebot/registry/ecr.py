"""ECR's ``DescribeImages`` as a push-time API: where it lives for a registry, and one signed page.

ECR says when each image was pushed (``imagePushedAt``) through its AWS API rather than the
registry: ``POST /`` to ``api.ecr.<region>.amazonaws.com`` (``ecr.<region>.api.aws`` for the
dual-stack registry names) in AWS's JSON 1.1 protocol, signed with SigV4 (``sigv4``). The
registry's name gives the account and the region. Reading the answer is ``pushpages.ecr_page``;
paging, limits and the fallback to manifests are ``pushtimes``'s.
"""

from __future__ import annotations

import json
import re
from dataclasses import field
from datetime import datetime

from imagebot.records import record
from imagebot.registry.sigv4 import AwsCredentials, sign

TARGET = "AmazonEC2ContainerRegistry_V20150921.DescribeImages"
CONTENT_TYPE = "application/x-amz-json-1.1"
SERVICE = "ecr"  # the SigV4 signing name of ECR's API
PAGE_SIZE = 1000  # the most DescribeImages gives per page
_REGION = r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2})"
_ACCOUNT = r"(?P<account>\d{12})"
# Registry names and their API's: the IPv4 ones (.cn in China) and the dual-stack ones.
_HOSTS = (
    (rf"{_ACCOUNT}\.dkr\.ecr\.{_REGION}\.amazonaws\.com", "api.ecr.{}.amazonaws.com"),
    (rf"{_ACCOUNT}\.dkr\.ecr\.{_REGION}\.amazonaws\.com\.cn", "api.ecr.{}.amazonaws.com.cn"),
    (rf"{_ACCOUNT}\.dkr-ecr\.{_REGION}\.on\.aws", "ecr.{}.api.aws"),
)


@record
class EcrRegistry:
    """An ECR registry: its AWS account, its region and its API's default base URL."""

    account: str
    region: str
    api: str


def ecr_registry(host: str) -> EcrRegistry | None:
    """The ECR registry a host names, or None for a name that is not ECR's own (a CNAME or a
    pull-through name cannot be mapped to an account and region)."""
    for pattern, api in _HOSTS:
        found = re.fullmatch(pattern, host.lower())
        if found is not None:
            region = found["region"]
            return EcrRegistry(found["account"], region, f"https://{api.format(region)}")
    return None


@record
class EcrSigning:
    """What an ECR API request is signed with: the credentials and the registry they read."""

    registry: EcrRegistry
    credentials: AwsCredentials = field(repr=False)


def describe_images(account: str, repository: str, token: str | None) -> bytes:
    """The body asking for one page of a repository's tagged images."""
    request: dict[str, object] = {
        "registryId": account,
        "repositoryName": repository,
        "filter": {"tagStatus": "TAGGED"},
        "maxResults": PAGE_SIZE,
    }
    if token:
        request["nextToken"] = token
    return json.dumps(request, separators=(",", ":")).encode()


def signed_request(
    signing: EcrSigning, url: str, repository: str, token: str | None, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one ``DescribeImages`` page request to ``url``, signed now: a
    signature holds for 5 minutes and this one host, so each page is signed as it is sent."""
    body = describe_images(signing.registry.account, repository, token)
    headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET, "Accept": "application/json"}
    region = signing.registry.region
    return body, sign("POST", url, headers, body, signing.credentials, region, SERVICE, now)
