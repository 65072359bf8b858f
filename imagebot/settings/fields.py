"""The settings grammar: every key of ``imagebot.yaml`` and of an ImageAutomation's spec, once.

Each ``Field`` says how a key is spelled in each source, what type and range its value has,
which attribute of ``imagebot.config``'s dataclasses it sets (defaults live only there), and
which sources may set it. ``grammar`` reads every source through this table; the JSON schema and
the CRD are tested against it. Adding a setting is one row here plus its dataclass field.
"""

from __future__ import annotations

from enum import Enum

from imagebot.config import PUSH_TIME_APIS, RECEIVER_TYPES, SIGNING_FORMATS
from imagebot.records import record


class Source(Enum):
    """Where settings come from, in order of trust."""

    REPOSITORY = "the repository's imagebot.yaml"  # read from the clone: anyone who can push
    CONFIG = "--config"  # the CLI user's own file
    RESOURCE = "the ImageAutomation"  # the CR; its Secrets hold what the file names by env/file

    @property
    def file(self) -> bool:
        """True for the sources spelled as ``imagebot.yaml`` (a mapping of hosts, line numbers)."""
        return self is not Source.RESOURCE


class Kind(Enum):
    """The type of a value, and so how it is checked and converted."""

    STRING = "a string"
    BOOL = "true or false"
    INT = "a whole number"
    NUMBER = "a number"
    STRINGS = "a list of non-empty strings"
    PLATFORM = "an OS/ARCH platform such as linux/amd64"
    PLATFORMS = "a list of OS/ARCH platforms"
    CHOICE = "one of the choices"
    ENV = "the name of an environment variable holding the value"
    FILE = "the path of a file holding the value"
    DIRECTORY = "the path of a directory"
    DURATION = "a duration such as 90s, 5m or 1h30m"
    SECRET = "a Secret reference {name: SECRET}"  # noqa: S105 - a description, not a password
    SECRETS = "a list of Secret references [{name: SECRET}]"
    HOSTS = "per-host registry settings"
    RECEIVERS = "a list of notification receivers"


FILES = frozenset({Source.REPOSITORY, Source.CONFIG})
TRUSTED_FILE = frozenset({Source.CONFIG})
TRUSTED = frozenset({Source.CONFIG, Source.RESOURCE})
EVERYWHERE = frozenset(Source)
RESOURCE_ONLY = frozenset({Source.RESOURCE})


@record
class Field:
    """One key of the grammar.

    ``key`` is the ``imagebot.yaml`` spelling (dotted), ``resource_key`` the CR's when it
    differs. ``target`` is the dotted attribute it sets on ``Settings`` (``RegistryHost`` for
    host fields); None for the CR's own keys (interval, Secret references), which the caller
    takes from ``Reading.extras``. ``minimum`` is exclusive when ``above`` is set.
    """

    key: str
    kind: Kind
    target: str | None
    sources: frozenset[Source]
    resource_key: str | None = None
    minimum: float | None = None
    above: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def spelled(self, source: Source) -> str:
        """The key as ``source`` spells it."""
        return self.key if source.file else (self.resource_key or self.key)


# Keys read only to reach a Git remote, and to sign a commit. A command that does neither (a dry
# run of a local checkout: no fetch, no push; any dry run: no commit; ``tags``: no Git at all)
# leaves them unread: their spelling and type are checked, but the secret or key file they name
# need not exist. A local dry run stopped on ``GITHUB_TOKEN is unset`` before this.
GIT_REMOTE_KEYS = frozenset(
    {"git.tokenEnv", "git.tokenFile", "git.sshKeyFile", "git.knownHostsFile"}
)
SIGNING_KEYS = frozenset({"git.signingKey"})

PLATFORM_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?$"
"""OS/ARCH[/VARIANT], as in the JSON schema and the CRD."""

S, B, I, N = Kind.STRING, Kind.BOOL, Kind.INT, Kind.NUMBER  # noqa: E741 - table shorthand

FIELDS: tuple[Field, ...] = (
    Field("paths", Kind.STRINGS, "paths", EVERYWHERE, resource_key="git.paths"),
    Field("allowDowngrade", B, "allow_downgrade", EVERYWHERE),
    Field("minAge", Kind.DURATION, "min_age", EVERYWHERE),
    Field("interval", Kind.DURATION, None, RESOURCE_ONLY, minimum=1.0),
    Field("suspend", B, None, RESOURCE_ONLY),
    Field("git.url", S, "git.repo", RESOURCE_ONLY),
    Field("git.secretRef", Kind.SECRET, None, RESOURCE_ONLY),
    Field("git.branch", S, "git.branch", TRUSTED),
    Field("git.pushBranch", S, "git.push_branch", TRUSTED),
    Field("git.author.name", S, "git.author_name", EVERYWHERE),
    Field("git.author.email", S, "git.author_email", EVERYWHERE),
    Field("git.messageTemplate", S, "git.message_template", EVERYWHERE),
    Field("git.skipCI", B, "git.skip_ci", EVERYWHERE),
    Field("git.signingKey", S, "git.signing_key", TRUSTED_FILE),
    Field("git.signingKey.secretRef", Kind.SECRET, None, RESOURCE_ONLY),
    Field(
        "git.signingFormat",
        Kind.CHOICE,
        "git.signing_format",
        TRUSTED,
        resource_key="git.signingKey.format",
        choices=SIGNING_FORMATS,
    ),
    Field("git.sshKeyFile", S, "git.ssh_key_file", TRUSTED_FILE),
    Field("git.knownHostsFile", S, "git.known_hosts_file", TRUSTED_FILE),
    Field("git.tokenEnv", Kind.ENV, "git.token", TRUSTED_FILE),
    Field("git.tokenFile", S, "git.token_file", TRUSTED_FILE),  # read by the Git edge, per use
    Field("git.username", S, "git.username", TRUSTED),
    Field("git.maxPushAttempts", I, "git.max_push_attempts", TRUSTED, minimum=1, maximum=100),
    Field("git.cacheDir", Kind.DIRECTORY, "git.cache_dir", TRUSTED_FILE),
    Field("registries.dockerConfig", S, "registries.docker_config", TRUSTED_FILE),
    Field("registries.secretRefs", Kind.SECRETS, None, RESOURCE_ONLY),
    Field("registries.platform", Kind.PLATFORM, "registries.platform", EVERYWHERE),
    Field(
        "registries.requiredPlatforms", Kind.PLATFORMS, "registries.required_platforms", EVERYWHERE
    ),
    Field(
        "registries.maxTagPages", I, "registries.max_tag_pages", TRUSTED, minimum=1, maximum=10_000
    ),
    Field("registries.maxTags", I, "registries.max_tags", TRUSTED, minimum=1, maximum=1_000_000),
    Field(
        "registries.timeoutSeconds",
        N,
        "registries.timeout_seconds",
        TRUSTED,
        minimum=0,
        above=True,
        maximum=3600,
    ),
    Field("registries.cacheDir", Kind.DIRECTORY, "registries.cache_dir", TRUSTED_FILE),
    Field("registries.hosts", Kind.HOSTS, "registries.hosts", TRUSTED),
    Field("notifications", Kind.RECEIVERS, "notifications", TRUSTED),
)
"""Every key outside a registry host's entry."""

HOST_FIELDS: tuple[Field, ...] = (
    Field("host", S, "host", RESOURCE_ONLY),  # in imagebot.yaml the host is the mapping's key
    Field("insecure", B, "insecure", TRUSTED),
    Field("mirror", S, "mirror", TRUSTED),
    Field("username", S, "username", TRUSTED_FILE),
    Field("usernameEnv", Kind.ENV, "username", TRUSTED_FILE),
    Field("passwordEnv", Kind.ENV, "password", TRUSTED_FILE),
    Field("passwordFile", Kind.FILE, "password", TRUSTED_FILE),
    Field("tokenEnv", Kind.ENV, "token", TRUSTED_FILE),
    Field("tokenFile", Kind.FILE, "token", TRUSTED_FILE),
    Field(
        "rateLimit.maxConcurrency",
        I,
        "rate_limit.max_concurrency",
        TRUSTED,
        minimum=1,
        maximum=256,
    ),
    Field(
        "rateLimit.requestsPerSecond",
        N,
        "rate_limit.requests_per_second",
        TRUSTED,
        minimum=0,
        above=True,
        maximum=10_000,
    ),
    Field("pushTimes.api", Kind.CHOICE, "push_times.api", TRUSTED, choices=PUSH_TIME_APIS),
    Field("pushTimes.url", S, "push_times.url", TRUSTED),
    Field("pushTimes.tokenEnv", Kind.ENV, "push_times.token", TRUSTED_FILE),
    Field("pushTimes.tokenFile", Kind.FILE, "push_times.token", TRUSTED_FILE),
    # ECR's API: AWS credentials; unset, they default to the AWS_* trio (``values.aws_defaults``).
    Field("pushTimes.accessKeyIdEnv", Kind.ENV, "push_times.access_key_id", TRUSTED_FILE),
    Field("pushTimes.secretAccessKeyEnv", Kind.ENV, "push_times.secret_access_key", TRUSTED_FILE),
    Field("pushTimes.sessionTokenEnv", Kind.ENV, "push_times.session_token", TRUSTED_FILE),
)
"""The keys of one registry host's entry (``registries.hosts.<host>`` or ``hosts[]``)."""

RECEIVER_FIELDS: tuple[Field, ...] = (
    Field("name", S, "name", TRUSTED),
    Field("type", Kind.CHOICE, "type", TRUSTED, choices=RECEIVER_TYPES),
    # A literal address suits a webhook whose URL is no secret; Slack's is one (env, file, Secret).
    Field("address", S, "address", TRUSTED),
    Field("addressEnv", Kind.ENV, "address", TRUSTED_FILE),
    Field("addressFile", Kind.FILE, "address", TRUSTED_FILE),
    Field("tokenEnv", Kind.ENV, "token", TRUSTED_FILE),
    Field("tokenFile", Kind.FILE, "token", TRUSTED_FILE),
    Field("secretRef", Kind.SECRET, "secret_ref", RESOURCE_ONLY),  # keys address and token
)
"""The keys of one notification receiver (``notifications[]``), in every trusted source."""
