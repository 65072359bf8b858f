"""Repository content is untrusted: a manifest symlink that leads out of the clone is refused,
and the repository's own imagebot.yaml cannot aim the controller's secrets at a host.

The repository is a Git remote imagebot clones; a committed symlink to an absolute path outside
the clone must be a clear problem, must never be read into output, and must never be rewritten.
A committed imagebot.yaml naming a secret source, ``insecure`` or a mirror is refused (exit 2,
naming file:line) before any registry is asked (issue 12 case 3), and a committed imagebot.yaml
that links out of the clone is refused without quoting its target (case 4).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.leaks import assert_no_leaks, forms, git_dirs_under
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.rig.proxy import start_proxy
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
    assert_no_leaks(
        ["OUTSIDE-SECRET"],
        texts={"stdout": done.stdout, "stderr": done.stderr},
        git_dirs=git_dirs_under(remote, tmp_path / "cache"),
    )  # nor committed: the file behind the link never reached Git
    assert run_git("--git-dir", str(remote), "cat-file", "-t", "main:leak.yaml").strip() == "blob"
    listed = run_git("--git-dir", str(remote), "ls-tree", "main", "leak.yaml")
    assert listed.startswith("120000 ")  # still the symlink, never replaced by the file's text


HOSTS = "registries:\n  hosts:\n    PROXY: "


@pytest.mark.parametrize(
    ("committed", "where"),
    [
        pytest.param(
            HOSTS + "{username: USER, passwordEnv: IMAGEBOT_GIT_TOKEN}\n",
            "2: registries.hosts",
            id="env-secret",
        ),
        pytest.param(
            HOSTS + "{username: USER, passwordFile: SECRET_FILE}\n",
            "2: registries.hosts",
            id="file-secret",
        ),
        pytest.param(HOSTS + "{insecure: true}\n", "2: registries.hosts", id="insecure"),
        pytest.param(
            "registries:\n  hosts:\n    docker.io: {mirror: PROXY}\n",
            "2: registries.hosts",
            id="mirror",
        ),
        pytest.param("git:\n  tokenEnv: IMAGEBOT_GIT_TOKEN\n", "2: git.tokenEnv", id="git-env"),
        pytest.param("git:\n  knownHostsFile: SECRET_FILE\n", "2: git.knownHostsFile", id="kh"),
        pytest.param(
            "registries:\n  dockerConfig: SECRET_FILE\n", "2: registries.dockerConfig", id="helper"
        ),
    ],
)
def test_a_committed_config_cannot_send_a_secret_to_a_host_it_names(
    committed: str,
    where: str,
    basic_auth_registry: RegistryServer,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """A committer names a host of theirs (a proxy that records what it is sent, in front of a
    registry that would accept the credentials) and the controller's secrets as its login."""
    registry = basic_auth_registry
    assert registry.username and registry.password
    with ImagePusher(registry) as images:
        images.push_tags(unique_repo, {"1.0.0": T0})
    proxy = start_proxy(registry.url)
    secret_file = tmp_path / "operator-token"
    secret_file.write_text(registry.password + "\n")
    committed = committed.replace("PROXY", proxy.host).replace("USER", registry.username)
    committed = committed.replace("SECRET_FILE", str(secret_file))
    manifest = workload("app", f"{proxy.host}/{unique_repo}:1.0.0", "semver:~1")
    remote = bare_remote({"imagebot.yaml": committed.encode(), "app.yaml": manifest.encode()})
    try:
        done = imagebot(
            "run",
            "--repo",
            remote.as_uri(),
            tmp_path=tmp_path,
            env={"IMAGEBOT_GIT_TOKEN": registry.password},
            check=False,
        )
    finally:
        proxy.stop()

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"imagebot.yaml:{where}: not allowed" in done.stdout + done.stderr
    assert proxy.seen == []  # refused before any registry was asked
    assert_no_leaks(
        forms(registry.password, registry.username),
        texts={"stdout": done.stdout, "stderr": done.stderr},
        git_dirs=git_dirs_under(remote, tmp_path / "cache"),
    )


def test_a_symlinked_config_leading_out_of_the_clone_is_refused_without_quoting_it(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, tmp_path: Path
) -> None:
    """Issue 12 case 4: the link was followed, and a YAML error then printed the target's lines."""
    pusher.push_image(unique_repo, "1.0.0", created=T0)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "operator.yaml"
    target.write_text("git:\n  token: 'OUTSIDE-SECRET-9b2d\n")  # broken YAML: an error quotes it
    remote = remote_with_symlink(
        tmp_path,
        {"app.yaml": workload("app", f"{registry.host}/{unique_repo}:1.0.0", "semver:~1")},
        {"imagebot.yaml": str(target)},
    )

    done = imagebot("run", "--repo", remote.as_uri(), tmp_path=tmp_path, check=False)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "symlink that leads out of the repository" in done.stderr
    outputs = {"stdout": done.stdout, "stderr": done.stderr}
    assert_no_leaks(["OUTSIDE-SECRET", str(outside)], texts=outputs)
    # The link's blob names the target path (the repository's own content), never its text.
    assert_no_leaks(["OUTSIDE-SECRET"], git_dirs=git_dirs_under(tmp_path / "cache"))
