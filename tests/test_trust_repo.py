"""Repository content is untrusted: a manifest symlink that leads out of the clone is refused.

The repository is a Git remote imagebot clones; a committed symlink to an absolute path outside
the clone must be a clear problem, must never be read into output, and must never be rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.run_support import T0, imagebot, workload


def remote_with_symlink(tmp_path: Path, files: dict[str, str], links: dict[str, str]) -> Path:
    """A bare remote whose main branch holds ``files`` and symlinks ``name -> target``."""
    tree = tmp_path / "tree"
    tree.mkdir()
    run_git("init", "--quiet", "--initial-branch=main", str(tree))
    for name, text in files.items():
        (tree / name).write_text(text)
    for name, target in links.items():
        (tree / name).symlink_to(target)
    run_git("-C", str(tree), "add", "-A")
    run_git(
        "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "seed"
    )
    bare = tmp_path / "remote.git"
    run_git("clone", "--quiet", "--bare", str(tree), str(bare))
    return bare


def test_a_manifest_symlink_leading_out_of_the_clone_is_refused_and_never_read(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, tmp_path: Path
) -> None:
    pusher.push_image(unique_repo, "1.0.0", created=T0)
    pusher.push_image(unique_repo, "1.1.0", created=T0)
    image = f"{registry.host}/{unique_repo}"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret_line = "# api-key: OUTSIDE-SECRET-4f1e\n"
    victim = outside / "victim.yaml"
    victim.write_text(secret_line + workload("victim", f"{image}:1.0.0", "semver:~1"))
    before = victim.read_bytes()
    remote = remote_with_symlink(
        tmp_path,
        {"app.yaml": workload("app", f"{image}:1.0.0", "semver:~1")},
        {"leak.yaml": str(victim)},
    )

    done = imagebot("run", "--repo", remote.as_uri(), "--output", "json", tmp_path=tmp_path)

    result = json.loads(done.stdout)
    assert [c["file"] for c in result["changes"]] == ["app.yaml"]
    refused = [p for p in result["skipped"] + result["problems"] if p["file"] == "leak.yaml"]
    assert [p["message"] for p in refused] == ["skipped: a symlink that leads outside the tree"]
    assert victim.read_bytes() == before
    assert "OUTSIDE-SECRET" not in done.stdout + done.stderr
    assert run_git("--git-dir", str(remote), "cat-file", "-t", "main:leak.yaml").strip() == "blob"
    listed = run_git("--git-dir", str(remote), "ls-tree", "main", "leak.yaml")
    assert listed.startswith("120000 ")  # still the symlink, never replaced by the file's text
