"""Commits are signed through git's own signing config, passed per command and never stored."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagebot.config import GitSettings
from imagebot.gitrepo import Workspace
from tests.rig.git import run_git

EMAIL = "bot@example.org"


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def ssh_signing_key(tmp_path: Path) -> Path:
    key = tmp_path / "signing" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", EMAIL, "-f", str(key)], check=True
    )
    return key


def gpg(*args: str) -> str:
    command = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def gnupg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away GnuPG home with one signing key; yields its fingerprint."""
    home = Path(tempfile.mkdtemp(prefix="gnupg-", dir="/tmp"))  # agent socket paths stay short
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    gpg("--quick-gen-key", f"Image Bot <{EMAIL}>", "ed25519", "sign", "never")
    listing = gpg("--with-colons", "--list-secret-keys")
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line[:4] == "fpr:")
    yield fingerprint
    subprocess.run(["gpgconf", "--kill", "all"], check=False)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def commit_with(bare_remote: Callable[..., Path], tmp_path: Path) -> Callable[..., Path]:
    """Open a workspace with ``options``, commit one change, return the workspace root."""

    def commit(**options: str) -> Path:
        remote = bare_remote({"app.yaml": b"image: a:1\n"})
        settings = GitSettings(repo=remote.as_uri(), author_email=EMAIL, **options)  # type: ignore[arg-type]
        with Workspace.open(settings, cache_root=tmp_path / "cache") as workspace:
            (workspace.root / "app.yaml").write_bytes(b"image: a:2\n")
            assert workspace.commit(["app.yaml"], "Update a")
            return workspace.root

    return commit


def verify(root: Path, *config: str) -> subprocess.CompletedProcess[str]:
    options = [word for item in config for word in ("-c", item)]
    return subprocess.run(
        ["git", "-C", str(root), *options, "verify-commit", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_commit_is_signed_with_an_ssh_key(
    commit_with: Callable[..., Path], ssh_signing_key: Path, tmp_path: Path
) -> None:
    public = Path(f"{ssh_signing_key}.pub").read_text().split()
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'{EMAIL} namespaces="git" {public[0]} {public[1]}\n')

    root = commit_with(signing_key=str(ssh_signing_key), signing_format="ssh")

    result = verify(root, "gpg.format=ssh", f"gpg.ssh.allowedSignersFile={allowed}")
    assert result.returncode == 0, result.stderr
    assert f'Good "git" signature for {EMAIL}' in result.stderr
    assert "signingkey" not in (root / ".git" / "config").read_text()


def test_a_commit_is_signed_with_an_openpgp_key(
    commit_with: Callable[..., Path], gnupg_home: str
) -> None:
    root = commit_with(signing_key=gnupg_home, signing_format="openpgp")
    result = verify(root)
    assert result.returncode == 0, result.stderr
    assert "Good signature" in result.stderr


def test_without_a_signing_key_a_commit_is_not_signed_even_if_the_user_signs_by_default(
    commit_with: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_config = tmp_path / "user.gitconfig"
    user_config.write_text("[commit]\n\tgpgsign = true\n[user]\n\tsigningkey = NOKEY\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user_config))
    root = commit_with()
    assert verify(root).returncode != 0
    assert run_git("-C", str(root), "log", "-1", "--format=%G?").strip() == "N"
