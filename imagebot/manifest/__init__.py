"""Find image targets in YAML text and rewrite them byte-exactly; walk a tree for files.

Public API: ``scan_tree`` / ``scan_text`` find targets; ``plan_set_image`` turns a manual release
into ``Update``s; ``rewrite_text`` / ``rewrite_files`` splice new values in and verify them;
``write_files`` writes atomically; ``unified_diff`` shows what would change. Nothing here talks
to a registry or to Git, and no YAML is ever re-emitted by a dumper.

The rewriting and the release planning load on first use: a run's process that only scans (the
rewrite may happen in a forked child, ``reconcile/forked.py``) need not hold them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from imagebot.manifest.changeset import RewriteResult, rewrite_files, unified_diff, updated_value
from imagebot.manifest.compose import c_composer_available
from imagebot.manifest.facts import FileFacts
from imagebot.manifest.filemap import FileMap, serial_map
from imagebot.manifest.scan import scan_text
from imagebot.manifest.tree import MAX_FILE_BYTES, TreeScan, paths_in_tree, scan_tree, write_files
from imagebot.manifest.update import Update

if TYPE_CHECKING:
    from imagebot.manifest.release import plan_set_image, targets_of
    from imagebot.manifest.rewrite import rewrite_text

_ON_FIRST_USE = {
    "plan_set_image": "imagebot.manifest.release",
    "targets_of": "imagebot.manifest.release",
    "rewrite_text": "imagebot.manifest.rewrite",
}


def __getattr__(name: str) -> object:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "MAX_FILE_BYTES",
    "FileFacts",
    "FileMap",
    "RewriteResult",
    "TreeScan",
    "Update",
    "c_composer_available",
    "paths_in_tree",
    "plan_set_image",
    "rewrite_files",
    "rewrite_text",
    "scan_text",
    "scan_tree",
    "serial_map",
    "targets_of",
    "unified_diff",
    "updated_value",
    "write_files",
]
