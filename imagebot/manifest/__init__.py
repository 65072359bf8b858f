"""Find image targets in YAML text and rewrite them byte-exactly; walk a tree for files.

Public API: ``scan_tree`` / ``scan_text`` find targets; ``plan_set_image`` turns a manual release
into ``Update``s; ``rewrite_text`` / ``rewrite_files`` splice new values in and verify them;
``write_files`` writes atomically; ``unified_diff`` shows what would change. Nothing here talks
to a registry or to Git, and no YAML is ever re-emitted by a dumper.
"""

from imagebot.manifest.changeset import RewriteResult, rewrite_files, unified_diff, updated_value
from imagebot.manifest.compose import c_composer_available
from imagebot.manifest.facts import FileFacts
from imagebot.manifest.filemap import FileMap, serial_map
from imagebot.manifest.release import plan_set_image, targets_of
from imagebot.manifest.rewrite import Update, rewrite_text
from imagebot.manifest.scan import scan_text
from imagebot.manifest.tree import MAX_FILE_BYTES, TreeScan, paths_in_tree, scan_tree, write_files

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
