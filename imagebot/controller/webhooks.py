"""Registry push webhooks: authenticate a delivery by its sender's scheme and read what was pushed.

Senders and their schemes: Docker Hub and Quay sign nothing, so their URL carries a secret token;
CNCF distribution notifications and Harbor send a configured ``Authorization`` header (a bearer
token); GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256``). This module only checks
and parses; ``imagebot.controller.web`` serves HTTP and triggers the automations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from imagebot.errors import ImagebotError
from imagebot.records import record
from imagebot.refs import parse_reference


class Sender(StrEnum):
    DOCKERHUB = "dockerhub"
    DISTRIBUTION = "distribution"
    HARBOR = "harbor"
    QUAY = "quay"
    GITHUB = "github"


# Senders that cannot sign or set headers: the secret travels in the URL path.
URL_TOKEN_SENDERS = frozenset({Sender.DOCKERHUB, Sender.QUAY})


@record
class Pushed:
    """One pushed image: canonical repository name (``docker.io/demo/flaskapp``) and tag."""

    repository: str
    tag: str | None


class WebhookRefused(ImagebotError):
    """A delivery not acted upon; ``outcome`` is the metrics label, ``status`` the HTTP answer.

    Permanent: the same delivery sent again is refused again.
    """

    permanent = True

    def __init__(self, outcome: str, status: int, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.status = status


def authenticate(
    sender: Sender,
    secret: str | None,
    *,
    headers: Mapping[str, str],
    body: bytes,
    url_token: str | None,
) -> None:
    """Raise ``WebhookRefused`` unless the delivery proves it knows ``secret``."""
    if not secret:
        raise WebhookRefused("bad_signature", 403, f"no webhook secret is configured for {sender}")
    if sender in URL_TOKEN_SENDERS:
        presented = url_token or ""
    elif sender is Sender.GITHUB:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        presented, secret = headers.get("X-Hub-Signature-256", ""), f"sha256={digest}"
    else:  # distribution and Harbor: a configured Authorization header, "Bearer" optional
        presented = headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(presented.encode(), secret.encode()):
        raise WebhookRefused("bad_signature", 401, f"{sender} delivery failed authentication")


def parse_pushes(sender: Sender, body: bytes, headers: Mapping[str, str]) -> list[Pushed]:
    """The images a delivery announces; an empty list for events that are not pushes."""
    try:
        document = json.loads(body)
    except ValueError:
        raise WebhookRefused("bad_payload", 400, f"{sender} delivery is not JSON") from None
    if not isinstance(document, dict):
        raise WebhookRefused("bad_payload", 400, f"{sender} delivery is not a JSON object")
    try:
        return _PARSERS[sender](document, headers)
    except (KeyError, TypeError, AttributeError, ImagebotError) as error:
        raise WebhookRefused("bad_payload", 400, f"{sender} delivery: unexpected shape") from error


def _dockerhub(document: dict[str, Any], headers: Mapping[str, str]) -> list[Pushed]:
    tag = document.get("push_data", {}).get("tag")
    return [Pushed(_canonical(document["repository"]["repo_name"]), tag)]


def _distribution(document: dict[str, Any], headers: Mapping[str, str]) -> list[Pushed]:
    pushes = []
    for event in document["events"]:
        target = event.get("target", {})
        # Blob uploads and pulls come through the same endpoint; only tagged manifests matter.
        if event.get("action") != "push" or not target.get("tag"):
            continue
        host = event.get("request", {}).get("host") or ""
        name = f"{host}/{target['repository']}" if host else target["repository"]
        pushes.append(Pushed(_canonical(name), target["tag"]))
    return pushes


def _harbor(document: dict[str, Any], headers: Mapping[str, str]) -> list[Pushed]:
    if document.get("type") != "PUSH_ARTIFACT":
        return []
    pushes = []
    for resource in document["event_data"]["resources"]:
        image = parse_reference(resource["resource_url"])
        pushes.append(Pushed(image.name, resource.get("tag") or image.tag))
    return pushes


def _quay(document: dict[str, Any], headers: Mapping[str, str]) -> list[Pushed]:
    name = _canonical(document["docker_url"])
    return [Pushed(name, tag) for tag in document.get("updated_tags") or [None]]


def _github(document: dict[str, Any], headers: Mapping[str, str]) -> list[Pushed]:
    event = headers.get("X-GitHub-Event", "")
    if event not in ("package", "registry_package") or document.get("action") != "published":
        return []  # ping, updated, deleted ...
    package = document.get("package") or document["registry_package"]
    if package.get("package_type", "").lower() not in ("container", "docker"):
        return []
    version = package["package_version"]
    tag = version.get("container_metadata", {}).get("tag", {}).get("name") or None
    url = version.get("package_url") or ""
    if url:
        image = parse_reference(url)
        return [Pushed(image.name, tag or image.tag)]
    owner = package["owner"]["login"].lower()
    return [Pushed(_canonical(f"ghcr.io/{owner}/{package['name']}"), tag)]


def _canonical(name: str) -> str:
    return parse_reference(name.strip()).name


_PARSERS = {
    Sender.DOCKERHUB: _dockerhub,
    Sender.DISTRIBUTION: _distribution,
    Sender.HARBOR: _harbor,
    Sender.QUAY: _quay,
    Sender.GITHUB: _github,
}
