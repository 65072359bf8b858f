"""A cycle whose files and registry answers did not move since the last one is skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.reconcile import reconcile
from tests.rig import ImagePusher
from tests.run_support import T0, workload


def test_an_unchanged_cycle_is_skipped_and_a_new_tag_is_not(
    app_image: str,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    remote = bare_remote({"app.yaml": workload("app", app_image, "semver:^1").encode()})
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
