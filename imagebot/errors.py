"""The one exception tree of imagebot.

Every failure a user can meet is an ``ImagebotError`` whose message says what went wrong and what
to do about it. Edges (registry, git, Kubernetes) translate their libraries' exceptions into this
tree in one place and chain the cause; only the shells (CLI, controller) decide exit codes and
retry behaviour, using ``permanent`` to tell user-fixable problems from passing ones::

    ImagebotError
    ├── UsageError              bad command-line input                     (permanent)
    ├── ConfigError             bad imagebot.yaml / CR spec / settings     (permanent)
    ├── ReferenceError_         an image reference that does not parse     (permanent)
    ├── PolicyError             a policy, range, pattern or filter that is invalid (permanent)
    ├── ManifestError           YAML that cannot be read or safely rewritten (permanent)
    │   └── RewriteError        a splice that would change more than the image
    ├── RegistryError           talking to a registry failed               (transient)
    │   ├── RegistryAuthError   401/403, bad credentials                   (permanent)
    │   ├── RegistryNotFound    repository or tag unknown                  (permanent)
    │   ├── RegistryAnswerError malformed, huge, deep or truncated answer  (permanent)
    │   └── RateLimited         429; carries ``retry_after`` seconds       (transient)
    ├── GitError                clone/fetch/commit failed                  (transient)
    │   ├── GitAuthError        credentials or host key refused            (permanent)
    │   │   └── DeployKeyRefused    the operator's deploy key is not (yet) accepted
    │   └── PushRejected        the remote moved on; retry on fresh state  (transient)
    └── KubernetesError         the API server refused or failed a request (by status)
"""

from __future__ import annotations


class ImagebotError(Exception):
    """Base of every error imagebot raises on purpose.

    ``permanent`` is True when retrying without a change by the user cannot help (shown as
    Stalled by the controller, exit 2 by the CLI); False for passing faults worth retrying.
    """

    permanent: bool = False


class UsageError(ImagebotError):
    """The command line asked for something that cannot be done as written."""

    permanent = True


class ConfigError(ImagebotError):
    """A setting is missing or invalid; the message names the key and the source."""

    permanent = True


class ReferenceError_(ImagebotError):
    """An image reference does not follow the distribution reference grammar."""

    permanent = True


class PolicyError(ImagebotError):
    """A tag policy (or its filter) is invalid; the message gives position and reason."""

    permanent = True


class ManifestError(ImagebotError):
    """A manifest cannot be read, located in or rewritten safely."""

    permanent = True


class RewriteError(ManifestError):
    """A rewrite would have changed more than the intended image values, so it was refused."""


class RegistryError(ImagebotError):
    """A registry request failed for a reason worth retrying (network, 5xx, bad answer)."""


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (or their absence): 401/403."""

    permanent = True


class RegistryNotFound(RegistryError):
    """The repository, tag or manifest does not exist in the registry."""

    permanent = True


class RegistryAnswerError(RegistryError):
    """The registry answered, but not with something imagebot can use: not JSON, nested too
    deeply, over a size bound, the wrong shape or types, a digest that does not match. Asking
    again gets the same answer, so it is the image's problem (not a reason to run again)."""

    permanent = True


class RateLimited(RegistryError):
    """The registry answered 429; ``retry_after`` says when it may be asked again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GitError(ImagebotError):
    """A Git operation failed for a reason worth retrying."""


class GitAuthError(GitError):
    """The Git remote refused the credentials or its host key did not verify."""

    permanent = True


class DeployKeyRefused(GitAuthError):
    """The Git host refused the deploy key the operator made: it has not been added to the
    repository yet (or without write access). Permanent for the cycle, but its fix happens at
    the Git host, so the operator keeps polling instead of waiting for a spec change."""


class PushRejected(GitError):
    """The push was rejected (the branch moved); retry on fresh remote state."""


class KubernetesError(ImagebotError):
    """The Kubernetes API server refused or failed a request; ``status`` is its HTTP status
    (None: no answer). Permanent when a person must act first (401/403: RBAC or credentials,
    404: a missing object, 400/422: an invalid one); transient otherwise (5xx, 429, 409,
    timeouts, connection errors). ``retry_after`` is the server's Retry-After, if any."""

    PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 422})

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = status in self.PERMANENT_STATUSES
