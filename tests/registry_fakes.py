"""Helpers for the registry tests: an injected clock that never really sleeps, canned images.

Shared by the ``responses`` tests; the real-registry tests use the rig instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass
class FakeClock:
    """``clock()`` for monotonic time; ``sleep`` advances it and remembers the delays."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def image(created: str, labels: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """(manifest body, config body) of a one-layer linux/amd64 image."""
    config = json.dumps(
        {
            "created": created,
            "os": "linux",
            "architecture": "amd64",
            "config": {"Labels": labels or {}},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    return manifest, config
