"""The Kubernetes API emulator behaves as kopf needs a real API server to: identity and versions on
every object, generated names, watches that start where a list left off, finalizers that hold a
deletion, and both patch kinds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.kube_emulator import RunningApi

pytestmark = pytest.mark.rig  # a server on 127.0.0.1

AUTOMATIONS = "/apis/imagebot.io/v1alpha1/namespaces/my-demo/imageautomations"
EVENTS = "/api/v1/namespaces/my-demo/events"


@pytest.fixture
def api() -> Iterator[str]:
    running = RunningApi().start()
    yield running.url
    running.stop()


def create(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url + path, json=body, timeout=5)
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


def patch(url: str, path: str, body: Any, kind: str) -> requests.Response:
    headers = {"Content-Type": f"application/{kind}+json"}
    return requests.patch(url + path, data=json.dumps(body), headers=headers, timeout=5)


def test_created_objects_get_identity_versions_and_generated_names(api: str) -> None:
    first = create(api, EVENTS, {"metadata": {"generateName": "seed."}, "reason": "A"})
    second = create(api, EVENTS, {"metadata": {"generateName": "seed."}, "reason": "B"})

    names = {first["metadata"]["name"], second["metadata"]["name"]}
    assert len(names) == 2 and all(name.startswith("seed.") for name in names)
    assert first["metadata"]["uid"] != second["metadata"]["uid"]
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert first["metadata"]["creationTimestamp"].endswith("Z")
    listing = requests.get(api + EVENTS, timeout=5).json()
    assert listing["kind"] == "EventList" and len(listing["items"]) == 2


def test_a_second_object_of_the_same_name_conflicts(api: str) -> None:
    create(api, AUTOMATIONS, {"metadata": {"name": "seed"}})

    again = requests.post(api + AUTOMATIONS, json={"metadata": {"name": "seed"}}, timeout=5)

    assert again.status_code == 409
    assert again.json()["reason"] == "AlreadyExists"


def test_merge_and_json_patches_apply_and_only_spec_changes_bump_the_generation(api: str) -> None:
    create(api, AUTOMATIONS, {"metadata": {"name": "seed"}, "spec": {"interval": "5m"}})
    seed = f"{AUTOMATIONS}/seed"

    status = patch(api, seed, {"status": {"ready": True}}, "merge-patch").json()
    spec = patch(
        api, seed, [{"op": "replace", "path": "/spec/interval", "value": "1m"}], "json-patch"
    )
    failed = patch(
        api, seed, [{"op": "test", "path": "/spec/interval", "value": "9m"}], "json-patch"
    )

    assert status["status"] == {"ready": True} and status["metadata"]["generation"] == 1
    assert spec.json()["spec"] == {"interval": "1m"} and spec.json()["metadata"]["generation"] == 2
    assert failed.status_code == 422


def test_a_finalizer_holds_a_deletion_until_it_is_removed(api: str) -> None:
    create(api, AUTOMATIONS, {"metadata": {"name": "seed", "finalizers": ["imagebot.io/x"]}})
    seed = f"{AUTOMATIONS}/seed"

    marked = requests.delete(api + seed, timeout=5).json()
    held = requests.get(api + seed, timeout=5)
    patch(api, seed, {"metadata": {"finalizers": None}}, "merge-patch")
    gone = requests.get(api + seed, timeout=5)

    assert marked["metadata"]["deletionTimestamp"]
    assert held.status_code == 200
    assert gone.status_code == 404 and gone.json()["reason"] == "NotFound"


def test_a_watch_from_a_lists_version_streams_only_later_changes(api: str) -> None:
    create(api, AUTOMATIONS, {"metadata": {"name": "old"}})
    version = requests.get(api + AUTOMATIONS, timeout=5).json()["metadata"]["resourceVersion"]
    create(api, AUTOMATIONS, {"metadata": {"name": "new"}})

    query = {"watch": "true", "resourceVersion": version}
    with requests.get(api + AUTOMATIONS, params=query, stream=True, timeout=5) as watch:
        first = json.loads(next(watch.iter_lines()))

    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "new")


def test_namespaces_are_those_objects_live_in(api: str) -> None:
    create(api, AUTOMATIONS, {"metadata": {"name": "seed"}})

    listing = requests.get(api + "/api/v1/namespaces", timeout=5).json()
    missing = requests.get(api + "/api/v1/namespaces/elsewhere", timeout=5)

    assert [ns["metadata"]["name"] for ns in listing["items"]] == ["my-demo"]
    assert missing.status_code == 404
