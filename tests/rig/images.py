"""Push synthetic images to a rig registry over plain HTTP, without Docker.

Each image is a canonical-JSON config blob (chosen `created`, os/arch, labels), one tiny
deterministic gzip layer per platform, and a Docker schema2 or OCI manifest; indexes list several
platforms. The same inputs give the same digests on every run. Reading back is only what the rig's
own tests need; imagebot's registry client is the real reader.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests

from tests.rig.httpauth import RegistryClient

MediaKind = Literal["docker", "oci"]
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_TYPES: dict[str, tuple[str, str, str, str]] = {  # manifest, config, layer, index
    "docker": (
        DOCKER_MANIFEST,
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        DOCKER_LIST,
    ),
    "oci": (
        OCI_MANIFEST,
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        OCI_INDEX,
    ),
}
ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])


class Registry(Protocol):
    """What the pusher needs of a registry (RegistryServer has it)."""

    url: str
    username: str | None
    password: str | None


def canonical(value: object) -> bytes:
    """JSON with sorted keys and no spaces: equal content, equal digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rfc3339(when: dt.datetime) -> str:
    """UTC with a Z; a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@functools.cache
def layer(platform: str) -> tuple[bytes, str]:
    """(gzip blob, diff_id) of a one-file tar saying which platform it is for; mtimes are zero."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        content = f"imagebot test rig layer for {platform}\n".encode()
        info = tarfile.TarInfo("rig/platform")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    packed = gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)
    return packed, sha256(raw.getvalue())


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    arch: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`linux/arm/v7` -> Platform("linux", "arm", "v7")."""
        os, arch, *rest = text.split("/")
        return cls(os, arch, rest[0] if rest else "")

    def described(self) -> dict[str, str]:
        """The `platform` object of an index entry (also the os/arch fields of a config)."""
        fields = {"os": self.os, "architecture": self.arch}
        return fields | ({"variant": self.variant} if self.variant else {})


def config_blob(
    created: dt.datetime, platform: Platform, labels: Mapping[str, str] | None = None
) -> bytes:
    stamp = rfc3339(created)
    config: dict[str, Any] = platform.described() | {
        "created": stamp,
        "config": {"Labels": dict(labels or {})},
        "rootfs": {"type": "layers", "diff_ids": [layer(f"{platform.os}/{platform.arch}")[1]]},
        "history": [{"created": stamp, "created_by": "imagebot test rig"}],
    }
    return canonical(config)


class ImagePusher:
    """Pushes images to one registry, authenticating with its credentials when it has any."""

    def __init__(
        self,
        registry: Registry,
        session: requests.Session | None = None,
        *,
        anonymous: bool = False,
    ) -> None:
        self._owns_session = session is None
        self.session = session or requests.Session()
        if session is None:
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
            self.session.mount("http://", adapter)
        user, password = registry.username, registry.password
        credentials = (user, password) if user and password and not anonymous else None
        self.client = RegistryClient(registry.url, self.session, credentials)
        self._known_blobs: set[tuple[str, str]] = set()

    def close(self) -> None:
        """Close the HTTP session if the pusher made it (a caller's session stays open)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> ImagePusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def push_image(
        self,
        repo: str,
        tag: str,
        *,
        created: dt.datetime,
        os: str = "linux",
        arch: str = "amd64",
        variant: str = "",
        labels: Mapping[str, str] | None = None,
        media_type: MediaKind = "docker",
    ) -> str:
        """Push one single-platform image under `tag`; returns its manifest digest."""
        platform = Platform(os, arch, variant)
        body, kind = self._image_manifest(repo, platform, created, labels, media_type)
        return self._put_manifest(repo, tag, kind, body)

    def push_index(
        self,
        repo: str,
        tag: str,
        *,
        created: dt.datetime,
        platforms: Iterable[str] = ("linux/amd64", "linux/arm64"),
        labels: Mapping[str, str] | None = None,
        media_type: MediaKind = "docker",
    ) -> str:
        """Push one image per `os/arch[/variant]` by digest, then the index naming them."""
        entries = []
        for text in platforms:
            platform = Platform.parse(text)
            body, kind = self._image_manifest(repo, platform, created, labels, media_type)
            digest = self._put_manifest(repo, sha256(body), kind, body)
            described = platform.described()
            entries.append(
                {"mediaType": kind, "digest": digest, "size": len(body), "platform": described}
            )
        index_type = _TYPES[media_type][3]
        index = canonical({"schemaVersion": 2, "mediaType": index_type, "manifests": entries})
        return self._put_manifest(repo, tag, index_type, index)

    def push_tags(
        self,
        repo: str,
        tags: Mapping[str, dt.datetime],
        *,
        media_type: MediaKind = "docker",
        workers: int = 8,
    ) -> dict[str, str]:
        """Push many single-platform tags at once (shared layer, parallel requests)."""
        self._ensure_blob(repo, layer("linux/amd64")[0])

        def one(tag: str) -> tuple[str, str]:
            return tag, self.push_image(repo, tag, created=tags[tag], media_type=media_type)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(pool.map(one, list(tags)))

    def retag(self, repo: str, src_tag: str, new_tag: str) -> str:
        """Put the exact manifest bytes of `src_tag` under `new_tag` (one digest, two tags)."""
        response = self.client.request(
            "GET", f"/v2/{repo}/manifests/{src_tag}", repo=repo, headers={"Accept": ACCEPT}
        )
        kind = response.headers["Content-Type"].split(";")[0]
        return self._put_manifest(repo, new_tag, kind, response.content)

    def delete_tag(self, repo: str, tag: str) -> str:
        """Delete the manifest `tag` points at (tags sharing it go too); returns its digest."""
        response = self.client.request(
            "HEAD", f"/v2/{repo}/manifests/{tag}", repo=repo, headers={"Accept": ACCEPT}
        )
        digest = response.headers["Docker-Content-Digest"]
        self.client.request("DELETE", f"/v2/{repo}/manifests/{digest}", repo=repo)
        return digest

    # -- reading (for the rig's own tests) -------------------------------------------------------

    def manifest(self, repo: str, ref: str) -> tuple[str, dict[str, Any]]:
        """(media type, parsed manifest or index) for a tag or digest."""
        response = self.client.request(
            "GET", f"/v2/{repo}/manifests/{ref}", repo=repo, headers={"Accept": ACCEPT}
        )
        return response.headers["Content-Type"].split(";")[0], response.json()

    def config(self, repo: str, ref: str, platform: str = "linux/amd64") -> dict[str, Any]:
        """The image config behind a tag, choosing `platform` when the tag is an index."""
        kind, body = self.manifest(repo, ref)
        if kind in (DOCKER_LIST, OCI_INDEX):
            wanted = Platform.parse(platform).described()
            chosen = [
                m["digest"]
                for m in body["manifests"]
                if all(m["platform"].get(k) == v for k, v in wanted.items())
            ]
            if not chosen:
                raise LookupError(f"{repo}:{ref} has no image for {platform}")
            kind, body = self.manifest(repo, chosen[0])
        digest = body["config"]["digest"]
        blob = self.client.request("GET", f"/v2/{repo}/blobs/{digest}", repo=repo)
        return dict(blob.json())

    def tags(self, repo: str) -> list[str]:
        response = self.client.request("GET", f"/v2/{repo}/tags/list", repo=repo)
        return list(response.json().get("tags") or [])

    # -- plumbing -------------------------------------------------------------------------------

    def _image_manifest(
        self,
        repo: str,
        platform: Platform,
        created: dt.datetime,
        labels: Mapping[str, str] | None,
        media_type: MediaKind,
    ) -> tuple[bytes, str]:
        manifest_type, config_type, layer_type, _ = _TYPES[media_type]
        config = config_blob(created, platform, labels)
        blob, _ = layer(f"{platform.os}/{platform.arch}")
        self._ensure_blob(repo, blob)
        self._ensure_blob(repo, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": sha256(blob), "size": len(blob)}],
        }
        return canonical(manifest), manifest_type

    def _ensure_blob(self, repo: str, data: bytes) -> None:
        """Upload a blob unless this pusher already did (POST a session, PUT it whole)."""
        digest = sha256(data)
        if (repo, digest) in self._known_blobs:
            return
        started = self.client.request("POST", f"/v2/{repo}/blobs/uploads/", repo=repo)
        location = started.headers["Location"]
        joiner = "&" if "?" in location else "?"
        self.client.request(
            "PUT",
            f"{location}{joiner}digest={digest}",
            repo=repo,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._known_blobs.add((repo, digest))

    def _put_manifest(self, repo: str, ref: str, kind: str, body: bytes) -> str:
        response = self.client.request(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            repo=repo,
            data=body,
            headers={"Content-Type": kind},
        )
        digest = sha256(body)
        answered = response.headers.get("Docker-Content-Digest", digest)
        if answered != digest:
            raise RuntimeError(f"registry stored {repo}:{ref} as {answered}, expected {digest}")
        return digest
