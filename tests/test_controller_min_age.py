"""An ImageAutomation's ``spec.minAge`` (issue 17), through the handlers, the real reconcile,
the rig's registry and a Git remote: a tag younger than the minimum waits, measured by the
controller's clock, and the cycle once it is old enough commits it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import kopf
import pytest

from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from tests.controller_support import NOW, body, push_seed_images, seed_manifest, seeded_api
from tests.kube_emulator import RunningApi
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


@pytest.mark.asyncio
async def test_spec_min_age_waits_for_a_young_tag_and_a_later_cycle_takes_it(
    api: RunningApi,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    push_seed_images(pusher, unique_repo, released=False)
    pusher.push_tags(f"{unique_repo}/flaskapp", {"develop-v1.9.0": NOW - timedelta(hours=1)})
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    now = [NOW]
    ctl = Controller(  # with the real reconcile
        cluster=Cluster(api.client()),
        metrics=Metrics(),
        emit=lambda obj, type_, reason, message: None,
        clock=lambda: now[0],
        cache_root=tmp_path / "cache",
    )
    spec: dict[str, Any] = {
        "interval": "5m",
        "minAge": "2h",
        "git": {"url": f"file://{remote}", "branch": "main"},
        "registries": {"hosts": [{"host": registry.host, "insecure": True}]},
    }

    async def cycle() -> dict[str, Any]:
        patch = kopf.Patch()
        await ctl.cycle(body=body(**spec), patch=patch, force=True)
        return dict(patch["status"])

    def deployed() -> str:
        return run_git("--git-dir", str(remote), "show", "main:deployment.yaml")

    waiting = await cycle()
    assert "lastPushedCommit" not in waiting
    # Nothing observed moves when the tag comes of age: the next cycle must not be skipped.
    assert waiting["observedFingerprint"] is None
    assert "flaskapp:develop-v1.8.0" in deployed()

    now[0] += timedelta(hours=1, minutes=1)
    taken = await cycle()
    assert taken.get("lastPushedCommit")
    assert "flaskapp:develop-v1.9.0" in deployed()
