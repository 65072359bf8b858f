"""Git faults: huge messages, a killed run's children and leftovers, missing keys, bad remotes.

Every test uses real git against real bare repositories (file://) or the rig's HTTP git server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot.cli.common import EXIT_USAGE
from imagebot.config import GitSettings
from imagebot.errors import ConfigError, GitAuthError, GitError, ImagebotError
from imagebot.gitrepo import Workspace, render_branch, render_message
from imagebot.gitrepo.children import OWNER_ENV, owner_environment
from imagebot.gitrepo.message import MAX_BODY_CHANGES, MAX_MESSAGE_LINES
from imagebot.model import Change, Location, PolicySpec, Target, TargetKind, WorkloadId
from imagebot.refs import parse_reference
from tests.rig.bare import IDENTITY
from tests.rig.git import git_env, run_git
from tests.rig.githttp import GitHttpServer
from tests.rig.procs import RigError, free_port
from tests.rig.proxy import Exchange, Proxy, start_proxy
from tests.run_support import imagebot

pytestmark = pytest.mark.usefixtures("isolated_git")

MANIFEST = b"image: flask:develop-v1.8.0\n"


@pytest.fixture
def remote(bare_remote: Callable[..., Path]) -> Path:
    return bare_remote({"deploy/app.yaml": MANIFEST, "README.md": b"demo\n"})


def remote_message(remote: Path) -> str:
    return run_git("--git-dir", str(remote), "log", "-1", "--format=%B", "main")


def change(index: int) -> Change:
    image = parse_reference(f"reg.example/team/service-{index}:1.0.0")
    return Change(
        target=Target(
            location=Location(f"deploy/app-{index}.yaml", 12),
            kind=TargetKind.CONTAINER,
            image=image,
            workload=WorkloadId("Deployment", "default", f"app-{index}"),
            container=f"service-{index}",
            policy=PolicySpec("semver:^1"),
        ),
        old=str(image),
        new=image.with_version("1.0.1", None),
        new_tag="1.0.1",
    )


# --- 1. The commit message goes through stdin, and a long one is summarised -----------------


@pytest.mark.timeout(120)
def test_a_message_longer_than_a_command_line_argument_commits_and_pushes(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    # Linux refuses any single argument over 128 KiB: this message never fit on a command line.
    body = "\n".join(f"line {n:06d} " + "x" * 90 for n in range(3_000))
    message = f"Update many images\n\n{body}\n"
    workspace = open_workspace(remote)
    (workspace.root / "deploy" / "app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    assert workspace.commit(["deploy/app.yaml"], message)
    workspace.push()
    assert remote_message(remote).rstrip("\n") == message.rstrip("\n")


@pytest.mark.timeout(180)
def test_a_run_of_1200_changes_commits_with_a_summarised_message(
    bare_remote: Callable[..., Path], open_workspace: Callable[..., Workspace]
) -> None:
    count = 1_200
    files = {f"deploy/app-{n}.yaml": f"image: service-{n}:1.0.0\n".encode() for n in range(count)}
    remote = bare_remote(files)
    changes = [change(n) for n in range(count)]
    message = render_message(changes, template=None, skip_ci=False)
    workspace = open_workspace(remote)
    paths = sorted(files)
    for path in paths:
        (workspace.root / path).write_text((workspace.root / path).read_text().replace("0", "1"))
    assert workspace.commit(paths, message)
    workspace.push()
    landed = remote_message(remote)
    lines = landed.rstrip("\n").splitlines()
    assert lines[0] == f"Update {count} images"
    assert len(lines) == 2 + MAX_BODY_CHANGES + 1
    assert lines[-1] == f"... and {count - MAX_BODY_CHANGES} more changes"
    shown = run_git("--git-dir", str(remote), "show", "--stat=200", "--format=", "main")
    assert f"{count} files changed" in shown


def test_a_long_body_lists_the_first_changes_and_counts_the_rest() -> None:
    for count in (MAX_BODY_CHANGES - 1, MAX_BODY_CHANGES, MAX_BODY_CHANGES + 1, 5_000):
        lines = render_message([change(n) for n in range(count)], template=None, skip_ci=True)
        body = lines.splitlines()[2:]
        assert lines.startswith(f"Update {count} images [ci skip]\n\n")
        if count <= MAX_BODY_CHANGES:
            assert len(body) == count
        else:
            assert body[MAX_BODY_CHANGES:] == [f"... and {count - MAX_BODY_CHANGES} more changes"]


def test_a_long_templated_message_is_cut_and_says_how_many_lines_more() -> None:
    changes = [change(n) for n in range(MAX_MESSAGE_LINES + 50)]
    text = render_message(changes, template="{subject}\n\n{changes:{file}\n}", skip_ci=False)
    lines = text.splitlines()
    assert len(lines) == MAX_MESSAGE_LINES + 1
    assert lines[-1] == f"... and {len(changes) + 2 - MAX_MESSAGE_LINES} more lines"


# --- 2. Git children die with imagebot -------------------------------------------------------


def processes_with(variable: str) -> list[tuple[int, str]]:
    """Live processes (pid, name) whose environment holds ``variable`` (``NAME=value``)."""
    needle = variable.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append((int(entry.name), name))
    return found


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.timeout(120)
def test_git_children_die_with_an_imagebot_killed_during_a_clone(
    http_git_server: GitHttpServer, proxies: list[Proxy], tmp_path: Path
) -> None:
    name = f"stalled-{os.getpid()}-{time.monotonic_ns()}.git"
    http_git_server.make_repo(name, {"deploy/app.yaml": MANIFEST})
    release = threading.Event()
    proxy = start_proxy(http_git_server.url)
    proxies.append(proxy)

    def stall(exchange: Exchange) -> Exchange:
        if exchange.method == "POST":  # the pack: git clone waits here, with its helpers
            release.wait(60)
        return exchange

    proxy.rewrite = stall
    cache = tmp_path / "killed-run-cache"
    mark = f"XDG_CACHE_HOME={cache}"  # inherited by imagebot's every child
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "GIT_CONFIG_NOSYSTEM": "1"}
    imagebot = subprocess.Popen(
        [sys.executable, "-m", "imagebot", "run", "--repo", f"{proxy.url}/{name}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Another imagebot's child (another marker) must outlive this one's reaper.
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env={**os.environ, OWNER_ENV: "1-someone-else"},
    )
    try:
        gits = lambda: [p for p in processes_with(mark) if p[0] != imagebot.pid]  # noqa: E731
        assert wait_for(lambda: len(gits()) >= 2, 60), "git never started cloning"
        imagebot.send_signal(signal.SIGKILL)
        imagebot.wait(timeout=30)
        assert wait_for(lambda: not gits(), 15), f"survived imagebot: {gits()}"
        assert bystander.poll() is None
    finally:
        release.set()
        bystander.kill()
        bystander.wait()
        if imagebot.poll() is None:
            imagebot.kill()
            imagebot.wait()

    # The next run reuses nothing half-written and works.
    settings = GitSettings(repo=f"{proxy.url}/{name}")
    with Workspace.open(settings, cache_root=cache / "imagebot" / "git") as workspace:
        assert (workspace.root / "deploy" / "app.yaml").read_bytes() == MANIFEST


def test_each_process_marks_its_git_children_with_its_own_marker() -> None:
    marker = owner_environment()[OWNER_ENV]
    assert owner_environment() == {OWNER_ENV: marker}  # stable for the process's life
    pid, _, token = marker.partition("-")
    assert pid == str(os.getpid())
    assert len(token) >= 16  # random: a reused pid never matches an earlier process's marker


# --- 5. Missing signing keys and refusing remotes are permanent errors ----------------------


@pytest.mark.timeout(60)
def test_a_missing_openpgp_key_is_a_permanent_error_naming_it(
    remote: Path,
    open_workspace: Callable[..., Workspace],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))  # a keyring without the key
    workspace = open_workspace(remote, signing_key="0xDEADBEEF00C0FFEE")
    (workspace.root / "deploy" / "app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    with pytest.raises(ConfigError, match=r"git\.signingKey: .*'0xDEADBEEF00C0FFEE'") as caught:
        workspace.commit(["deploy/app.yaml"], "Update flask")
    assert caught.value.permanent


@pytest.mark.timeout(60)
def test_an_inline_ssh_key_that_cannot_sign_is_a_permanent_error(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRoaXMgaXMgbm90IGEgcmVhbCBrZXkgYXQgYWxsIQ"
    workspace = open_workspace(remote, signing_key=key, signing_format="ssh")
    (workspace.root / "deploy" / "app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    with pytest.raises(ConfigError, match=r"git\.signingKey: signing .* with the ssh key"):
        workspace.commit(["deploy/app.yaml"], "Update flask")


@pytest.mark.timeout(60)
def test_a_missing_ssh_key_file_is_refused_before_any_clone(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-key")
    with pytest.raises(ConfigError, match=r"git\.signingKey: .*no-such-key.* does not exist"):
        open_workspace(remote, signing_key=missing, signing_format="ssh")
    assert not (tmp_path / "cache").exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("case", "kind", "permanent", "says"),
    [
        ("no such repository", ConfigError, True, "does not exist"),
        ("no such branch", ConfigError, True, "does not exist"),
        ("no such local repository", ConfigError, True, "does not exist"),
        ("authentication refused", GitAuthError, True, "refused the credentials"),
        ("no credentials", GitAuthError, True, "IMAGEBOT_GIT_TOKEN"),
        ("connection refused", GitError, False, "failed"),
    ],
)
def test_remote_failures_are_classified_permanent_or_transient(
    http_git_server: GitHttpServer,
    http_git_server_basic: GitHttpServer,
    tmp_path: Path,
    case: str,
    kind: type[ImagebotError],
    permanent: bool,
    says: str,
) -> None:
    name = f"classified-{time.monotonic_ns()}.git"
    http_git_server.make_repo(name, {"a.yaml": MANIFEST})
    http_git_server_basic.make_repo(name, {"a.yaml": MANIFEST})
    closed = f"http://127.0.0.1:{free_port()}/{name}"
    settings = {
        "no such repository": GitSettings(repo=f"{http_git_server.url}/nope-{name}"),
        "no such branch": GitSettings(repo=f"{http_git_server.url}/{name}", branch="nope"),
        "no such local repository": GitSettings(repo=f"file://{tmp_path}/nope.git"),
        "authentication refused": GitSettings(
            repo=http_git_server_basic.repo_url(name, credentials=False),
            username=http_git_server_basic.username,
            token="not-the-password-0123",
        ),
        "no credentials": GitSettings(repo=http_git_server_basic.repo_url(name, credentials=False)),
        "connection refused": GitSettings(repo=closed),
    }[case]
    with pytest.raises(ImagebotError) as caught:
        Workspace.open(settings, cache_root=tmp_path / "cache")
    assert type(caught.value) is kind
    assert caught.value.permanent is permanent
    assert says in str(caught.value)


@pytest.mark.timeout(60)
def test_a_branch_deleted_after_the_first_clone_is_a_permanent_error(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    run_git("--git-dir", str(remote), "branch", "release", "main")
    open_workspace(remote, branch="release").close()
    run_git("--git-dir", str(remote), "branch", "-D", "release")
    with pytest.raises(ConfigError, match="does not exist") as caught:
        open_workspace(remote, branch="release")
    assert caught.value.permanent


# --- 3. A leftover from a killed run never breaks the next one ------------------------------


def git_in(root: Path, *args: str) -> str:
    return run_git("-C", str(root), *args, env=git_env(**IDENTITY))


def commit_in(root: Path, name: str, content: str) -> None:
    (root / name).write_text(content)
    git_in(root, "add", name)
    git_in(root, "commit", "--quiet", "-m", f"Change {name}")


def conflicting_branch(root: Path) -> None:
    """``side`` and ``main`` both change README.md, each by a local commit."""
    git_in(root, "checkout", "--quiet", "-b", "side")
    commit_in(root, "README.md", "side\n")
    git_in(root, "checkout", "--quiet", "main")
    commit_in(root, "README.md", "main\n")


def mid_rebase(root: Path) -> None:
    conflicting_branch(root)
    git_in(root, "checkout", "--quiet", "side")
    with pytest.raises(RigError):  # the conflict stops the rebase half-way
        git_in(root, "rebase", "main")
    assert (root / ".git" / "rebase-merge").is_dir()


def mid_merge(root: Path) -> None:
    conflicting_branch(root)
    with pytest.raises(RigError):
        git_in(root, "merge", "side")
    assert (root / ".git" / "MERGE_HEAD").is_file()


def mid_cherry_pick(root: Path) -> None:
    conflicting_branch(root)
    with pytest.raises(RigError):
        git_in(root, "cherry-pick", "side")
    assert (root / ".git" / "CHERRY_PICK_HEAD").is_file()


def mid_am(root: Path) -> None:
    (root / ".git" / "rebase-apply").mkdir()
    (root / ".git" / "rebase-apply" / "applying").write_text("")


def dirty(root: Path) -> None:
    (root / "deploy" / "app.yaml").write_text("image: half-written")
    (root / "new.yaml").write_text("untracked\n")
    (root / "README.md").write_text("staged\n")
    git_in(root, "add", "README.md")


def lock_files(root: Path) -> None:
    git = root / ".git"
    for name in ("index.lock", "shallow.lock", "HEAD.lock", "config.lock", "packed-refs.lock"):
        (git / name).write_text("")
    (git / "refs" / "heads" / "main.lock").write_text("")
    (git / "refs" / "remotes" / "origin").mkdir(parents=True, exist_ok=True)
    (git / "refs" / "remotes" / "origin" / "main.lock").write_text("")


def detached(root: Path) -> None:
    git_in(root, "checkout", "--quiet", "--detach")


def garbage_head(root: Path) -> None:
    (root / ".git" / "HEAD").write_text("garbage\n")


def no_git_dir(root: Path) -> None:
    shutil.rmtree(root / ".git")


def empty_git_dir(root: Path) -> None:
    shutil.rmtree(root / ".git")
    (root / ".git").mkdir()


def half_written_partial(root: Path) -> None:
    partial = root.parent / f"{root.name}.partial"
    (partial / ".git" / "objects").mkdir(parents=True)
    (partial / ".git" / "index.lock").write_text("")
    shutil.rmtree(root)


def partial_beside_the_clone(root: Path) -> None:
    partial = root.parent / f"{root.name}.partial"
    (partial / ".git").mkdir(parents=True)
    (partial / "deploy.yaml").write_text("half")


LEFTOVERS = {
    "lock files": lock_files,
    "mid-rebase": mid_rebase,
    "mid-merge": mid_merge,
    "mid-cherry-pick": mid_cherry_pick,
    "mid-am": mid_am,
    "dirty tree": dirty,
    "detached HEAD": detached,
    "garbage HEAD": garbage_head,
    "no .git": no_git_dir,
    "empty .git": empty_git_dir,
    "half-written clone": half_written_partial,
    "half-written clone beside a good one": partial_beside_the_clone,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("leftover", LEFTOVERS)
def test_a_killed_runs_leftover_in_the_cache_never_breaks_the_next_run(
    remote: Path, open_workspace: Callable[..., Workspace], leftover: str
) -> None:
    first = open_workspace(remote)
    root = first.root
    first.close()
    LEFTOVERS[leftover](root)

    workspace = open_workspace(remote)
    assert workspace.root == root
    assert workspace.branch == "main"
    assert (root / "deploy" / "app.yaml").read_bytes() == MANIFEST
    (root / "deploy" / "app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    sha = workspace.commit(["deploy/app.yaml"], "Update flask")
    workspace.push()
    assert run_git("--git-dir", str(remote), "rev-parse", "main").strip() == sha
    assert git_in(root, "status", "--porcelain") == ""
    state = root / ".git"
    for name in ("rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD"):
        assert not (state / name).exists(), name
    assert not list(state.rglob("*.lock"))
    assert not root.parent.joinpath(f"{root.name}.partial").exists()


@pytest.mark.timeout(60)
def test_a_lock_file_in_a_users_work_tree_is_reported_and_left_alone(
    remote: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    run_git("clone", "--quiet", remote.as_uri(), str(tree))
    lock = tree / ".git" / "index.lock"
    with Workspace.open(GitSettings(repo=str(tree))) as workspace:
        lock.write_text("")
        (tree / "deploy" / "app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
        with pytest.raises(GitError, match=r"index\.lock") as caught:
            workspace.commit(["deploy/app.yaml"], "Update flask")
    message = str(caught.value)
    assert "another git process" in message
    assert "remove" in message
    assert lock.exists()  # never removed from a user's work tree


# --- 4. Branch names: bad configured ones exit 2 before any work, templated ones are fixed ----


@pytest.mark.timeout(120)
@pytest.mark.parametrize("branch", ["../../x", "HEAD", "-x", "a.lock", "a//b", "a~1"])
def test_a_bad_push_branch_exits_2_before_any_clone(
    remote: Path, tmp_path: Path, branch: str
) -> None:
    before = run_git("--git-dir", str(remote), "for-each-ref")
    args = ("run", "--repo", remote.as_uri(), "--push-branch", branch)
    proc = imagebot(*args, tmp_path=tmp_path, check=False)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "git.pushBranch" in proc.stderr
    assert "not a valid Git branch name" in proc.stderr
    assert not (tmp_path / "cache" / "imagebot" / "git").exists()  # nothing was cloned
    assert run_git("--git-dir", str(remote), "for-each-ref") == before


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("../../{changes:{name}}", "service-1"),
        ("imagebot/{changes:{name}..{version}}", "imagebot/service-1.1.0.1"),
        ("-{changes:{name}}.lock", "service-1"),
        ("a//{count}//", "a/1"),
    ],
)
def test_a_templated_push_branch_is_made_valid(template: str, expected: str) -> None:
    assert render_branch(template, [change(1)]) == expected


@pytest.mark.parametrize("template", ["HEA{changes:D}", "{changes:@}", "{changes:..}", "{skip_ci}"])
def test_a_template_that_leaves_no_branch_name_is_refused(template: str) -> None:
    with pytest.raises(ConfigError, match=r"push branch template: .* no usable branch name"):
        render_branch(template, [change(1)])
