"""Webhook payloads are untrusted: they authenticate by their sender's scheme, and a payload that
names images no automation uses changes nothing, whatever it claims.

The receiver runs as a real aiohttp server over the emulated API server; a trigger would show as
the ``reconcile-at`` annotation it leaves on the automation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from imagebot.controller.crd import REQUESTED_AT
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from imagebot.controller.web import make_app
from imagebot.controller.webhooks import Sender
from tests.controller_support import api_with_automation, served
from tests.kube_emulator import RunningApi

SECRET = "hook-s3cret-9f2c"
USED = "127.0.0.1:5000/demo/flaskapp"
AUTOMATION = "/apis/imagebot.io/v1alpha1/namespaces/trust/imageautomations"


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from api_with_automation("trust", "app", [USED])


def metadata(api: RunningApi) -> dict[str, Any]:
    found: dict[str, Any] = api.session.get(f"{api.url}{AUTOMATION}/app", timeout=5).json()
    return found


def distribution(repository: str, host: str = "127.0.0.1:5000") -> dict[str, Any]:
    return {
        "events": [
            {
                "action": "push",
                "request": {"host": host},
                "target": {"repository": repository, "tag": "9.9.9"},
            }
        ]
    }


# (sender, payload naming an image the automation does not use, extra headers)
UNUSED = [
    pytest.param(Sender.DISTRIBUTION, distribution("demo/other"), id="distribution-other-repo"),
    pytest.param(
        Sender.DISTRIBUTION, distribution("demo/flaskapp", "evil.example"), id="distribution-host"
    ),
    pytest.param(
        Sender.DOCKERHUB,
        {"push_data": {"tag": "1"}, "repository": {"repo_name": "demo/flaskapp"}},
        id="dockerhub-same-path-other-registry",
    ),
    pytest.param(
        Sender.HARBOR,
        {
            "type": "PUSH_ARTIFACT",
            "event_data": {"resources": [{"tag": "v2", "resource_url": "harbor.example/x/y:v2"}]},
        },
        id="harbor",
    ),
    pytest.param(Sender.QUAY, {"docker_url": "quay.io/acme/api", "updated_tags": ["1"]}, id="quay"),
    pytest.param(
        Sender.GITHUB,
        {
            "action": "published",
            "package": {
                "name": "app",
                "package_type": "CONTAINER",
                "owner": {"login": "acme"},
                "package_version": {"package_url": "ghcr.io/acme/app:v1"},
            },
        },
        id="github",
    ),
]


def delivery(
    sender: Sender, payload: dict[str, Any], secret: str
) -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) authenticated with ``secret`` by the sender's own scheme."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    path = f"/hooks/{sender}"
    if sender in (Sender.DOCKERHUB, Sender.QUAY):
        path += f"/{secret}"
    elif sender is Sender.GITHUB:
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers |= {"X-Hub-Signature-256": f"sha256={signature}", "X-GitHub-Event": "package"}
    else:
        headers["Authorization"] = f"Bearer {secret}"
    return path, body, headers


@pytest.mark.asyncio
@pytest.mark.parametrize(("sender", "payload"), UNUSED)
async def test_an_authenticated_payload_naming_unused_images_changes_nothing(
    api: RunningApi, sender: Sender, payload: dict[str, Any]
) -> None:
    app = make_app(Cluster(api.client()), Metrics(), {sender: SECRET})
    before = metadata(api)
    path, body, headers = delivery(sender, payload, SECRET)
    async with TestClient(await served(app)) as client:
        answer = await client.post(path, data=body, headers=headers)
        assert answer.status < 300 or answer.status == 404
        assert SECRET not in await answer.text()
    after = metadata(api)
    assert after["metadata"].get("annotations") == before["metadata"].get("annotations")
    assert after["spec"] == before["spec"] and after.get("status") == before.get("status")


@pytest.mark.asyncio
@pytest.mark.parametrize("sender", list(Sender))
async def test_a_payload_naming_the_used_image_is_refused_without_the_secret(
    api: RunningApi, sender: Sender
) -> None:
    payloads = {
        Sender.DISTRIBUTION: distribution("demo/flaskapp"),
        Sender.DOCKERHUB: {"push_data": {"tag": "1"}, "repository": {"repo_name": USED}},
        Sender.QUAY: {"docker_url": USED, "updated_tags": ["1"]},
        Sender.HARBOR: {
            "type": "PUSH_ARTIFACT",
            "event_data": {"resources": [{"tag": "1", "resource_url": f"{USED}:1"}]},
        },
        Sender.GITHUB: {
            "action": "published",
            "package": {
                "name": "flaskapp",
                "package_type": "CONTAINER",
                "owner": {"login": "demo"},
                "package_version": {"package_url": f"{USED}:1"},
            },
        },
    }
    app = make_app(Cluster(api.client()), Metrics(), {sender: SECRET})
    before = metadata(api)["metadata"].get("annotations", {}).get(REQUESTED_AT)
    path, body, headers = delivery(sender, payloads[sender], "guessed-secret")
    async with TestClient(await served(app)) as client:
        answer = await client.post(path, data=body, headers=headers)
        assert answer.status in (401, 403)
    assert metadata(api)["metadata"].get("annotations", {}).get(REQUESTED_AT) == before

    # The control: with the secret, the same payload does trigger the automation.
    path, body, headers = delivery(sender, payloads[sender], SECRET)
    async with TestClient(await served(app)) as client:
        answer = await client.post(path, data=body, headers=headers)
        assert answer.status == 202, await answer.text()
    assert metadata(api)["metadata"].get("annotations", {}).get(REQUESTED_AT) != before
