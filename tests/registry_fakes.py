"""Helpers for the registry tests: canned images and their digests.

Shared by the ``responses`` tests (their clock is ``tests.support.FakeClock``); the real-registry
tests use the rig instead.
"""

from __future__ import annotations

import hashlib
import json

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


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
