"""Settings for the commands that open a repository (``run`` and the workflow commands).

Turns their Git flags and ``--config`` into ``Settings`` before the workspace opens, and into a
loader that applies the repository's own ``imagebot.yaml`` afterwards, with the explicit flags
winning over both files. Parses options only; it opens no repository and prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagebot.cli.common import check_paths
from imagebot.cli.progress import default_cache_dir
from imagebot.config import GitSettings, Settings

if TYPE_CHECKING:
    from imagebot.settings.files import CommittedFiles, Configure

Apply = Callable[[Settings], Settings]

# Flag name -> GitSettings attribute, for the Git flags a command may take.
_GIT_FLAGS = ("branch", "push_branch", "author_name", "author_email")


def command_line_settings(options: Mapping[str, Any]) -> tuple[Settings, Apply]:
    """Settings from the flags alone, and a function that re-applies the explicit ones."""

    def apply(settings: Settings) -> Settings:
        git = replace(settings.git, repo=options["repo"])
        for flag in _GIT_FLAGS:
            if options.get(flag):
                git = replace(git, **{flag: options[flag]})
        settings = replace(settings, git=git)
        if settings.registries.cache_dir is None:
            # Creation times are immutable per digest: keep them across runs by default.
            cache = str(default_cache_dir())
            settings = replace(settings, registries=replace(settings.registries, cache_dir=cache))
        if options.get("paths"):
            settings = replace(settings, paths=tuple(options["paths"]))
        if options.get("allow_downgrade"):
            settings = replace(settings, allow_downgrade=True)
        return replace(settings, dry_run=options["dry_run"], push=not options["no_push"])

    return apply(Settings(git=GitSettings())), apply


def unread_keys(options: Mapping[str, Any]) -> frozenset[str]:
    """The ``--config`` keys this command will not use: a dry run commits nothing (no signing
    key), and a dry run of a local checkout reaches no remote (no Git token or SSH key). A dry
    run then needs no push credentials, as users of Flux and Argo CD expect."""
    from imagebot.errors import ConfigError
    from imagebot.gitrepo.address import WorkTree, parse_repo
    from imagebot.settings import GIT_REMOTE_KEYS, SIGNING_KEYS

    if not options.get("dry_run"):
        return frozenset()
    try:
        local = isinstance(parse_repo(options["repo"]), WorkTree)
    except ConfigError:  # opening the workspace says what is wrong with --repo
        local = False
    return SIGNING_KEYS | GIT_REMOTE_KEYS if local else SIGNING_KEYS


def settings_and_loader(options: Mapping[str, Any]) -> tuple[Settings, Configure]:
    """The settings to open the repository with, and the loader of the final settings.

    ``--config`` is read here, once, before cloning: it may hold the Git credentials and author.
    Without it the loader reads ``imagebot.yaml`` from the checked-out tree. Raises
    ``ConfigError`` for a missing, unreadable or invalid file. The loader raises ``UsageError``
    for a ``--path`` (or ``paths`` entry) the checked-out tree does not have.
    """
    from imagebot.settings import load_settings, settings_loader

    settings, apply = command_line_settings(options)
    path = options.get("config_file")
    loader: Configure
    if path:
        configured = apply(load_settings(path, settings, unread=unread_keys(options)))
        settings, loader = configured, lambda _root, _committed=None: configured
    else:
        loader = settings_loader(None, settings, apply)
    flag = "--path" if options.get("paths") else "paths"

    def load(root: Path, committed: CommittedFiles | None = None) -> Settings:
        final = loader(root, committed)
        # After the clone: only now is there a tree.
        check_paths(root, final.paths, flag, committed.exists if committed else None)
        return final

    return settings, load
