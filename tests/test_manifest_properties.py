"""Property tests: manifests in many formattings, rewritten, differ only in the target values.

A manifest is drawn as a formatting (indentation, sequence style, quoting, flow or block
containers, comments, trailing blanks, CRLF, BOM, extra documents, directives and document
markers, final newline) plus the images of its containers. Rendering the same formatting with the
new tag gives the exact bytes that ``set-image`` must produce; loading both must give the same
data apart from those images. Anchored images and setter-marked tag fields have their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imagebot.errors import RewriteError
from imagebot.manifest import plan_set_image, rewrite_text, scan_text
from imagebot.refs import parse_reference
from tests.lane_support import examples

TARGET = "example.org/team/app"
OTHERS = ("example.org/team/app-worker", "nginx", "ghcr.io/team/app")
TAGS = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True)


@dataclass(frozen=True)
class Formatting:
    indent: int
    indent_sequences: bool
    quote: str
    flow_containers: bool
    comment: bool
    trailing_blanks: str
    newline: str
    bom: bool
    final_newline: bool
    leading_documents: int
    kind: str
    header: str = ""
    trailer: str = ""


@dataclass(frozen=True)
class Manifest:
    form: Formatting
    images: tuple[str, ...]  # repository per container


FORMATTINGS = st.builds(
    Formatting,
    indent=st.sampled_from([2, 4]),
    indent_sequences=st.booleans(),
    quote=st.sampled_from(["", "'", '"']),
    flow_containers=st.booleans(),
    comment=st.booleans(),
    trailing_blanks=st.sampled_from(["", " ", "\t", "  "]),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    final_newline=st.booleans(),
    leading_documents=st.integers(0, 2),
    kind=st.sampled_from(["Deployment", "StatefulSet", "Job"]),
    header=st.sampled_from(["", "---", "--- # first", "%YAML 1.2\n---", "# top\n%YAML 1.1\n---"]),
    trailer=st.sampled_from(["", "...", "---\n# a document of comments only", "...\n---"]),
)
MANIFESTS = st.builds(
    Manifest,
    form=FORMATTINGS,
    images=st.lists(st.sampled_from((TARGET, *OTHERS)), min_size=1, max_size=4).map(tuple),
)


def draw_tags(manifest: Manifest, data: st.DataObject) -> list[str]:
    """One drawn tag per image of ``manifest``: the tags it is rendered with."""
    count = len(manifest.images)
    return data.draw(st.lists(TAGS, min_size=count, max_size=count))


def render(manifest: Manifest, tags: list[str], mention: str) -> str:
    """The manifest with ``tags`` as image values; comments, a block scalar and ``args`` mention
    ``TARGET:mention`` as text, which no rewrite may touch."""
    form = manifest.form
    pad, end = " " * form.indent, form.trailing_blanks
    comment = f"  # {TARGET}:{mention} is not a value" if form.comment else ""
    lines: list[str] = form.header.split("\n") if form.header else []
    for number in range(form.leading_documents):
        lines += ["apiVersion: v1", "kind: ConfigMap", f"metadata: {{name: c{number}}}", "data:"]
        lines += [f"{pad}note: |", f"{pad * 2}image: {TARGET}:{mention}", "---"]
    api = "batch/v1" if form.kind == "Job" else "apps/v1"
    lines += [f"apiVersion: {api}{end}", f"kind: {form.kind}{end}", "metadata:", f"{pad}name: w"]
    lines += ["spec:", f"{pad}template:", f"{pad * 2}spec:{comment}"]
    dash = pad * 3 + ("  " if form.indent_sequences else "")
    lines.append(f"{pad * 3}containers: [" if form.flow_containers else f"{pad * 3}containers:")
    for index, (repository, tag) in enumerate(zip(manifest.images, tags, strict=True)):
        value = f"{form.quote}{repository}:{tag}{form.quote}"
        if form.flow_containers:
            lines.append(f"{dash}{{name: c{index}, image: {value}}},")
        else:
            lines += [f"{dash}- name: c{index}{end}", f"{dash}  image: {value}{comment}{end}"]
            lines.append(f'{dash}  args: ["--image={TARGET}:{mention}"]')
    if form.flow_containers:
        lines.append(f"{pad * 3}]")
    lines += form.trailer.split("\n") if form.trailer else []
    text = form.newline.join(lines) + (form.newline if form.final_newline else "")
    return ("\ufeff" if form.bom else "") + text


def load_all(text: str) -> list[object]:
    """Load with libyaml (TABs as separators are fine), else with ruamel's pure-Python loader
    (``{image: repo:tag}`` is fine): as independent of imagebot's composer as can be."""
    body = text.removeprefix("\ufeff")
    try:
        return list(YAML(typ="safe").load_all(body))
    except YAMLError:
        # The generated scalars hold no TABs: a trailing TAB is only a separator here.
        return list(YAML(typ="safe", pure=True).load_all(body.replace("\t", " ")))


def with_images_replaced(documents: list[object], new_tag: str) -> list[object]:
    """The loaded documents as they should read after set-image TARGET:new_tag."""
    for document in documents:
        if isinstance(document, dict) and document.get("kind") != "ConfigMap":
            for container in document["spec"]["template"]["spec"]["containers"]:
                if container["image"].rpartition(":")[0] == TARGET:
                    container["image"] = f"{TARGET}:{new_tag}"
    return documents


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MANIFESTS, st.data())
def test_set_image_changes_exactly_the_target_values(
    manifest: Manifest, data: st.DataObject
) -> None:
    old_tags = draw_tags(manifest, data)
    new_tag, mention = data.draw(TAGS), data.draw(TAGS)
    new_tags = [
        new_tag if repository == TARGET else tag
        for repository, tag in zip(manifest.images, old_tags, strict=True)
    ]
    old = render(manifest, old_tags, mention)
    targets, problems = scan_text(old, "m.yaml")
    assert not problems
    updates, refused = plan_set_image(targets, parse_reference(TARGET), new_tag)
    assert not refused
    assert len(updates) == manifest.images.count(TARGET)
    new = rewrite_text(old, "m.yaml", updates)
    assert new == render(manifest, new_tags, mention)
    assert load_all(new) == with_images_replaced(load_all(old), new_tag)


TRICKY_TAGS = st.one_of(
    st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,3}){0,2}", fullmatch=True),
    st.sampled_from(["yes", "no", "on", "off", "y", "n", "true", "null", "1e3", "0x1f", "1_0"]),
    TAGS,
)


@settings(max_examples=examples(200), deadline=None)
@given(
    old_tag=TRICKY_TAGS,
    new_tag=TRICKY_TAGS,
    quote=st.sampled_from(["", "'", '"']),
    flow=st.booleans(),
)
def test_tag_fields_always_read_back_as_the_new_tag_string(
    old_tag: str, new_tag: str, quote: str, flow: bool
) -> None:
    assume(old_tag != new_tag)  # the same value is left exactly as it is written
    entry = f"name: {TARGET}, newTag: {quote}{old_tag}{quote}"
    body = f"- {{{entry}}}\n" if flow else f"- {entry.replace(', ', chr(10) + '  ')}\n"
    old = f"# kustomize\nimages:\n{body}"
    targets, _ = scan_text(old, "kustomization.yaml")
    if old_tag == "null" and not quote:
        assert not targets  # a null newTag holds no tag to replace
        return
    updates, _ = plan_set_image(targets, parse_reference(TARGET), new_tag)
    new = rewrite_text(old, "kustomization.yaml", updates)
    assert load_all(new) == [{"images": [{"name": TARGET, "newTag": new_tag}]}]
    assert new.startswith("# kustomize\nimages:\n- ")
    if quote:
        assert f"{quote}{new_tag}{quote}" in new


@settings(max_examples=examples(150), deadline=None)
@given(
    uses=st.lists(st.sampled_from(["alias", "merge", "own", "other"]), min_size=1, max_size=5),
    shared_elsewhere=st.booleans(),
    old_tag=TAGS,
    new_tag=TAGS,
)
def test_an_anchored_image_changes_once_or_not_at_all(
    uses: list[str], shared_elsewhere: bool, old_tag: str, new_tag: str
) -> None:
    """The first container anchors the image (and itself); the others alias the image, merge
    the whole container, carry their own copy or another image. The anchor is rewritten only
    when every use of it is a target; a use elsewhere (``status``) refuses the whole file."""
    assume(old_tag != new_tag)
    elsewhere = "status: {image: *img}\n" if shared_elsewhere else ""
    containers = [f"  - &first\n    name: c0\n    image: &img {TARGET}:{old_tag}\n"]
    for index, use in enumerate(uses, start=1):
        value = {
            "alias": "*img",
            "own": f"{TARGET}:{old_tag}",
            "other": f"{OTHERS[0]}:{old_tag}",
        }.get(use)
        body = f"    image: {value}\n" if value else ""
        merge = "<<: *first\n    " if use == "merge" else ""
        head = f"  - {merge}name: c{index}\n"
        containers.append(head + body)
    old = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + "".join(containers)
    old += elsewhere
    targets, problems = scan_text(old, "m.yaml")
    assert not problems
    updates, _ = plan_set_image(targets, parse_reference(TARGET), new_tag)
    if shared_elsewhere:
        with pytest.raises(RewriteError, match="anchor used in"):
            rewrite_text(old, "m.yaml", updates)
        return
    new = rewrite_text(old, "m.yaml", updates)
    assert new == old.replace(f":{old_tag}\n", f":{new_tag}\n").replace(
        f"{OTHERS[0]}:{new_tag}\n", f"{OTHERS[0]}:{old_tag}\n"
    )
    expected = load_all(old)
    for container in expected[0]["spec"]["containers"]:  # type: ignore[index]
        if container["image"].startswith(f"{TARGET}:"):
            container["image"] = f"{TARGET}:{new_tag}"
    assert load_all(new) == expected


MARKER = '# {"$imagepolicy": "flux-system:app:tag"}'
FLUX_OBJECTS = (
    "---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\n"
    f"metadata: {{name: app, namespace: flux-system}}\nspec: {{image: {TARGET}}}\n"
    "---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\n"
    "metadata: {name: app, namespace: flux-system}\n"
    "spec: {imageRepositoryRef: {name: app}, policy: {semver: {range: '*'}}}\n"
)


@settings(max_examples=examples(150), deadline=None)
@given(
    old_tags=st.lists(TRICKY_TAGS, min_size=1, max_size=3),
    new_tag=TRICKY_TAGS,
    quote=st.sampled_from(["", "'", '"']),
    gap=st.sampled_from([" ", "  ", "\t", " \t "]),
    with_image=st.booleans(),
)
def test_setter_marked_tags_read_back_as_the_new_tag_string(
    old_tags: list[str], new_tag: str, quote: str, gap: str, with_image: bool
) -> None:
    """A ``:tag`` marker on a values field of any spelling (number-like, bool-like, quoted or
    not, TABs before the comment) is rewritten to the new tag as a string, nothing else."""
    assume(all(tag != "null" or quote for tag in old_tags))  # a null tag is no tag
    assume(new_tag not in old_tags)
    image = f"      repository: {TARGET}\n" if with_image else ""
    blocks = [
        f"    c{index}:\n{image}      tag: {quote}{tag}{quote}{gap}{MARKER}\n"
        for index, tag in enumerate(old_tags)
    ]
    old = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\n"
        "spec:\n  values:\n" + "".join(blocks) + FLUX_OBJECTS
    )
    targets, problems = scan_text(old, "release.yaml")
    assert not problems
    assert [t.field_part for t in targets] == ["tag"] * len(old_tags)
    updates, _ = plan_set_image(targets, parse_reference(TARGET), new_tag)
    new = rewrite_text(old, "release.yaml", updates)
    values = load_all(new)[0]["spec"]["values"]  # type: ignore[index]
    assert [values[f"c{i}"]["tag"] for i in range(len(old_tags))] == [new_tag] * len(old_tags)
    assert [line for line in new.split("\n") if MARKER not in line] == [
        line for line in old.split("\n") if MARKER not in line
    ]
