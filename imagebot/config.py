"""Settings as documented dataclasses, grouped by concern.

Every knob a user can turn lives here, with its default and why: the one home of defaults.
``imagebot.settings`` reads ``imagebot.yaml`` and the CR spec into these through one grammar, and
command-line flags fill them in too; code below reconcile receives only the part it needs (the
registry client its ``RegistrySettings``, the Git edge its ``GitSettings``). Pure data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from urllib.parse import urlsplit

from imagebot.records import record


@record
class RateLimit:
    """Per-host limits. Docker Hub gets conservative defaults because its quota is per IP."""

    max_concurrency: int = 8
    # 0: not paced, only ``max_concurrency`` in flight (a 429 still shuts the host until its
    # Retry-After). A configured rate spaces requests evenly.
    requests_per_second: float = 0.0
    # Requests that may start at once before pacing sets in (a token bucket's depth): 1 spaces
    # every request evenly.
    burst: int = 1


PUSH_TIME_APIS = ("auto", "none", "google", "quay", "harbor", "github", "ecr")
"""Registry APIs that say when each tag was pushed (docs/registries.md, "Push times")."""


@record
class PushTimes:
    """Where a registry host says when each tag was pushed, so a time-ordered policy needs no
    manifest or config blob per tag. ``auto`` picks by host (gcr.io and ``*.pkg.dev``: Google's
    tag list; quay.io: Quay's tag API; ghcr.io: GitHub's packages API when a token is set).
    ``url`` is the API's base when it is not the registry's own (GitHub Enterprise, a Quay or
    Harbor behind another name); ``token`` goes to that URL's host only, never to the registry.
    ``ecr`` (never chosen by ``auto``: it needs AWS credentials) signs ECR's ``DescribeImages``
    with the AWS access key: these sign requests to the ECR API's host only."""

    api: str = "auto"
    url: str | None = None
    token: str | None = field(default=None, repr=False)
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)


@record
class RegistryHost:
    """Settings for one registry host (``docker.io``, ``ghcr.io``, ``host:5000``)."""

    host: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    # An OAuth2 refresh token (``identitytoken`` of a docker config: Azure, ECR-style logins).
    identity_token: str | None = field(default=None, repr=False)
    insecure: bool = False
    mirror: str | None = None
    rate_limit: RateLimit | None = None
    push_times: PushTimes | None = None


@record
class RegistrySettings:
    """How to reach registries: per-host settings, docker config, platform, bounds."""

    hosts: tuple[RegistryHost, ...] = ()
    docker_config: str | None = None
    platform: str = "linux/amd64"
    required_platforms: tuple[str, ...] = ()
    max_tag_pages: int = 100
    max_tags: int = 10_000
    timeout_seconds: float = 30.0
    cache_dir: str | None = None
    # Attempts after the first for 5xx answers and timeouts, with exponential backoff and jitter.
    max_retries: int = 3
    # On Docker Hub, list tags through hub.docker.com (push times, digests, platforms; no pulls).
    use_hub_api: bool = True


SIGNING_FORMATS = ("openpgp", "ssh", "x509")
"""git's ``gpg.format`` values: one answer for every source (x509 needs ``gpgsm``'s keyring)."""


@record
class GitSettings:
    """Where and how to commit and push."""

    repo: str = "."
    branch: str | None = None
    push_branch: str | None = None
    author_name: str = "imagebot"
    author_email: str = "imagebot@users.noreply.imagebot.io"
    message_template: str | None = None
    skip_ci: bool = False
    signing_key: str | None = None
    signing_format: str | None = None  # git's gpg.format: "openpgp" (default), "ssh" or "x509"
    ssh_key_file: str | None = None
    known_hosts_file: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    # HTTPS user name sent with the token; default: the URL's user, else "x-access-token".
    username: str | None = None
    max_push_attempts: int = 5
    cache_dir: str | None = None


RECEIVER_TYPES = ("generic", "generic-hmac", "slack")
MIN_SECRET_PATH = 16  # shorter URL paths (``/hook``) are names, not credentials
"""Notification receivers, named as Flux's notification-controller names its Provider types."""


@record
class Receiver:
    """One place notifications are POSTed to (``notifications[]`` in ``--config`` or the CR).

    ``address`` and ``token`` are secrets (a Slack webhook URL is its own credential): they never
    reach a repr, and logs name a receiver by ``label`` only. ``secret_ref`` is the CR's Secret
    holding ``address`` and/or ``token``, read by the operator before each cycle.
    """

    type: str = ""
    name: str | None = None
    address: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    secret_ref: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """What the redactor must mask: the token, the address, and the address's path and
        query alone when long enough to carry a credential (Slack's path is its token, and an
        HTTP library's debug line shows the path without the host)."""
        found = [s for s in (self.token, self.address) if s]
        try:
            parts = urlsplit(self.address or "")
        except ValueError:
            return tuple(found)
        tail = f"{parts.path}?{parts.query}" if parts.query else parts.path
        found += [s for s in (parts.path, tail) if len(s) >= MIN_SECRET_PATH]
        return tuple(found)

    @property
    def label(self) -> str:
        """How logs and reports name the receiver: its name, else its type and host (never the
        path or query, where webhook URLs carry their tokens)."""
        if self.name:
            return self.name
        try:
            host = urlsplit(self.address or "").hostname or "?"
        except ValueError:
            host = "?"
        return f"{self.type} receiver at {host}"


@record
class Settings:
    """Everything one reconcile needs."""

    git: GitSettings = field(default_factory=GitSettings)
    registries: RegistrySettings = field(default_factory=RegistrySettings)
    paths: tuple[str, ...] = ()
    allow_downgrade: bool = False
    # The youngest a chosen tag may be, in seconds (``minAge``); a workload's
    # ``imagebot.io/min-age.<container>`` wins. None: any age.
    min_age: float | None = None
    dry_run: bool = False
    push: bool = True
    # Where to tell about commits and changes of state; only --config and the CR may name them.
    notifications: tuple[Receiver, ...] = ()


def cache_home(environ: Mapping[str, str] = os.environ) -> Path:
    """Where caches go when no ``cache_dir`` is set: ``$XDG_CACHE_HOME/imagebot``, else
    ``$HOME/.cache/imagebot`` (the operator's Deployment points HOME at a writable ``/tmp``)."""
    base = environ.get("XDG_CACHE_HOME") or str(
        Path(environ.get("HOME") or "~").expanduser() / ".cache"
    )
    return Path(base) / "imagebot"
