"""Property: an annotation edit changes the annotations asked for and nothing else.

Manifests are generated in varied formatting (indentation, no/null/empty/block/flow annotations,
flow metadata, quoting, comments, CRLF, BOM, missing final newline, neighbouring documents) and
checked with ruamel's pure-Python loader, independent of the composer the edit uses.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from imagebot.manifest.annotate import SetAnnotation, edit_annotations
from imagebot.model import WorkloadId
from tests.lane_support import examples

WEB = WorkloadId("Deployment", None, "web")
PREFIXES = ("imagebot.io/", "fluxcd.io/", "flux.weave.works/")
SETTINGS = ("automated", "locked", "locked_msg", "ignore", "tag.app", "tag.side")
EXISTING_VALUES = ("true", "false", "glob:v*", "semver:~1.2", r"regex:^v\d+$", "it's", "1.10")
PLAIN_OK = {"glob:v*", "semver:~1.2", r"regex:^v\d+$", "it's"}
NEW_VALUES = (*EXISTING_VALUES, "*", "a: b", "x #y", "'q'", '"dq"', "ünï", "", "-", "[x]", "no")
OWNER = "team.example.com/owner"


@dataclass
class Manifest:
    text: str
    prefix: str
    annotations: dict[str, str]
    state: str
    newline: str
    flow_metadata: bool


def render(value: str, quote: str, flow: bool) -> str:
    if quote == "" and value in PLAIN_OK and not (flow and ":" in value):
        return value
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    step = " " * draw(st.sampled_from([2, 4]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    prefix = draw(st.sampled_from(PREFIXES))
    state = draw(st.sampled_from(["absent", "null", "empty-flow", "block", "flow"]))
    quote = draw(st.sampled_from(["", "'", '"']))
    comments = draw(st.booleans())
    flow_metadata = state in ("absent", "empty-flow", "flow") and draw(st.booleans())
    existing: dict[str, str] = {}
    if state in ("block", "flow"):
        settings_ = draw(st.lists(st.sampled_from(SETTINGS), unique=True, max_size=3))
        existing = {prefix + s: draw(st.sampled_from(EXISTING_VALUES)) for s in settings_}
        if draw(st.booleans()) or not existing:
            existing[OWNER] = "ops"
    flow = state == "flow" or flow_metadata
    entries = [f"{k}: {render(v, quote, flow)}" for k, v in existing.items()]
    annotations = {
        "absent": None,
        "null": "annotations:",
        "empty-flow": "annotations: {}",
        "flow": "annotations: {" + ", ".join(entries) + "}",
        "block": "annotations:",
    }[state]
    lines = ["# annotation-free header"] if comments else []
    lines += ["apiVersion: apps/v1", "kind: Deployment"]
    if flow_metadata:
        inner = ", ".join(["name: web"] + ([annotations] if annotations else []))
        lines.append("metadata: {" + inner + "}")
    else:
        lines += ["metadata:", f"{step}name: web"]
        if comments:
            lines.append(f"{step}# between keys")
        if annotations:
            lines.append(f"{step}{annotations}")
        if state == "block":
            for index, entry in enumerate(entries):
                if comments and index == 1:
                    lines.append(f"{step * 2}# annotation note")
                lines.append(f"{step * 2}{entry}")
        lines += [f"{step}labels:", f"{step * 2}app: web   "]
    lines += ["spec:", f"{step}template:", f"{step * 2}spec:", f"{step * 3}containers:"]
    for name in ("app", "side"):
        lines += [f"{step * 3}- name: {name}", f"{step * 3}  image: example.org/{name}:1.0"]
    body = newline.join(lines)
    if draw(st.booleans()):
        body = f"kind: ConfigMap{newline}metadata: {{name: web}}{newline}---{newline}" + body
    if draw(st.booleans()):
        body += f"{newline}---{newline}kind: Service{newline}metadata:{newline}  name: web"
    if draw(st.booleans()):
        body += newline
    bom = "\ufeff" if draw(st.booleans()) else ""
    return Manifest(bom + body, prefix, existing, state, newline, flow_metadata)


edit_lists = st.lists(
    st.tuples(st.sampled_from(SETTINGS), st.none() | st.sampled_from(NEW_VALUES)),
    unique_by=lambda pair: pair[0],
    min_size=1,
    max_size=4,
)


def load(text: str) -> list[Any]:
    return list(YAML(typ="safe", pure=True).load_all(text.removeprefix("\ufeff")))


def without_annotations(documents: list[Any]) -> tuple[list[Any], dict[str, str]]:
    found: dict[str, str] = {}
    for document in documents:
        if document.get("kind") == "Deployment":
            found = document["metadata"].pop("annotations", None) or {}
    return documents, found


def expected_annotations(manifest: Manifest, edits: list[tuple[str, str | None]]) -> dict[str, str]:
    has_settings = any(k != OWNER for k in manifest.annotations)
    prefix = manifest.prefix if has_settings else "imagebot.io/"
    wanted = dict(manifest.annotations)
    for name, value in edits:
        if value is None:
            wanted.pop(prefix + name, None)
        else:
            wanted[prefix + name] = value
    return wanted


@settings(max_examples=examples(300), deadline=None)
@given(manifest=manifests(), edits=edit_lists)
def test_an_annotation_edit_changes_only_the_annotations(
    manifest: Manifest, edits: list[tuple[str, str | None]]
) -> None:
    old = manifest.text
    new = edit_annotations(old, WEB, [SetAnnotation(n, v) for n, v in edits])

    old_docs, _ = without_annotations(load(old))
    new_docs, annotations = without_annotations(load(new))
    assert new_docs == old_docs
    assert annotations == expected_annotations(manifest, edits)
    assert new.startswith("\ufeff") == old.startswith("\ufeff")
    assert new.endswith("\n") == old.endswith("\n")
    if manifest.newline == "\r\n":
        assert new.count("\n") == new.count("\r\n")
    else:
        assert "\r" not in new
    # Every line that went away or changed was an annotation line (or flow metadata holding them).
    matcher = difflib.SequenceMatcher(a=old.split("\n"), b=new.split("\n"), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            for line in old.split("\n")[i1:i2]:
                assert (
                    "annotation" in line
                    or line.startswith("metadata: {")
                    or any(p in line for p in PREFIXES)
                ), line


@settings(max_examples=examples(200), deadline=None)
@given(manifest=manifests(), edits=edit_lists)
def test_adding_then_removing_new_annotations_gives_back_the_same_bytes(
    manifest: Manifest, edits: list[tuple[str, str | None]]
) -> None:
    has_settings = any(k != OWNER for k in manifest.annotations)
    prefix = manifest.prefix if has_settings else "imagebot.io/"
    added = [(n, v) for n, v in edits if v is not None and prefix + n not in manifest.annotations]
    # A null map is filled, then removed as a whole; an empty flow map created inside flow
    # metadata stays as `annotations: {}`, the way a flow map that was emptied always does.
    if (
        not added
        or manifest.state == "null"
        or (manifest.state, manifest.flow_metadata)
        == (
            "absent",
            True,
        )
    ):
        return
    grown = edit_annotations(manifest.text, WEB, [SetAnnotation(n, v) for n, v in added])
    back = edit_annotations(grown, WEB, [SetAnnotation(n, None) for n, _ in added])
    assert back == manifest.text
