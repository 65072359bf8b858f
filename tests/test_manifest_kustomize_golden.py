"""Golden trees of automation: ``imagebot run`` against the real rig registry turns each case's
``original`` into ``expected``, byte for byte, and a second run finds nothing left to do.

``fixtures/automation/<case>/case.txt`` says what the case proves (``#`` lines), the tags to
push (``push: IMAGE TAG...``, oldest first) and the warnings the run must give (``warns:``).
Every registry host the fixtures name is mirrored to the rig registry, so the files keep the
names users write (``ghcr.io/...``). These trees are where annotations matter: ``set-image``
(the manifest goldens) updates every copy of an image, automated or not.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from imagebot.refs import parse_reference
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.run_support import T0, imagebot
from tests.support import FIXTURES, assert_same_tree, tree_bytes

CASES = FIXTURES / "automation"
HOSTS = ("docker.io", "ghcr.io", "registry.example.org")  # what the fixtures' images name


@dataclass(frozen=True)
class Case:
    name: str
    pushes: tuple[tuple[str, tuple[str, ...]], ...]
    warns: tuple[str, ...]

    @property
    def path(self) -> Path:
        return CASES / self.name


def load(name: str) -> Case:
    pushes: list[tuple[str, tuple[str, ...]]] = []
    warns: list[str] = []
    lines = (CASES / name / "case.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# "), f"{name}/case.txt must open with '# what it proves'"
    for line in lines:
        key, _, value = line.partition(":")
        if key == "push":
            image, *tags = value.split()
            pushes.append((image, tuple(tags)))
        elif key == "warns":
            warns.append(value.strip())
    return Case(name, tuple(pushes), tuple(warns))


NAMES = sorted(p.name for p in CASES.iterdir() if (p / "case.txt").is_file())


def config(tmp_path: Path, registry: RegistryServer) -> Path:
    hosts = "".join(f"    {host}:\n      mirror: {registry.host}\n" for host in HOSTS)
    path = tmp_path / "imagebot-test.yaml"
    path.write_text(f"registries:\n  hosts:\n{hosts}")
    return path


@pytest.mark.parametrize("name", NAMES)
def test_run_turns_the_original_tree_into_the_expected_one(
    name: str,
    registry: RegistryServer,
    pusher: ImagePusher,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    case = load(name)
    for image, tags in case.pushes:
        repository = parse_reference(image).repository
        pusher.push_tags(repository, {t: T0 + timedelta(hours=i) for i, t in enumerate(tags)})
    remote = bare_remote(tree_bytes(case.path / "original"))
    args = ("run", "--repo", remote.as_uri(), "--config", str(config(tmp_path, registry)))

    result = json.loads(imagebot(*args, "--output", "json", tmp_path=tmp_path).stdout)

    clone = tmp_path / "clone"
    run_git("clone", "--quiet", remote.as_uri(), str(clone))
    shutil.rmtree(clone / ".git")
    assert_same_tree(clone, case.path / "expected")
    messages = [p["message"] for p in [*result["problems"], *result["skipped"]]]
    for warning in case.warns:
        assert any(warning in m for m in messages), messages
    again = json.loads(imagebot(*args, "--output", "json", tmp_path=tmp_path).stdout)
    assert again["changes"] == [] and again["commit"] is None


@pytest.mark.parametrize("name", NAMES)
def test_each_case_changes_something(name: str) -> None:
    original = tree_bytes(CASES / name / "original")
    expected = tree_bytes(CASES / name / "expected")
    assert original.keys() == expected.keys()
    assert original != expected, f"{name}: the expected tree is the original"
