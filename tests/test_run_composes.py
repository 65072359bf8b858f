"""A run composes each file once: the rewrite reuses the scan's facts, and composes a changed
file's new text only where the edit is not proven to leave the same tokens (``rewrite_facts``:
a plain or quoted reference in a block is; a plain value in a flow mapping is not). It used to
compose the old text again, then the new one.

Counted by wrapping ``compose_documents`` in every module that calls it; the run is the real
``reconcile`` against the rig's registry and a bare Git remote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.manifest import (
    Update,
    annotate,
    argocd_values,
    rewrite,
    rewrite_facts,
    rewrite_files,
    scan,
    scan_tree,
)
from imagebot.manifest.compose import Node, compose_documents
from imagebot.reconcile import Edges, reconcile
from imagebot.registry import RegistryClient
from tests.rig.bare import git_env, run_git
from tests.run_support import workload


@pytest.fixture
def composes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each text was composed, by text."""
    counts: Counter[str] = Counter()

    def counting(body: str) -> list[Node]:
        counts[body] += 1
        return compose_documents(body)

    for module in (annotate, argocd_values, rewrite, rewrite_facts, scan):
        monkeypatch.setattr(module, "compose_documents", counting)
    return counts


def rewritten(tmp_path: Path, files: dict[str, str], *, changing: str) -> str:
    """``changing``'s new text after a scan with facts of ``files`` and a rewrite of its
    targets to tag 1.1, as the run does them."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    tree = scan_tree(tmp_path, only_automated=True, with_facts=True)
    assert sorted(tree.facts) == sorted(files)
    updates = [Update(t, "1.1") for t in tree.targets if t.location.file == changing]
    return rewrite_files(tree.texts, updates, tree.facts).new_texts[changing]


def test_a_rewritten_file_is_composed_once_and_its_new_text_proven(
    composes: Counter[str], tmp_path: Path
) -> None:
    changed = workload("web", "nginx:1.0", "semver:^1")
    kept = workload("api", "redis:6.0", "semver:^6")
    new = rewritten(tmp_path, {"web.yaml": changed, "api.yaml": kept}, changing="web.yaml")
    assert new == changed.replace("nginx:1.0", "nginx:1.1")
    assert composes == {changed: 1, kept: 1}


def test_a_value_in_a_flow_mapping_has_its_new_text_composed(
    composes: Counter[str], tmp_path: Path
) -> None:
    changed = workload("web", "nginx:1.0", "semver:^1").replace(
        "- name: app\n        image: nginx:1.0  # keep this comment",
        "- {name: app, image: nginx:1.0}  # keep this comment",
    )
    assert "{name: app, image: nginx:1.0}" in changed
    new = rewritten(tmp_path, {"web.yaml": changed}, changing="web.yaml")
    assert new == changed.replace("nginx:1.0", "nginx:1.1")
    assert composes == {changed: 1, new: 1}


def test_without_facts_the_old_text_is_composed_again(
    composes: Counter[str], tmp_path: Path
) -> None:
    """What the facts spare: the workflow commands' old way, still right, one compose more."""
    changed = workload("web", "nginx:1.0", "semver:^1")
    (tmp_path / "web.yaml").write_text(changed)
    tree = scan_tree(tmp_path)
    assert not tree.facts
    result = rewrite_files(tree.texts, [Update(t, "1.1") for t in tree.targets])
    assert composes == {changed: 2, result.new_texts["web.yaml"]: 1}


def test_a_run_composes_each_file_once_and_no_proven_new_text(
    composes: Counter[str],
    app_image: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    changed = workload("app", app_image, "semver:^1")
    current = workload("api", app_image.replace(":1.0.0", ":1.1.0"), "semver:^1")
    remote = bare_remote({"app.yaml": changed.encode(), "api.yaml": current.encode()})
    settings = Settings(
        git=GitSettings(repo=remote.as_uri(), cache_dir=str(tmp_path / "git")),
        registries=RegistrySettings(cache_dir=str(tmp_path / "registry")),
    )
    edges = Edges(make_registry=RegistryClient, sleep=lambda _: None)

    result = reconcile(settings, edges=edges)

    assert result.pushed and [c.new_tag for c in result.changes] == ["1.1.0"]
    new = run_git("--git-dir", str(remote), "show", "main:app.yaml", env=git_env())
    assert new == changed.replace(":1.0.0", ":1.1.0")
    assert composes == {changed: 1, current: 1}
