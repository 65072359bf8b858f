"""A commit's files read from the object store, against the same commit checked out.

``CommitFiles`` stands in for a work tree that was never written out: every scan over it must
equal the scan of the checkout (same files, order, bytes, problems), and the workspace that
uses it must commit what a checkout would have committed. Real git throughout.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagebot.config import Settings
from imagebot.errors import ConfigError, GitError
from imagebot.gitrepo import Workspace
from imagebot.gitrepo.snapshot import CommitFiles, parse_listing, walk_order
from imagebot.manifest import scan_tree
from imagebot.manifest.files import DirectoryFiles, is_manifest_name
from imagebot.reconcile.forked import forked_map
from imagebot.settings.files import repository_settings
from tests.rig.bare import IDENTITY
from tests.rig.git import git_env, run_git

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

pytestmark = [pytest.mark.usefixtures("isolated_git"), pytest.mark.rig]


def committed(work: Path, files: dict[str, bytes]) -> Path:
    """``work`` as a repository whose one commit holds ``files`` (a name ending in ``*`` is
    executable), checked out."""
    run_git("init", "--quiet", "--initial-branch", "main", str(work))
    for name, content in files.items():
        path = work / name.rstrip("*")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if name.endswith("*"):
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    commit_all(work)
    return work


def commit_all(work: Path) -> None:
    run_git("-C", str(work), "add", "--all")
    run_git("-C", str(work), "commit", "--quiet", "-m", "files", env=git_env(**IDENTITY))


@pytest.fixture
def open_commit() -> Iterator[Callable[..., CommitFiles]]:
    """Factory: ``CommitFiles`` of a repository's commit, closed after the test."""
    opened: list[CommitFiles] = []

    def open_(work: Path, rev: str = "HEAD") -> CommitFiles:
        opened.append(CommitFiles.of(work, {}, rev=rev))
        return opened[-1]

    yield open_
    for files in opened:
        files.close()


def test_the_listing_parser_reads_modes_sizes_and_any_path(
    open_commit: Callable[..., CommitFiles], tmp_path: Path
) -> None:
    work = committed(tmp_path / "w", {"a.yaml": b"x: 1\n", "run.sh*": b"#!/bin/sh\n"})
    odd = "tab\there\nnewline.yaml"
    (work / odd).write_bytes(b"image: a\n")
    (work / b"caf\xe9.yaml".decode("utf-8", "surrogateescape")).write_bytes(b"")
    (work / "link.yaml").symlink_to("a.yaml")
    commit_all(work)
    sha = run_git("-C", str(work), "rev-parse", "HEAD").strip()
    run_git("-C", str(work), "update-index", "--add", "--cacheinfo", f"160000,{sha},sub")
    run_git("-C", str(work), "commit", "--quiet", "-m", "sub", env=git_env(**IDENTITY))
    out = git_bytes(work, "ls-tree", "-r", "-l", "-z", "HEAD")
    entries = {e.path: e for e in parse_listing(out)}
    assert entries["a.yaml"].mode == "100644" and entries["a.yaml"].size == 5
    assert entries["run.sh"].mode == "100755"
    assert entries[odd].size == 9
    assert entries["caf\udce9.yaml"].size == 0  # as os.scandir names a non-UTF-8 file
    assert entries["link.yaml"].mode == "120000"
    assert entries["sub"].mode == "160000" and entries["sub"].size == -1
    with pytest.raises(GitError, match="ls-tree printed"):
        parse_listing(b"100644 blob abc\0")


def git_bytes(work: Path, *args: str, stdin: bytes = b"") -> bytes:
    """Git's output as bytes (NUL-separated listings, object ids of bytes fed in)."""
    done = subprocess.run(
        ["git", "-C", str(work), *args], input=stdin, capture_output=True, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def fixture_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture of the project committed: all kinds of manifests, Argo CD Applications,
    settings files, plus an oversized, a non-UTF-8 and an executable one."""
    work = tmp_path_factory.mktemp("committed") / "fixtures"
    shutil.copytree(FIXTURES, work, symlinks=True)
    for link in [p for p in work.rglob("*") if p.is_symlink()]:
        link.unlink()  # a commit with links is checked out instead (tested below)
    (work / "big" / "huge.yaml").parent.mkdir()
    (work / "big" / "huge.yaml").write_bytes(b"image: nginx:1.0\n" * 4096)
    (work / "latin1.yaml").write_bytes(b"image: caf\xe9:1.0 # imagebot.io/automated\n")
    runnable = work / "apps" / "run.yaml"
    runnable.parent.mkdir(exist_ok=True)
    runnable.write_bytes(b"image: nginx:1.0\n")
    runnable.chmod(0o755)
    return committed(work, {})


SCANS: list[dict[str, object]] = [
    {},
    {"only_automated": True, "watch_automated": True, "with_facts": True},
    {"with_workloads": True},
    {"watch": ("docker.io/library/nginx",)},
    {"max_bytes": 4096},
]
PATHS = [(), ("manifests",), ("argocd", "latin1.yaml"), ("seed-example/",), ("../elsewhere",)]


@pytest.mark.parametrize("options", SCANS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("paths", PATHS, ids=lambda p: ",".join(p) or "all")
def test_a_commit_scans_exactly_as_its_checkout(
    open_commit: Callable[..., CommitFiles],
    fixture_tree: Path,
    options: dict[str, object],
    paths: tuple[str, ...],
) -> None:
    work = fixture_tree
    on_disk, in_commit = DirectoryFiles(work), open_commit(work)
    urls = lambda: ("https://example.invalid/repo.git",)  # noqa: E731
    assert not in_commit.has_links
    expected = scan_tree(on_disk, paths, repository_urls=urls, **options)  # type: ignore[arg-type]
    found = scan_tree(in_commit, paths, repository_urls=urls, **options)  # type: ignore[arg-type]
    assert found == expected
    assert expected.files_seen > 0 or paths == ("../elsewhere",)


def test_a_forked_scan_reads_the_commit_in_both_processes(
    open_commit: Callable[..., CommitFiles], fixture_tree: Path
) -> None:
    work = fixture_tree
    on_disk, in_commit = DirectoryFiles(work), open_commit(work)
    expected = scan_tree(on_disk, with_facts=True)
    assert scan_tree(in_commit, with_facts=True, map_files=forked_map) == expected


def test_a_forked_child_reads_through_its_own_cat_file(
    open_commit: Callable[..., CommitFiles], tmp_path: Path
) -> None:
    """The parent's ``cat-file`` answers the parent only: a child asking through the same pipe
    would take the parent's answers (or hand it its own)."""
    work = committed(tmp_path / "w", {f"f{i}.yaml": f"image: app:{i}\n".encode() for i in range(3)})
    files = open_commit(work)
    refs = dict(files.listing([], [], is_manifest_name))
    assert refs["f0.yaml"].read_bytes() == b"image: app:0\n"  # the parent's reader is running
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write_end, refs["f1.yaml"].read_bytes() + refs["f2.yaml"].read_bytes())
        finally:
            files.close()
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        assert source.read() == b"image: app:1\nimage: app:2\n"
    assert os.waitpid(pid, 0)[1] == 0
    assert refs["f2.yaml"].read_bytes() == b"image: app:2\n"  # and the parent's still answers


NAMES = st.text(alphabet="abAB.-_k", min_size=1, max_size=6).filter(lambda n: n not in (".", ".."))
FILES = st.lists(
    st.tuples(
        st.lists(NAMES.filter(lambda n: n.lower() != ".git"), max_size=2),
        st.sampled_from(["x.yaml", "Y.YML", "z.json", "Kustomization", "notes.txt", "b.yaml"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=FILES)
def test_any_tree_is_listed_in_the_walks_order(
    open_commit: Callable[..., CommitFiles],
    tmp_path_factory: pytest.TempPathFactory,
    files: list[tuple[list[str], str]],
) -> None:
    work = tmp_path_factory.mktemp("tree")
    contents: dict[str, bytes] = {}
    for directories, name in files:
        path = "/".join([*directories, name])
        if any(other.startswith(path + "/") or path.startswith(other + "/") for other in contents):
            continue  # a file and a directory of one name cannot both exist
        contents[path] = f"image: app:{len(contents)}\n".encode()
    committed(work, contents)
    on_disk, in_commit = DirectoryFiles(work), open_commit(work)
    listed = [(r, f.read_bytes()) for r, f in on_disk.listing([], [], is_manifest_name)]
    assert [(r, f.read_bytes()) for r, f in in_commit.listing([], [], is_manifest_name)] == listed
    assert [r for r, _ in listed] == sorted((r for r, _ in listed), key=walk_order)


def hostile_commit(work: Path, names: list[bytes]) -> str:
    """A commit whose tree holds entries git would never check out (built byte by byte)."""
    blob = git_bytes(work, "hash-object", "-w", "--stdin", stdin=b"image: evil:1\n").strip()
    good = git_bytes(work, "hash-object", "-w", "--stdin", stdin=b"image: good:1\n").strip()
    tree = (
        b"".join(b"100644 " + name + b"\0" + bytes.fromhex(blob.decode()) for name in sorted(names))
        + b"100644 ok.yaml\0"
        + bytes.fromhex(good.decode())
    )
    oid = git_bytes(work, "hash-object", "-t", "tree", "-w", "--literally", "--stdin", stdin=tree)
    commit = run_git(
        "-C", str(work), "commit-tree", oid.decode().strip(), "-m", "evil", env=git_env(**IDENTITY)
    )
    return commit.strip()


def test_entries_git_would_never_check_out_are_not_read(
    open_commit: Callable[..., CommitFiles], tmp_path: Path
) -> None:
    work = committed(tmp_path / "w", {"README.md": b"hi\n"})
    commit = hostile_commit(work, [b"..", b".git", b".GIT", b"."])
    files = open_commit(work, commit)
    assert [r for r, _ in files.listing([], [], is_manifest_name)] == ["ok.yaml"]
    assert files.read_text("../x", 100) is None
    assert files.read_committed("ok.yaml", 3) == b"imag"  # at most limit + 1 bytes


def test_a_missing_blob_is_a_read_error_not_a_crash(
    open_commit: Callable[..., CommitFiles], tmp_path: Path
) -> None:
    work = committed(tmp_path / "w", {"a.yaml": b"image: app:1\n"})
    files = open_commit(work)
    with pytest.raises(OSError, match="no blob"):
        files.blob("0" * 40, 3)
    ((_, ref),) = files.listing([], [], is_manifest_name)
    assert ref.read_bytes() == b"image: app:1\n"  # the same reader goes on


def test_exists_answers_for_files_and_directories_of_the_commit(
    open_commit: Callable[..., CommitFiles], tmp_path: Path
) -> None:
    work = committed(tmp_path / "w", {"apps/web/a.yaml": b"x: 1\n", "top.txt": b"t\n"})
    files = open_commit(work)
    for path in ("apps", "apps/", "apps/web", "./apps/web/a.yaml", "top.txt", ".", ""):
        assert files.exists(path), path
    for path in ("app", "apps/we", "nope.yaml", "apps/web/a.yaml/x"):
        assert not files.exists(path), path
    with pytest.raises(ValueError, match="null"):
        files.exists("a\0b")


def test_the_repositorys_settings_come_from_the_commit(
    open_commit: Callable[..., CommitFiles], tmp_path: Path
) -> None:
    work = committed(tmp_path / "w", {"imagebot.yaml": b"paths: [apps]\n"})
    assert repository_settings(work, Settings(), open_commit(work)).paths == ("apps",)
    other = committed(tmp_path / "o", {"imagebot.yaml/x": b"paths: [apps]\n"})
    assert repository_settings(other, Settings(), open_commit(other)) == Settings()
    big = committed(tmp_path / "b", {"imagebot.yaml": b"# " + b"x" * (1 << 20) + b"\n"})
    with pytest.raises(ConfigError, match="larger than"):
        repository_settings(big, Settings(), open_commit(big))


# The workspace that never writes its files out.


def test_a_fresh_clone_read_from_objects_commits_as_a_checkout_would(
    bare_remote: Callable[..., Path], open_workspace: Callable[..., Workspace]
) -> None:
    remote = bare_remote({"apps/a.yaml": b"image: app:1\n", "README.md": b"hi\n"})
    workspace = open_workspace(remote, objects_only=True)
    assert sorted(p.name for p in workspace.root.iterdir()) == [".git"]
    files = workspace.snapshot()
    assert files is not None
    assert [r for r, _ in files.listing([], [], is_manifest_name)] == ["apps/a.yaml"]
    sha = workspace.commit_texts({"apps/a.yaml": "image: app:2\n"}, "Bump")
    workspace.push()
    assert run_git("--git-dir", str(remote), "rev-parse", "main").strip() == sha
    assert run_git("--git-dir", str(remote), "show", "main:apps/a.yaml") == "image: app:2\n"
    assert run_git("--git-dir", str(remote), "show", "main:README.md") == "hi\n"
    assert not (workspace.root / ".git" / "index").exists()


def test_an_executable_file_stays_executable_without_a_work_tree(
    tmp_path: Path, open_workspace: Callable[..., Workspace]
) -> None:
    work = committed(tmp_path / "w", {"hooks/pre.yaml*": b"image: app:1\n"})
    remote = tmp_path / "r.git"
    run_git("clone", "--quiet", "--bare", str(work), str(remote))
    workspace = open_workspace(remote, objects_only=True)
    workspace.commit_texts({"hooks/pre.yaml": "image: app:2\n"}, "Bump")
    workspace.push()
    listing = run_git("--git-dir", str(remote), "ls-tree", "main", "hooks/pre.yaml")
    assert listing.startswith("100755 ")


def test_refresh_moves_the_branch_and_the_snapshot_follows(
    bare_remote: Callable[..., Path], open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    from tests.test_gitrepo_workspace import commit_elsewhere

    remote = bare_remote({"a.yaml": b"image: app:1\n"})
    workspace = open_workspace(remote, objects_only=True)
    before = workspace.snapshot()
    assert before is not None and before.read_text("a.yaml", 100) == "image: app:1\n"
    workspace.commit_texts({"a.yaml": "image: app:mine\n"}, "Mine, to be dropped")
    theirs = commit_elsewhere(remote, tmp_path, {"a.yaml": b"image: app:theirs\n"})
    workspace.refresh()
    after = workspace.snapshot()
    assert after is not None and after.read_text("a.yaml", 100) == "image: app:theirs\n"
    assert workspace.head() == workspace.remote_revision == theirs
    assert sorted(p.name for p in workspace.root.iterdir()) == [".git"]


def test_a_commit_with_a_symlink_is_checked_out_instead(
    tmp_path: Path, open_workspace: Callable[..., Workspace]
) -> None:
    work = committed(tmp_path / "w", {"apps/a.yaml": b"image: app:1\n"})
    (work / "apps" / "b.yaml").symlink_to("a.yaml")
    commit_all(work)
    remote = tmp_path / "r.git"
    run_git("clone", "--quiet", "--bare", str(work), str(remote))
    workspace = open_workspace(remote, objects_only=True)
    assert workspace.snapshot() is None
    assert (workspace.root / "apps" / "b.yaml").is_symlink()
    listed = DirectoryFiles(workspace.root).listing([], [], is_manifest_name)
    assert [relative for relative, _ in listed] == ["apps/a.yaml"]  # the link leads to it


@pytest.mark.parametrize("why", ["dated", "plain"])
def test_only_a_fast_import_commit_goes_without_a_work_tree(
    bare_remote: Callable[..., Path],
    open_workspace: Callable[..., Workspace],
    monkeypatch: pytest.MonkeyPatch,
    why: str,
) -> None:
    remote = bare_remote({"a.yaml": b"image: app:1\n"})
    if why == "dated":  # fast-import cannot take the date: the files are written out
        monkeypatch.setenv("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
    workspace = open_workspace(remote, objects_only=True)
    assert (workspace.snapshot() is None) is (why == "dated")
    assert (workspace.root / "a.yaml").exists() is (why == "dated")
    if why == "plain":  # an index of only these paths would commit the deletion of all else
        with pytest.raises(GitError, match="no work tree"):
            workspace.commit(["a.yaml"], "Never")
        assert workspace.head() == workspace.remote_revision


def test_a_reused_cache_keeps_the_way_it_was_opened(
    bare_remote: Callable[..., Path], open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    from tests.test_gitrepo_workspace import commit_elsewhere

    remote = bare_remote({"a.yaml": b"image: app:1\n"})
    first = open_workspace(remote, objects_only=True)
    first.close()
    commit_elsewhere(remote, tmp_path, {"a.yaml": b"image: app:2\n"})
    again = open_workspace(remote, objects_only=True)
    files = again.snapshot()
    assert files is not None and files.read_text("a.yaml", 100) == "image: app:2\n"
    again.close()
    written = open_workspace(remote)  # a workflow command: the files are written out
    assert (written.root / "a.yaml").read_text() == "image: app:2\n"
    written.close()
    commit_elsewhere(remote, tmp_path, {"a.yaml": b"image: app:3\n"})
    last = open_workspace(remote, objects_only=True)
    assert last.snapshot() is None  # a work tree once written is reset like any other
    assert (last.root / "a.yaml").read_text() == "image: app:3\n"


def test_an_empty_repository_has_no_files_rather_than_an_error(
    tmp_path: Path, open_workspace: Callable[..., Workspace]
) -> None:
    remote = tmp_path / "empty.git"
    run_git("init", "--quiet", "--bare", str(remote))
    workspace = open_workspace(remote, objects_only=True)
    files = workspace.snapshot()
    assert files is not None
    assert list(files.listing([], [], is_manifest_name)) == []
    assert scan_tree(files).targets == ()
