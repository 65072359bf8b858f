"""The part of ``kubectl kustomize`` that imagebot's own kustomizations use, over files in memory.

``imagebot install`` prints what ``kubectl kustomize`` would make of the kustomization it writes
with ``--output-dir``, without kubectl: ``resources`` (files, and directories holding a
kustomization), ``namespace`` (set on namespaced objects; a ``Namespace`` object takes the name),
``labels`` (``pairs`` on ``metadata.labels``; imagebot's use ``includeSelectors: false``) and
``patches`` with a ``target`` and JSON patch ``add``/``replace`` operations. Anything else is a
``ConfigError``: a kustomization this cannot build must not be printed half built.
tests/test_install_cmd.py checks that kubectl builds the same objects.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from typing import Any

from imagebot.errors import ConfigError

Files = Mapping[str, str]
"""Relative POSIX path -> text: a directory tree held in memory."""
CLUSTER_SCOPED = frozenset(
    {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
)
# kustomize's "legacy" output order: what must exist first comes first (a CRD before its
# objects), kinds not listed after these, by name within a kind.
ORDER = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
_KNOWN_KEYS = frozenset({"apiVersion", "kind", "namespace", "resources", "labels", "patches"})


def build(files: Files, root: str = "") -> list[dict[str, Any]]:
    """The objects the kustomization in directory ``root`` of ``files`` makes, in kustomize's
    order."""
    objects = _build(files, root)
    rank = {kind: index for index, kind in enumerate(ORDER)}
    return sorted(objects, key=lambda o: (rank.get(o["kind"], len(ORDER)), _name(o)))


def _build(files: Files, root: str) -> list[dict[str, Any]]:
    path = posixpath.join(root, "kustomization.yaml")
    kustomization = _documents(files, path)[0]
    unknown = set(kustomization) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{path}: cannot build {', '.join(sorted(unknown))}")
    objects: list[dict[str, Any]] = []
    for resource in kustomization.get("resources") or ():
        where = posixpath.normpath(posixpath.join(root, resource))
        if posixpath.join(where, "kustomization.yaml") in files:
            objects.extend(_build(files, where))
        else:
            objects.extend(_documents(files, where))
    namespace = kustomization.get("namespace")
    for found in objects:
        meta = found.setdefault("metadata", {})
        if namespace and found["kind"] == "Namespace":
            meta["name"] = namespace
        elif namespace and found["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
    for label in kustomization.get("labels") or ():
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise ConfigError(f"{path}: only labels with includeSelectors: false can be built")
        for found in objects:
            found["metadata"].setdefault("labels", {}).update(label.get("pairs") or {})
    for patch in kustomization.get("patches") or ():
        _patch(objects, patch, path)
    return objects


def _patch(objects: list[dict[str, Any]], patch: Mapping[str, Any], path: str) -> None:
    target = patch.get("target") or {}
    matches = [
        o
        for o in objects
        if o["kind"] == target.get("kind") and o["metadata"].get("name") == target.get("name")
    ]
    if len(matches) != 1:
        raise ConfigError(f"{path}: the patch target {dict(target)} matches {len(matches)}")
    from ruamel.yaml import YAML

    for operation in YAML(typ="safe", pure=True).load(patch.get("patch") or "") or ():
        apply_operation(matches[0], operation)


def apply_operation(target: dict[str, Any], operation: Mapping[str, Any]) -> None:
    """One JSON patch (RFC 6902) ``add`` or ``replace``; ``-`` appends to a list."""
    op, pointer = operation.get("op"), str(operation.get("path", ""))
    if op not in ("add", "replace") or not pointer.startswith("/"):
        raise ConfigError(f"cannot apply the JSON patch operation {dict(operation)}")
    *parents, last = [_unescape(step) for step in pointer[1:].split("/")]
    node: Any = target
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(node, list):
        if last == "-" and op == "add":
            node.append(value)
        elif op == "add":
            node.insert(int(last), value)
        else:
            node[int(last)] = value
    elif op == "replace" and last not in node:
        raise ConfigError(f"JSON patch: replace of {pointer}, which does not exist")
    else:
        node[last] = value


def _documents(files: Files, path: str) -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    if path not in files:
        raise ConfigError(f"kustomization: {path} does not exist")
    found = [d for d in YAML(typ="safe", pure=True).load_all(files[path]) if d]
    if not all(isinstance(d, dict) for d in found):
        raise ConfigError(f"{path}: every document must be a mapping")
    return found


def _name(found: Mapping[str, Any]) -> str:
    return str((found.get("metadata") or {}).get("name", ""))


def _unescape(step: str) -> str:
    return step.replace("~1", "/").replace("~0", "~")
