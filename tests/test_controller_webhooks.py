"""Registry webhooks: each sender's authentication scheme and payload, and the receiver's answers.

Payloads follow each sender's documented shape; the receiver runs as a real aiohttp server over
the emulated API server, so a trigger is seen as the annotation it leaves on the automation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import generate_latest

from imagebot.controller.crd import REQUESTED_AT
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from imagebot.controller.web import make_app
from imagebot.controller.webhooks import Pushed, Sender, WebhookRefused, authenticate, parse_pushes
from tests.controller_support import api_with_automation, served
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks

SECRET = "s3cret-token"
DOCKERHUB = {"push_data": {"tag": "develop-v1.9.0"}, "repository": {"repo_name": "demo/flaskapp"}}
DISTRIBUTION = {
    "events": [
        {
            "action": "push",
            "target": {"repository": "demo/flaskapp", "tag": "develop-v1.9.0"},
            "request": {"host": "127.0.0.1:5000"},
        },
        {
            "action": "push",
            "target": {"repository": "demo/flaskapp", "digest": "sha256:ab"},
            "request": {"host": "127.0.0.1:5000"},
        },  # a blob upload: no tag, not a release
        {"action": "pull", "target": {"repository": "demo/flaskapp", "tag": "x"}},
    ]
}
HARBOR = {
    "type": "PUSH_ARTIFACT",
    "event_data": {
        "resources": [{"tag": "v2", "resource_url": "harbor.example.com/library/nginx:v2"}]
    },
}
QUAY = {"docker_url": "quay.io/acme/api", "updated_tags": ["1.2.3", "latest"]}
GITHUB = {
    "action": "published",
    "package": {
        "name": "app",
        "package_type": "CONTAINER",
        "owner": {"login": "Acme"},
        "package_version": {
            "container_metadata": {"tag": {"name": "v1.0.0"}},
            "package_url": "ghcr.io/acme/app:v1.0.0",
        },
    },
}


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("sender", "payload", "headers", "pushed"),
    [
        pytest.param(
            Sender.DOCKERHUB,
            DOCKERHUB,
            {},
            [Pushed("docker.io/demo/flaskapp", "develop-v1.9.0")],
            id="dockerhub",
        ),
        pytest.param(
            Sender.DISTRIBUTION,
            DISTRIBUTION,
            {},
            [Pushed("127.0.0.1:5000/demo/flaskapp", "develop-v1.9.0")],
            id="distribution-only-tagged-pushes",
        ),
        pytest.param(
            Sender.HARBOR,
            HARBOR,
            {},
            [Pushed("harbor.example.com/library/nginx", "v2")],
            id="harbor",
        ),
        pytest.param(
            Sender.QUAY,
            QUAY,
            {},
            [Pushed("quay.io/acme/api", "1.2.3"), Pushed("quay.io/acme/api", "latest")],
            id="quay",
        ),
        pytest.param(
            Sender.GITHUB,
            GITHUB,
            {"X-GitHub-Event": "package"},
            [Pushed("ghcr.io/acme/app", "v1.0.0")],
            id="github",
        ),
        pytest.param(
            Sender.GITHUB, {"zen": "hi"}, {"X-GitHub-Event": "ping"}, [], id="github-ping"
        ),
        pytest.param(Sender.HARBOR, {"type": "DELETE_ARTIFACT"}, {}, [], id="harbor-delete"),
    ],
)
def test_each_sender_payload_names_the_pushed_images(
    sender: Sender, payload: dict[str, Any], headers: dict[str, str], pushed: list[Pushed]
) -> None:
    assert parse_pushes(sender, json.dumps(payload).encode(), headers) == pushed


@pytest.mark.parametrize(
    ("sender", "headers", "url_token", "accepted"),
    [
        pytest.param(
            Sender.DISTRIBUTION,
            {"Authorization": f"Bearer {SECRET}"},
            None,
            True,
            id="distribution-bearer",
        ),
        pytest.param(
            Sender.DISTRIBUTION,
            {"Authorization": "Bearer nope"},
            None,
            False,
            id="distribution-wrong-bearer",
        ),
        pytest.param(Sender.HARBOR, {"Authorization": SECRET}, None, True, id="harbor-auth-header"),
        pytest.param(Sender.HARBOR, {}, None, False, id="harbor-no-header"),
        pytest.param(Sender.DOCKERHUB, {}, SECRET, True, id="dockerhub-url-token"),
        pytest.param(Sender.QUAY, {}, "guess", False, id="quay-wrong-url-token"),
        pytest.param(
            Sender.GITHUB, {"X-Hub-Signature-256": signed(b"{}")}, None, True, id="github-hmac"
        ),
        pytest.param(
            Sender.GITHUB,
            {"X-Hub-Signature-256": signed(b"{ }")},
            None,
            False,
            id="github-hmac-of-other-body",
        ),
        pytest.param(
            Sender.GITHUB,
            {"Authorization": f"Bearer {SECRET}"},
            None,
            False,
            id="github-bearer-is-not-hmac",
        ),
    ],
)
def test_each_sender_is_authenticated_by_its_own_scheme(
    sender: Sender, headers: dict[str, str], url_token: str | None, accepted: bool
) -> None:
    try:
        authenticate(sender, SECRET, headers=headers, body=b"{}", url_token=url_token)
    except WebhookRefused as refused:
        assert not accepted
        assert refused.outcome == "bad_signature"
        assert SECRET not in str(refused)
    else:
        assert accepted


def test_a_sender_without_a_configured_secret_is_refused() -> None:
    with pytest.raises(WebhookRefused, match="no webhook secret"):
        authenticate(Sender.GITHUB, None, headers={}, body=b"{}", url_token=None)


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from api_with_automation("my-demo", "seed", ["127.0.0.1:5000/demo/flaskapp"])


def annotations(api: RunningApi) -> dict[str, str]:
    url = f"{api.url}/apis/imagebot.io/v1alpha1/namespaces/my-demo/imageautomations/seed"
    found: dict[str, str] = (
        api.session.get(url, timeout=5).json()["metadata"].get("annotations", {})
    )
    return found


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("repository", "status", "triggered", "outcome"),
    [
        pytest.param("demo/flaskapp", 202, True, "accepted", id="known-repository-triggers"),
        # A batch is answered 200 even when nothing matched: a refused batch would be re-sent
        # by the registry for ever and hold back every later event.
        pytest.param(
            "demo/other", 200, False, "unknown_repository", id="unknown-repository-counted"
        ),
    ],
)
@pytest.mark.rig
async def test_distribution_notifications_trigger_the_automations_using_the_repository(
    api: RunningApi, repository: str, status: int, triggered: bool, outcome: str
) -> None:
    metrics = Metrics()
    app = make_app(Cluster(api.client()), metrics, {Sender.DISTRIBUTION: SECRET})
    before = annotations(api).get(REQUESTED_AT)
    payload = {
        "events": [
            {
                "action": "push",
                "request": {"host": "127.0.0.1:5000"},
                "target": {"repository": repository, "tag": "develop-v1.9.0"},
            }
        ]
    }
    async with TestClient(await served(app)) as client:
        answer = await client.post(
            "/hooks/distribution", json=payload, headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert answer.status == status
        forged = await client.post(
            "/hooks/distribution", json=payload, headers={"Authorization": "Bearer forged"}
        )
        assert forged.status == 401
        exposition = await (await client.get("/metrics")).text()
    assert (annotations(api).get(REQUESTED_AT) != before) is triggered
    assert (
        f'imagebot_webhook_deliveries_total{{outcome="{outcome}",sender="distribution"}} 1.0'
        in exposition
    )
    assert (
        'imagebot_webhook_deliveries_total{outcome="bad_signature",sender="distribution"} 1.0'
        in exposition
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "payload", "status", "outcome"),
    [
        pytest.param(
            f"/hooks/dockerhub/{SECRET}", DOCKERHUB, 404, "unknown_repository", id="unknown"
        ),
        pytest.param("/hooks/dockerhub/guessed", DOCKERHUB, 401, "bad_signature", id="bad-token"),
        pytest.param(
            f"/hooks/dockerhub/{SECRET}", {"push_data": {}}, 400, "bad_payload", id="shape"
        ),
    ],
)
@pytest.mark.rig
async def test_single_image_senders_refuse_and_count_what_they_cannot_act_on(
    api: RunningApi,
    path: str,
    payload: dict[str, Any],
    status: int,
    outcome: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    metrics = Metrics()
    app = make_app(Cluster(api.client()), metrics, {Sender.DOCKERHUB: SECRET})
    before = annotations(api).get(REQUESTED_AT)
    async with TestClient(await served(app)) as client:
        answer = await client.post(path, json=payload)
        assert answer.status == status
        text = await answer.text()
    assert annotations(api).get(REQUESTED_AT) == before
    exposition = generate_latest(metrics.registry).decode()
    assert_no_leaks(
        [SECRET], texts={"answer": text, "log": caplog.text, "metrics": exposition}
    )  # a Docker Hub URL carries the secret: no access log line may repeat it
    counted = metrics.registry.get_sample_value(
        "imagebot_webhook_deliveries_total", {"sender": "dockerhub", "outcome": outcome}
    )
    assert counted == 1


@pytest.mark.asyncio
@pytest.mark.rig
async def test_an_unknown_repository_is_named_in_the_answer(api: RunningApi) -> None:
    app = make_app(Cluster(api.client()), Metrics(), {Sender.DOCKERHUB: SECRET})
    async with TestClient(await served(app)) as client:
        answer = await client.post(f"/hooks/dockerhub/{SECRET}", json=DOCKERHUB)
        assert "docker.io/demo/flaskapp" in (await answer.json())["error"]
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200
