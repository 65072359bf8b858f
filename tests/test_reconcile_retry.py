"""A reconcile whose push is rejected plans again on the fresh files, asking no registry again.

The registry is the rig's real one; a competitor pushes to the real Git remote while the first
plan is being made, so the first push is rejected the way a busy branch rejects it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.model import Digest, TagFacts
from imagebot.reconcile import Edges, reconcile
from imagebot.refs import ImageRef
from imagebot.registry import RegistryClient, RepoQuery, RepoScan
from tests.rig.bare import IDENTITY, git_env, run_git
from tests.run_support import workload


class RacedRegistry:
    """The real client; while the first scan is made, ``race`` pushes to the remote."""

    def __init__(self, client: RegistryClient, race: Callable[[], None]) -> None:
        self.client, self.race = client, race
        self.scans = 0
        self.digests: list[tuple[str, str]] = []

    def scan(
        self, requests: Sequence[RepoQuery], *, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, RepoScan]:
        if not self.scans:
            self.race()
        self.scans += 1
        return self.client.scan(requests, progress=progress)

    def digest(self, image: ImageRef, tag: str) -> Digest:
        self.digests.append((image.name, tag))
        return self.client.digest(image, tag)

    def examine(self, image: ImageRef, tag: str) -> TagFacts:
        return self.client.examine(image, tag)

    @property
    def stats(self) -> Mapping[str, int]:
        return self.client.stats


def test_a_rejected_push_is_planned_again_on_fresh_files_with_no_registry_request(
    app_image: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    pinned = workload("app", app_image, "semver:^1").replace(
        "    imagebot.io/automated: 'true'\n",
        "    imagebot.io/automated: 'true'\n    imagebot.io/pin-digest: 'true'\n",
    )
    remote = bare_remote({"app.yaml": pinned.encode()})
    competitor = tmp_path / "competitor"
    run_git("clone", "--quiet", remote.as_uri(), str(competitor), env=git_env())
    raced: list[RacedRegistry] = []

    def race() -> None:
        (competitor / "other.yaml").write_text("kind: ConfigMap\n")
        env = git_env(**IDENTITY)
        run_git("-C", str(competitor), "add", "other.yaml", env=env)
        run_git("-C", str(competitor), "commit", "--quiet", "-m", "Add a map", env=env)
        run_git("-C", str(competitor), "push", "--quiet", env=env)

    def make_registry(settings: RegistrySettings) -> RacedRegistry:
        raced.append(RacedRegistry(RegistryClient(settings), race))
        return raced[-1]

    settings = Settings(
        git=GitSettings(repo=remote.as_uri(), cache_dir=str(tmp_path / "git")),
        registries=RegistrySettings(cache_dir=str(tmp_path / "registry")),
    )
    edges = Edges(make_registry=make_registry, sleep=lambda _: None)
    result = reconcile(settings, edges=edges)

    assert (result.pushed, result.push_attempts) == (True, 2)
    assert [c.new_tag for c in result.changes] == ["1.1.0"] and result.changes[0].new_digest
    [registry] = raced
    name = result.changes[0].target.image.name
    # The bug this guards: the retry asked for the pinned digest again.
    assert (registry.scans, registry.digests) == (1, [(name, "1.1.0")])
    assert dict(result.requests) == dict(registry.client.stats)
    log = run_git("--git-dir", str(remote), "log", "--format=%s", "main", env=git_env())
    assert log.splitlines()[1:] == ["Add a map", "Seed the test remote"]
    assert "1.1.0@sha256:" in run_git("--git-dir", str(remote), "show", "main:app.yaml")
