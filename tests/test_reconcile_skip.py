"""A cycle whose files and registry answers did not move since the last one is skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.reconcile import reconcile
from tests.rig import ImagePusher, RegistryServer
from tests.test_run_e2e import workload

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_an_unchanged_cycle_is_skipped_and_a_new_tag_is_not(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    pusher.push_tags(unique_repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(hours=1)})
    image = f"{registry.host}/{unique_repo}:1.0.0"
    remote = bare_remote({"app.yaml": workload("app", image, "semver:^1").encode()})
    settings = Settings(
        git=GitSettings(repo=remote.as_uri(), cache_dir=str(tmp_path / "git")),
        registries=RegistrySettings(cache_dir=str(tmp_path / "registry")),
    )

    updated = reconcile(settings)
    assert updated.pushed and updated.observed is not None

    quiet = reconcile(settings, unchanged_since=updated.observed)
    assert quiet.unchanged and quiet.commit is None
    assert quiet.observed == updated.observed, "the fingerprint describes the pushed files"

    pusher.push_image(unique_repo, "1.2.0", created=T0 + timedelta(hours=2))
    moved = reconcile(settings, unchanged_since=updated.observed)
    assert not moved.unchanged and [c.new_tag for c in moved.changes] == ["1.2.0"]

    dry = reconcile(replace(settings, dry_run=True))
    assert dry.observed is None, "a dry run must never let the next cycle skip"
