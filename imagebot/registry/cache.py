"""The metadata cache: immutable facts by manifest digest, and the tag -> digest map of last cycle.

What a digest names never changes, so its creation time, platform and index children are
fetched once ever and kept in one small JSON file per digest. Each repository also keeps the
tags seen last cycle with their digest and creation time; that map is a hint, refreshed whenever
the tag list changes or a caller verifies a digest. Only digests computed from bytes received
are stored, so a lying answer never sticks. Files are written atomically (temporary file
+ rename), so concurrent processes only ever see whole files; anything unreadable is refetched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path

from imagebot.records import record
from imagebot.registry.answers import parse_time

log = logging.getLogger(__name__)

# Bump when the file format or its guarantees change; old trees are simply ignored. v2: every
# manifest digest was computed from bytes received (v1 could hold a header's unchecked claim).
LAYOUT = "v2"


@record
class DigestFacts:
    """What a manifest digest names: an image (``created``, ``platform``) or an index
    (``children``: platform -> child digest)."""

    created: datetime | None = None
    platform: str | None = None
    children: dict[str, str] | None = None


@record
class TagRecord:
    """A tag as last seen: the digest it named and the creation time for ``platform``."""

    digest: str
    created: datetime | None
    platform: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class MetadataCache:
    """Digest facts and per-repository tag records, in memory and (with a directory) on disk."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) / LAYOUT if directory is not None else None
        self._facts: dict[str, DigestFacts] = {}
        self._tags: dict[str, dict[str, TagRecord]] = {}
        self._verified: set[str] = set()
        self._kept: set[str] = set()
        self._lock = threading.Lock()
        self._write_failed = False

    # digest facts -------------------------------------------------------------------------
    def facts(self, digest: str) -> DigestFacts | None:
        with self._lock:
            found = self._facts.get(digest)
        if found is not None or self.directory is None:
            return found
        data = self._read(self._digest_path(digest))
        if data is None:
            return None
        children, platform = data.get("children"), data.get("platform")
        facts = DigestFacts(
            created=parse_time(data.get("created")),
            platform=platform if isinstance(platform, str) else None,
            children=dict(children) if isinstance(children, dict) else None,
        )
        with self._lock:
            self._facts[digest] = facts
        return facts

    def put_facts(self, digest: str, facts: DigestFacts) -> None:
        with self._lock:
            self._facts[digest] = facts
        if self.directory is not None:
            data: dict[str, object] = {"created": _iso(facts.created), "platform": facts.platform}
            if facts.children is not None:
                data = {"children": facts.children}
            self._write(self._digest_path(digest), data)

    # verified manifest digests -----------------------------------------------------------
    def note_verified(self, digest: str) -> None:
        """``digest`` is the sha256 of manifest bytes received: remember it in memory."""
        with self._lock:
            self._verified.add(digest)

    def keep_verified(self, digest: str) -> None:
        """Remember a verified digest on disk too, so no later process pays its GET again."""
        with self._lock:
            self._verified.add(digest)
            if digest in self._kept:
                return
            self._kept.add(digest)
        if self.directory is not None and not self._verified_path(digest).is_file():
            self._write(self._verified_path(digest), {})

    def verified(self, repo: str, digest: str) -> bool:
        """True when ``digest`` is known to name manifest bytes that were received and hashed:
        this process hashed them, a tag record of ``repo`` holds it, or a marker was kept."""
        with self._lock:
            if digest in self._verified:
                return True
        if any(record.digest == digest for record in self.tags(repo).values()):
            return True
        if self.directory is not None and self._verified_path(digest).is_file():
            self.note_verified(digest)
            return True
        return False

    # tag records --------------------------------------------------------------------------
    def tags(self, repo: str) -> dict[str, TagRecord]:
        with self._lock:
            found = self._tags.get(repo)
        if found is not None:
            return dict(found)
        records: dict[str, TagRecord] = {}
        data = self._read(self._tags_path(repo)) if self.directory is not None else None
        entries = data.get("tags") if data is not None and data.get("repo") == repo else None
        if isinstance(entries, dict):
            for tag, entry in entries.items():
                if isinstance(entry, dict) and isinstance(entry.get("digest"), str):
                    records[tag] = TagRecord(
                        entry["digest"],
                        parse_time(entry.get("created")),
                        str(entry.get("platform", "")),
                    )
        with self._lock:
            self._tags[repo] = records
        return dict(records)

    def put_tags(self, repo: str, records: dict[str, TagRecord]) -> None:
        with self._lock:
            self._tags[repo] = dict(records)
        if self.directory is not None:
            entries = {
                tag: {"digest": r.digest, "created": _iso(r.created), "platform": r.platform}
                for tag, r in sorted(records.items())
            }
            self._write(self._tags_path(repo), {"repo": repo, "tags": entries})

    # files --------------------------------------------------------------------------------
    def _root(self) -> Path:
        if self.directory is None:  # pragma: no cover - callers check first
            raise RuntimeError("the metadata cache has no directory")
        return self.directory

    def _digest_path(self, digest: str) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        safe = "".join(c for c in hexpart if c.isalnum())
        return self._root() / "digests" / algorithm / safe[:2] / f"{safe}.json"

    def _verified_path(self, digest: str) -> Path:
        return self._digest_path(digest).with_suffix(".verified")

    def _tags_path(self, repo: str) -> Path:
        key = hashlib.sha256(repo.encode()).hexdigest()[:40]
        return self._root() / "tags" / f"{key}.json"

    @staticmethod
    def _read(path: Path) -> dict[str, object] | None:
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.debug("metadata cache: %s is unreadable; it will be refetched", path)
            return None
        return data if isinstance(data, dict) else None

    def _write(self, path: Path, data: dict[str, object]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(data, out, separators=(",", ":"))
                Path(temporary).replace(path)  # atomic: readers see the old or the new file
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            if not self._write_failed:  # say it once; the cache still works in memory
                self._write_failed = True
                log.warning("metadata cache %s is not writable (%s)", self.directory, error)
