"""Frozen value types shared by every layer: candidates, targets, changes, problems, results.

These are plain data: the policy engine reads ``TagInfo`` and compiles ``PolicySpec``s; the
manifest scanner produces ``Target`` (naming its ``WorkloadId`` and carrying its workload's
``Automation``) and ``Problem``; reconcile turns decisions into ``Change`` and returns a
``RunResult`` that the CLI renders and the controller turns into status. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import NewType

from imagebot.errors import UsageError
from imagebot.records import record
from imagebot.refs import ImageRef

Digest = NewType("Digest", str)
"""A content digest such as ``sha256:0123...``."""

CommitSha = NewType("CommitSha", str)


@record
class TagInfo:
    """One candidate tag as the registry reported it.

    ``created`` is the image creation time (config ``created`` or the OCI label); None when it is
    unknown, in which case time-ordered policies never choose it.
    """

    tag: str
    created: datetime | None = None
    digest: Digest | None = None


@record
class TagFacts:
    """What examining one candidate at the registry found: the digest its tag names now, the
    platforms it offers (an index's children, or a single image's config platform) and the
    creation time of its image for the configured platform (None when unknown or not offered).
    The registry produces it; the policy gate (``requiredPlatforms``, a minimum age) reads it."""

    digest: str
    platforms: tuple[str, ...]
    created: datetime | None


class TargetKind(StrEnum):
    """Which kind of YAML field holds the image, which decides how a new version is written."""

    CONTAINER = "container"  # a pod template's containers[].image: full reference
    KUSTOMIZE = "kustomize"  # a Kustomization images[] entry: newTag / digest
    HELM = "helm"  # HelmRelease values: image, or image.repository + image.tag
    SETTER = "setter"  # a Flux v2 `# {"$imagepolicy": "ns:name[:part]"}` marked scalar
    # an item of kustomize.images in an Argo CD `.argocd-source-<app>.yaml`: `[name=]image:tag`
    ARGOCD = "argocd"


@record
class Location:
    """Where a value stands: file relative to the scanned root (POSIX separators), 1-based line
    and column, 0-based document index in a multi-document file."""

    file: str
    line: int
    column: int = 1
    document: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


# The kinds imagebot reads, as Kubernetes spells them, and kubectl's short names for them: input
# names a kind in any case (`deploy/web`, `Deployment/web`), as fluxctl and kubectl accept.
KNOWN_KINDS = (
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
    "CronJob", "Pod", "PodTemplate", "Rollout", "Service", "Configuration", "DeploymentConfig",
    "HelmRelease", "Kustomization",
    # custom resources whose containers are found by their shape (docs/manifests.md): any other
    # kind is read too, and named on input as typed (kinds compare in any case)
    "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment", "Workflow",
    "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow", "Task", "ClusterTask",
    "Pipeline", "TaskRun", "PipelineRun", "JobSet", "LeaderWorkerSet", "InferenceService",
    "ServingRuntime", "RayCluster", "RayJob", "RayService", "PyTorchJob", "TFJob", "MPIJob",
    "XGBoostJob", "PaddleJob", "JAXJob",
)  # fmt: skip
KIND_SPELLINGS: Mapping[str, str] = {
    **{kind.lower(): kind for kind in KNOWN_KINDS},
    "deploy": "Deployment",
    "sts": "StatefulSet",
    "ds": "DaemonSet",
    "rs": "ReplicaSet",
    "rc": "ReplicationController",
    "cj": "CronJob",
    "po": "Pod",
    "hr": "HelmRelease",
    "ksvc": "Service",
    "ro": "Rollout",
}
GENERATED = "*"  # after a generateName prefix: the object's name is chosen when it is created


def generated_name(prefix: str) -> str:
    """How an object named by ``metadata.generateName`` is named in output and on input:
    ``pi-*`` for ``generateName: pi-``. No real name has a ``*``, so the two never meet."""
    return prefix + GENERATED


_SYNTAX = "KIND/NAME (deployment/web) with -n NAMESPACE, NAMESPACE:KIND/NAME or KIND/NAMESPACE/NAME"


@record
class WorkloadId:
    """The one identity of a workload (or of any object a target belongs to).

    ``kind`` as Kubernetes spells it; ``namespace`` None when the file names none (the applier
    or Kustomize sets it later). ``directory`` marks a kind-less ``kustomization.yaml``, which
    is named by its directory and lives in no namespace. Output always reads
    ``Kind/namespace/name`` (``default`` standing in for a namespace not written), which is the
    documented ``list --output json`` value; ``parse`` also takes fluxctl's ``ns:kind/name``.
    An object named by ``generateName`` is ``PREFIX*`` (``Job/ci/pi-*``) both ways; ``?`` stands
    for a kind or name the object does not write.
    """

    kind: str
    namespace: str | None
    name: str
    directory: bool = False

    def __str__(self) -> str:
        if self.directory:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace or 'default'}/{self.name}"

    @property
    def short(self) -> str:
        """kubectl's ``kind/name``, as commit subjects name a workload."""
        return f"{self.kind.lower()}/{self.name}"

    def same_kind(self, kind: str) -> bool:
        """Whether ``kind`` is this one's, in any case (as input names kinds)."""
        return self.kind.lower() == kind.lower()

    @classmethod
    def parse(cls, text: str, namespace: str | None = None) -> WorkloadId:
        """``KIND/NAME`` (+ ``namespace``), fluxctl's ``NAMESPACE:KIND/NAME`` or the output's own
        ``KIND/NAMESPACE/NAME``; the kind in any case or as kubectl's short name (``deploy``).

        Raises UsageError when the text is none of these, or names a namespace twice differently.
        """
        spec = text.strip()
        written: str | None = None
        if ":" in spec:
            written, spec = spec.split(":", 1)
            if not written:
                raise UsageError(f"workload {text!r}: the namespace before ':' is empty; {_SYNTAX}")
        parts = spec.split("/")
        kind = KIND_SPELLINGS.get(parts[0].lower(), parts[0])
        if kind in ("Kustomization", "Component") and len(parts) > 3 and written is None:
            # A kustomization file named by a directory of several levels (apps/web/prod).
            return cls(kind, None, "/".join(parts[1:]), directory=True)
        if len(parts) == 3 and written is None:
            written, parts = parts[1], [parts[0], parts[2]]
        if len(parts) != 2 or not all(parts) or written == "":
            raise UsageError(f"workload {text!r}: write it as {_SYNTAX}")
        if written and namespace and written != namespace:
            raise UsageError(
                f"workload {text!r} names namespace {written!r} but -n says {namespace!r}"
            )
        return cls(kind, written or namespace, parts[1])


@record
class PolicySpec:
    """A tag policy as its source writes it: read once where it is found (an annotation, an
    ImagePolicy object, the default), carried on the ``Target`` as this value and compiled once
    by the policy engine (``imagebot.policy.parse_policy`` takes it as it is).

    ``source`` says where it came from, for people: ``annotation fluxcd.io/tag.app``,
    ``ImagePolicy flux-system/app``, ``default glob:* for automated workloads``.
    """

    text: str
    source: str = ""
    filter_pattern: str | None = None  # an ImagePolicy's filterTags.pattern
    extract: str | None = None  # and its filterTags.extract
    # The youngest a candidate may be, in seconds (``imagebot.io/min-age.<container>``); None
    # leaves it to the ``minAge`` setting. Not part of the policy's ordering: reconcile checks
    # it on the candidate about to be chosen.
    min_age: float | None = None
    # Globs of tags never taken (Argo CD Image Updater's ignore-tags), whatever the policy says.
    exclude: tuple[str, ...] = ()


@record
class Automation:
    """What a workload's annotations ask of imagebot, read once where the annotations are read
    (``imagebot.manifest.annotations``) and carried, as this one value, by the workload and by
    every ``Target`` in it. The tag policies are not here: each target carries its own.
    """

    automated: bool = False  # the workload's containers follow their policies (or glob:*)
    locked: bool = False  # neither automation nor a release touches the workload
    locked_message: str | None = None  # as a refused release shows it, with who locked it
    locked_user: str | None = None  # who locked it, alone
    ignored: bool = False  # automation skips it; a manual release still reaches it
    pin_digest: bool = False  # automation writes tag@digest

    @property
    def why_locked(self) -> str:
        """What follows "is locked" in a report: ``": incident 42 (locked by ana)"``, or ""."""
        return f": {self.locked_message}" if self.locked_message else ""


@record
class Target:
    """One image value that imagebot may update.

    ``yaml_path`` identifies the node inside its document (keys and sequence indexes) so a
    rewrite can find it again in fresh text after a rejected push. ``policy`` is None for values
    that are not automated (``set-image`` and ``release`` still reach them). ``automation`` is
    its workload's (with ``pin_digest`` also set by an ImagePolicy that reflects digests).
    """

    location: Location
    kind: TargetKind
    image: ImageRef
    workload: WorkloadId
    container: str | None = None
    policy: PolicySpec | None = None
    automation: Automation = Automation()
    yaml_path: tuple[str | int, ...] = ()
    field_part: str = "image"
    current_value: str = ""  # the scalar's text when scanned: a rewrite checks it is unchanged

    @property
    def automated(self) -> bool:
        """Whether automation updates this value: it has a policy, from its automated workload
        or from a setter marker (which automates one value of a workload that may not be)."""
        return self.policy is not None


class Severity(StrEnum):
    """How much a problem weighs: errors stop their item, warnings and notes stop nothing."""

    ERROR = "error"
    WARNING = "warning"  # the item went ahead, but something about it deserves a look
    INFO = "info"  # left alone on purpose (a locked workload)


class ProblemCode(StrEnum):
    """What kind of trouble a ``Problem`` is; the value is the code ``--output json`` prints.

    Shells decide by the traits, never by the spelling: the operator stalls on ``user_fixable``
    errors (their fix arrives through Git or the registry) and retries on ``transient`` ones;
    warnings never stall. Declared most specific first: a status names the first fixable code.
    """

    INVALID_POLICY = "invalid-policy"  # a policy string the parser refused
    REGISTRY_REFUSED = "registry-refused"  # 401/403/404: credentials or names to fix
    # The deployed tag is gone from the registry (404) or has no creation time, so a time-ordered
    # policy cannot tell a newer image from an older one: not changed until the tag is pushed
    # again or Git names another one. A passing failure to fetch it is REGISTRY_UNAVAILABLE.
    CURRENT_TAG_MISSING = "current-tag-missing"
    # The registry answered for a tag, but not with a usable manifest or config (bad JSON, wrong
    # shape, bytes that do not match their digest): it lasts until the registry's content changes.
    REGISTRY_MALFORMED = "registry-malformed"
    MANIFEST = "manifest"  # trouble in the files: bad reference, unreadable YAML, Helm template
    REGISTRY_UNAVAILABLE = "registry-unavailable"  # network, 5xx, 429: passes by itself
    NO_DIGEST = "no-digest"  # a pinned reference whose new digest could not be had
    MANIFEST_WARNING = "manifest-warning"  # honoured, but not as Flux would read it
    LOCKED = "locked"  # a locked workload, skipped on purpose
    # A copy of an image imagebot changed (or looked for) that it could not read: in an object of
    # a kind it does not read, a document with no kind, a field that is not an image field. The
    # file may now hold two versions of one image; the rest went ahead.
    COPY_NOT_READ = "copy-not-read"
    # A copy left as it is on purpose: not automated, ignored, its policy keeps it, not among the
    # workloads named, a template placeholder, a file or document refused for its own problem.
    COPY_LEFT_ALONE = "copy-left-alone"
    # Newer tags the policy ranked first were passed over because their index lacks a platform
    # of ``registries.requiredPlatforms``, or (time-ordered policies) offers no image for
    # ``registries.platform`` at all, so they have no creation time to rank by.
    PLATFORM_MISSING = "platform-missing"
    # Newer tags are younger than the minimum age: a later cycle takes them, on purpose.
    TOO_NEW = "too-new"
    # Newer tags have no known creation time, or one in the future, so their age is unknown
    # and the minimum age keeps them out.
    AGE_UNKNOWN = "age-unknown"

    @property
    def severity(self) -> Severity:
        return _SEVERITIES.get(self, Severity.ERROR)

    @property
    def user_fixable(self) -> bool:
        """An error only a change in Git or at the registry ends."""
        return self in _USER_FIXABLE

    @property
    def transient(self) -> bool:
        """An error that may pass by itself: run again soon."""
        return self is ProblemCode.REGISTRY_UNAVAILABLE


_SEVERITIES = {
    ProblemCode.MANIFEST_WARNING: Severity.WARNING,
    ProblemCode.COPY_NOT_READ: Severity.WARNING,
    ProblemCode.LOCKED: Severity.INFO,
    ProblemCode.COPY_LEFT_ALONE: Severity.INFO,
    ProblemCode.PLATFORM_MISSING: Severity.WARNING,
    ProblemCode.TOO_NEW: Severity.INFO,
    ProblemCode.AGE_UNKNOWN: Severity.WARNING,
}
_USER_FIXABLE = frozenset(
    {
        ProblemCode.INVALID_POLICY,
        ProblemCode.REGISTRY_REFUSED,
        ProblemCode.CURRENT_TAG_MISSING,
        ProblemCode.REGISTRY_MALFORMED,
        ProblemCode.MANIFEST,
    }
)


@record
class Problem:
    """Something that stopped one item (or, as a warning, deserves a look) while the rest goes on.

    ``code`` defaults to ``MANIFEST``: most problems are found in the files themselves.
    """

    message: str
    file: str | None = None
    line: int | None = None
    image: str | None = None
    code: ProblemCode = ProblemCode.MANIFEST

    @property
    def severity(self) -> Severity:
        return self.code.severity

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"


@record
class Change:
    """A decided update of one target, before or after it was written."""

    target: Target
    old: str
    new: str
    new_tag: str | None
    new_digest: Digest | None = None
    reason: str = ""


@record
class RunResult:
    """What one reconcile did: the CLI renders it, the controller turns it into status."""

    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()  # deliberate skips: locked workloads, Helm templates
    commit: CommitSha | None = None
    pushed: bool = False
    branch: str | None = None
    remote_revision: str | None = None
    push_attempts: int = 0
    diff: str = ""
    chosen: Mapping[str, str] = field(default_factory=dict)
    requests: Mapping[str, int] = field(default_factory=dict)
    stale_registries: tuple[str, ...] = ()
    # Repositories whose registry failed for a passing reason (network, 5xx, 429): their images
    # were left alone this cycle, and the shells report the run as a transient failure.
    failed_repositories: tuple[str, ...] = ()
    # A fingerprint of what this cycle observed (the automated files and the registry answers);
    # passing it back as ``unchanged_since`` lets the next cycle skip when nothing moved.
    observed: str | None = None
    unchanged: bool = False
    duration_seconds: float = 0.0
