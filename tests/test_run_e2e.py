"""`imagebot run` end to end: the real registry, real Git remotes, the real CLI process.

The seed scenario (develop-v1.9.0 pushed -> exactly one changed line committed and pushed) over
file://, smart HTTP and SSH remotes, plus the behaviours users rely on around it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.run_support import T0, imagebot, mirror_config, push_seed_images, workload

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "manifests" / "seed-example" / "original" / "deployment.yaml"


def seed_bytes(flask_repo: str) -> bytes:
    """The seed manifest byte for byte, with its broken flask reference repaired."""
    return SEED.read_bytes().replace(b"docker.io//flaskapp", f"docker.io/{flask_repo}".encode())


def cloned(remote: str, dest: Path, env: dict[str, str] | None = None) -> Path:
    run_git("clone", "--quiet", remote, str(dest), env=env)
    return dest


RemoteFactory = Callable[[str, dict[str, bytes]], tuple[str, str, dict[str, str]]]


@pytest.fixture(params=["file", "http", "ssh"])
def make_remote(
    request: pytest.FixtureRequest, tmp_path: Path, bare_remote: Callable[..., Path]
) -> RemoteFactory:
    """(url, extra config yaml, git env) for a remote holding ``files``, over each transport."""

    def make(name: str, files: dict[str, bytes]) -> tuple[str, str, dict[str, str]]:
        if request.param == "file":
            return bare_remote(files).as_uri(), "", {}
        if request.param == "http":
            server = request.getfixturevalue("http_git_server")
            return server.make_repo(name, files), "", {}
        server = request.getfixturevalue("ssh_git_server")
        extra = f"git:\n  sshKeyFile: {server.client_key}\n  knownHostsFile: {server.known_hosts}\n"
        return server.make_repo(name, files), extra, server.env

    return make


def test_seed_scenario_commits_exactly_the_flask_line(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    make_remote: RemoteFactory,
    tmp_path: Path,
) -> None:
    push_seed_images(pusher, flask_repo)
    pusher.push_image(flask_repo, "main-7", created=T0 + timedelta(days=2))  # not develop-v*
    url, extra, git_env = make_remote(
        flask_repo.replace("/", "-"), {"deployment.yaml": seed_bytes(flask_repo)}
    )
    config = mirror_config(tmp_path, registry, extra)
    args = ("run", "--repo", url, "--config", str(config), "--output", "json")

    first = json.loads(imagebot(*args, tmp_path=tmp_path, env=git_env).stdout)
    assert first["changes"] == [] and first["commit"] is None

    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0 + timedelta(days=1))
    result = json.loads(imagebot(*args, tmp_path=tmp_path, env=git_env).stdout)
    assert result["pushed"] is True, result
    assert [(c["container"], c["tag"]) for c in result["changes"]] == [("flask", "develop-v1.9.0")]

    clone = cloned(url, tmp_path / "check", env=git_env)
    diff = run_git("-C", str(clone), "show", "--format=%s", "--unified=0", "HEAD")
    changed = [
        ln for ln in diff.splitlines() if ln[:1] in ("+", "-") and ln[:3] not in ("+++", "---")
    ]
    assert changed == [
        f"-        image: docker.io/{flask_repo}:develop-v1.8.0 ",
        f"+        image: docker.io/{flask_repo}:develop-v1.9.0 ",
    ]
    assert diff.splitlines()[0] == "Update flask to develop-v1.9.0"
    expected = seed_bytes(flask_repo).replace(b"develop-v1.8.0", b"develop-v1.9.0")
    assert (clone / "deployment.yaml").read_bytes() == expected

    again = json.loads(imagebot(*args, tmp_path=tmp_path, env=git_env).stdout)
    assert again["changes"] == [] and again["commit"] is None
    assert run_git("-C", str(clone), "fetch", "--quiet", env=git_env) == ""
    assert (
        run_git("-C", str(clone), "rev-list", "--count", "origin/main", env=git_env).strip() == "2"
    )


def test_semver_and_glob_policies_on_several_workloads_land_in_one_commit(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    api, web = f"{unique_repo}-api", f"{unique_repo}-web"
    pusher.push_tags(
        api, {"1.2.0": T0, "1.3.1": T0 + timedelta(hours=1), "2.0.0": T0 + timedelta(hours=2)}
    )
    pusher.push_tags(
        web, {"main-1": T0, "main-2": T0 + timedelta(hours=3), "dev-9": T0 + timedelta(hours=4)}
    )
    files = {
        "apps/api.yaml": workload(
            "api", f"{registry.host}/{api}:1.2.0", "semver:~1.2 || ~1.3"
        ).encode(),
        "apps/web.yaml": workload("web", f"{registry.host}/{web}:main-1", "glob:main-*").encode(),
        "apps/held.yaml": workload(
            "held", f"{registry.host}/{api}:1.2.0", "semver:1.2.x", locked=True
        ).encode(),
    }
    remote = bare_remote(files)
    result = json.loads(
        imagebot("run", "--repo", remote.as_uri(), "--output", "json", tmp_path=tmp_path).stdout
    )
    assert sorted((c["workload"].split("/")[-1], c["tag"]) for c in result["changes"]) == [
        ("api", "1.3.1"),
        ("web", "main-2"),
    ]
    assert any(
        "locked" in s["message"] and "incident 42" in s["message"] for s in result["skipped"]
    )
    assert result["pushed"]
    log = run_git("--git-dir", str(remote), "log", "--format=%s", "main")
    assert log.splitlines() == ["Update 2 images", "Seed the test remote"]
    held = run_git("--git-dir", str(remote), "show", "main:apps/held.yaml")
    assert held == files["apps/held.yaml"].decode()


def test_the_broken_seed_reference_is_a_problem_and_the_rest_proceeds(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    pusher.push_tags(unique_repo, {"v1": T0, "v2": T0 + timedelta(hours=1)})
    files = {
        "deployment.yaml": SEED.read_bytes(),
        "other.yaml": workload("other", f"{registry.host}/{unique_repo}:v1", "glob:v*").encode(),
    }
    remote = bare_remote(files)
    config = mirror_config(tmp_path, registry)
    proc = imagebot(
        "run", "--repo", remote.as_uri(), "--config", str(config), "--output", "json", "--strict",
        tmp_path=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    result = json.loads(proc.stdout)
    assert [c["tag"] for c in result["changes"]] == ["v2"]
    broken = [p for p in result["problems"] if p["file"] == "deployment.yaml"]
    assert broken and broken[0]["line"] == 40 and "empty path component" in broken[0]["message"]


def test_an_unreachable_registry_makes_no_commit_and_says_why(
    unique_repo: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    files = {"app.yaml": workload("app", f"127.0.0.1:9/{unique_repo}:v1", "glob:v*").encode()}
    remote = bare_remote(files)
    before = run_git("--git-dir", str(remote), "rev-parse", "main")
    proc = imagebot(
        "run", "--repo", remote.as_uri(), "--output", "json", tmp_path=tmp_path, check=False
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["commit"] is None and result["changes"] == []
    assert any("127.0.0.1:9" in p["message"] for p in result["problems"])
    assert run_git("--git-dir", str(remote), "rev-parse", "main") == before


def test_a_pinned_digest_follows_its_tag_when_the_tag_moves(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """Argo CD Image Updater's digest strategy: `stable` is re-pushed, the pin follows it."""
    first = pusher.push_image(unique_repo, "stable", created=T0)
    manifest = workload(
        "app", f"{registry.host}/{unique_repo}:stable@{first}", "glob:stable"
    ).replace(
        "    imagebot.io/tag.app:", "    imagebot.io/pin-digest: 'true'\n    imagebot.io/tag.app:"
    )
    remote = bare_remote({"app.yaml": manifest.encode()})
    args = ("run", "--repo", remote.as_uri(), "--output", "json")
    assert json.loads(imagebot(*args, tmp_path=tmp_path).stdout)["changes"] == []

    second = pusher.push_image(
        unique_repo, "stable", created=T0 + timedelta(hours=1), labels={"v": "2"}
    )
    assert second != first
    result = json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    assert [c["new"] for c in result["changes"]] == [
        f"{registry.host}/{unique_repo}:stable@{second}"
    ]
    text = run_git("--git-dir", str(remote), "show", "main:app.yaml")
    assert text == manifest.replace(first, second)


def test_a_review_branch_is_recreated_from_the_base_and_main_is_untouched(
    app_image: str,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    remote = bare_remote({"app.yaml": workload("app", app_image, "semver:^1").encode()})
    base = run_git("--git-dir", str(remote), "rev-parse", "main")
    args = (
        "run",
        "--repo",
        remote.as_uri(),
        "--push-branch",
        "imagebot/updates",
        "--output",
        "json",
    )
    result = json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    assert result["pushed"] and result["branch"] == "imagebot/updates"
    assert run_git("--git-dir", str(remote), "rev-parse", "main") == base
    assert run_git("--git-dir", str(remote), "rev-parse", "imagebot/updates^") == base

    pusher.push_image(unique_repo, "1.2.0", created=T0 + timedelta(hours=2))
    json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    assert run_git("--git-dir", str(remote), "rev-parse", "imagebot/updates^") == base, (
        "never diverges"
    )
    text = run_git("--git-dir", str(remote), "show", "imagebot/updates:app.yaml")
    assert f"{unique_repo}:1.2.0" in text


def test_a_templated_review_branch_is_named_after_the_changes(
    app_image: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"app.yaml": workload("app", app_image, "semver:^1").encode()})
    template = "imagebot/{changes:{name}-{version}}"
    args = ("run", "--repo", remote.as_uri(), "--push-branch", template, "--output", "json")
    result = json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    assert result["branch"] == "imagebot/app-1.1.0" and result["pushed"]
    assert "1.1.0" in run_git("--git-dir", str(remote), "show", "imagebot/app-1.1.0:app.yaml")


def test_a_template_that_cannot_render_is_refused_before_any_work(
    bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    args = ("run", "--repo", bare_remote({}).as_uri(), "--push-branch", "x/{nope}")
    proc = imagebot(*args, tmp_path=tmp_path, check=False)
    assert proc.returncode == 2 and "nope" in proc.stderr, proc.stderr
    assert not (tmp_path / "cache").exists(), "nothing was cloned"


def test_the_repositorys_own_imagebot_yaml_is_used_and_dry_run_touches_nothing(
    app_image: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    files = {
        "imagebot.yaml": b"paths: [apps]\n"
        b"git:\n  author: {name: Repo Bot, email: bot@example.org}\n",
        "apps/app.yaml": workload("app", app_image, "semver:^1").encode(),
        "elsewhere/app.yaml": workload("other", app_image, "semver:^1").encode(),
    }
    remote = bare_remote(files)
    head = run_git("--git-dir", str(remote), "rev-parse", "main")
    dry = imagebot("run", "--repo", remote.as_uri(), "--dry-run", tmp_path=tmp_path).stdout
    assert "would change" in dry and "+        image: " in dry
    assert run_git("--git-dir", str(remote), "rev-parse", "main") == head

    result = json.loads(
        imagebot("run", "--repo", remote.as_uri(), "--output", "json", tmp_path=tmp_path).stdout
    )
    assert [c["file"] for c in result["changes"]] == ["apps/app.yaml"]
    author = run_git("--git-dir", str(remote), "log", "-1", "--format=%an <%ae>", "main").strip()
    assert author == "Repo Bot <bot@example.org>"


def test_a_bad_config_file_is_exit_2_naming_the_key(
    tmp_path: Path, bare_remote: Callable[..., Path]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("git:\n  pushbranch: x\n")
    proc = imagebot(
        "run",
        "--repo",
        bare_remote({}).as_uri(),
        "--config",
        str(config),
        tmp_path=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert "bad.yaml:2: git.pushbranch: unknown key" in proc.stderr
