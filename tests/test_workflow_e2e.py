"""Workflow commands end to end: real CLI processes, the rig's registry and a file:// Git remote.

automate + policy + a registry push -> `imagebot run` commits the update; lock -> the next run
reports it and changes nothing; release commits the requested tag with the given author and
message; a workflow edit whose push is rejected is made again on the new remote head.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from imagebot.config import GitSettings, Settings
from imagebot.manifest.annotate import SetAnnotation
from imagebot.model import WorkloadId
from imagebot.reconcile.edit import Edit, edit_repository
from imagebot.reconcile.run import Edges
from imagebot.reconcile.workflow import Request, annotate
from tests.rig import ImagePusher, RegistryServer
from tests.rig.bare import IDENTITY, git_env, run_git
from tests.run_support import T0, imagebot, mirror_config, push_seed_images

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "workflow" / "seed-lock" / "original" / "deployment.yaml"
ANNOTATIONS = (
    b"  annotations: \n"
    b"    flux.weave.works/tag.flask: glob:develop-v* \n"
    b"    flux.weave.works/automated: 'true' \n"
)


def seed(flask_repo: str, *, automated: bool = True) -> bytes:
    """The seed byte for byte, its broken flask reference repaired (and its automation gone)."""
    text = SEED.read_bytes().replace(b"docker.io//flaskapp", f"docker.io/{flask_repo}".encode())
    assert ANNOTATIONS in text
    return text if automated else text.replace(ANNOTATIONS, b"")


def remote_file(remote: Path, path: str = "deployment.yaml") -> bytes:
    out = subprocess.run(
        ["git", "--git-dir", str(remote), "show", f"main:{path}"],
        check=True,
        capture_output=True,
        env=git_env(),
    )
    return out.stdout


def remote_log(remote: Path, fmt: str = "%s") -> list[str]:
    out = run_git("--git-dir", str(remote), "log", f"--format={fmt}", "main", env=git_env())
    return out.splitlines()


def test_automate_and_policy_then_run_commits_the_new_tag(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    remote = bare_remote({"deployment.yaml": seed(flask_repo, automated=False)})
    url = remote.as_uri()
    push_seed_images(pusher, flask_repo)

    imagebot("automate", "deployment/fluxdemo", "--repo", url, tmp_path=tmp_path)
    imagebot("policy", "my-demo:deployment/fluxdemo", "--repo", url,
             "--tag", "flask=glob:develop-v*", "--tag", "nginx=glob:1.16-perl",
             tmp_path=tmp_path)  # fmt: skip
    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0 + timedelta(days=1))
    config = mirror_config(tmp_path, registry)
    imagebot("run", "--repo", url, "--config", str(config), tmp_path=tmp_path)

    assert remote_log(remote) == [
        "Update flask to develop-v1.9.0",
        "Update policies of deployment/fluxdemo",
        "Automate deployment/fluxdemo",
        "Seed the test remote",
    ]
    expected = seed(flask_repo, automated=False).replace(
        b"  namespace: my-demo \n",
        b"  namespace: my-demo \n"
        b"  annotations:\n"
        b'    imagebot.io/automated: "true"\n'
        b"    imagebot.io/tag.flask: glob:develop-v*\n"
        b"    imagebot.io/tag.nginx: glob:1.16-perl\n",
    )
    expected = expected.replace(b":develop-v1.8.0 \n", b":develop-v1.9.0 \n")
    assert remote_file(remote) == expected


def test_a_locked_workload_is_reported_by_the_next_run_and_left_alone(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    remote = bare_remote({"deployment.yaml": seed(flask_repo)})
    url, config = remote.as_uri(), str(mirror_config(tmp_path, registry))
    push_seed_images(pusher, flask_repo)
    imagebot("lock", "deployment/fluxdemo", "-m", "hold 1.8", "--user", "ann", "--repo", url,
             tmp_path=tmp_path)  # fmt: skip
    locked = remote_file(remote)
    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0 + timedelta(days=1))

    out = imagebot("run", "--repo", url, "--config", config, tmp_path=tmp_path).stdout

    assert "Deployment/my-demo/fluxdemo is locked: hold 1.8 (locked by ann)" in out
    assert remote_log(remote) == ["Lock deployment/fluxdemo: hold 1.8", "Seed the test remote"]
    assert remote_file(remote) == locked

    imagebot("unlock", "deployment/fluxdemo", "--repo", url, tmp_path=tmp_path)
    imagebot("run", "--repo", url, "--config", config, tmp_path=tmp_path)

    assert remote_log(remote)[:2] == [
        "Update flask to develop-v1.9.0",
        "Unlock deployment/fluxdemo",
    ]
    assert remote_file(remote) == seed(flask_repo).replace(b"v1.8.0", b"v1.9.0")


def test_release_commits_the_requested_tag_with_the_given_author_and_message(
    flask_repo: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"deployment.yaml": seed(flask_repo)})

    out = imagebot(
        "release", "--image", f"{flask_repo}:develop-v2.0.0",
        "--workload", "deployment/fluxdemo", "-n", "my-demo", "--repo", remote.as_uri(),
        "--author-name", "Rel Ease", "--author-email", "rel@example.org",
        "-m", "Release 2.0 to the demo", "--user", "ann", tmp_path=tmp_path,
    ).stdout  # fmt: skip

    assert "pushed to main" in out
    assert (
        remote_log(remote, "%an <%ae>|%s")[0]
        == "Rel Ease <rel@example.org>|Release 2.0 to the demo"
    )
    body = remote_log(remote, "%b")
    assert "Requested-by: ann" in body
    assert remote_file(remote) == seed(flask_repo).replace(b"v1.8.0", b"v2.0.0")


def test_a_rejected_push_is_retried_with_the_edit_made_again_on_the_fresh_files(
    flask_repo: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"deployment.yaml": seed(flask_repo)})
    competitor = tmp_path / "competitor"
    run_git("clone", "--quiet", remote.as_uri(), str(competitor), env=git_env())
    calls: list[int] = []
    wanted = WorkloadId.parse("deployment/fluxdemo")
    lock = [SetAnnotation("locked", "true")]

    def compute(root: Path, settings: Settings) -> Edit:
        if not calls:  # someone else pushes between our clone and our push
            manifest = competitor / "deployment.yaml"
            manifest.write_bytes(manifest.read_bytes().replace(b"1.16-perl", b"1.17-perl"))
            env = git_env(**IDENTITY)
            run_git("-C", str(competitor), "commit", "--quiet", "-am", "Bump nginx", env=env)
            run_git("-C", str(competitor), "push", "--quiet", env=env)
        calls.append(1)
        return annotate(
            root, settings.paths, wanted,
            edits_for=lambda _: lock, subject_for=lambda w: f"Lock {w.id.short}", request=Request(),
        )  # fmt: skip

    git = GitSettings(repo=remote.as_uri(), cache_dir=str(tmp_path / "cache"))
    result = edit_repository(Settings(git=git), compute, edges=Edges(sleep=lambda _: None))

    assert (len(calls), result.push_attempts, result.pushed) == (2, 2, True)
    assert remote_log(remote) == ["Lock deployment/fluxdemo", "Bump nginx", "Seed the test remote"]
    both = seed(flask_repo).replace(b"1.16-perl", b"1.17-perl")
    both = both.replace(
        b"flux.weave.works/automated: 'true' \n",
        b"flux.weave.works/automated: 'true' \n    flux.weave.works/locked: 'true'\n",
    )
    assert remote_file(remote) == both
