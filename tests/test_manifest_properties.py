"""Property tests: manifests in many formattings, rewritten, differ only in the target values.

A manifest is drawn as a formatting (indentation, sequence style, quoting, flow or block
containers, comments, trailing blanks, CRLF, BOM, extra documents, final newline) plus the images
of its containers. Rendering the same formatting with the new tag gives the exact bytes that
``set-image`` must produce; loading both must give the same data apart from those images.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imagebot.manifest import plan_set_image, rewrite_text, scan_text
from imagebot.refs import parse_reference

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
)
MANIFESTS = st.builds(
    Manifest,
    form=FORMATTINGS,
    images=st.lists(st.sampled_from((TARGET, *OTHERS)), min_size=1, max_size=4).map(tuple),
)


def render(manifest: Manifest, tags: list[str], mention: str) -> str:
    """The manifest with ``tags`` as image values; comments, a block scalar and ``args`` mention
    ``TARGET:mention`` as text, which no rewrite may touch."""
    form = manifest.form
    pad, end = " " * form.indent, form.trailing_blanks
    comment = f"  # {TARGET}:{mention} is not a value" if form.comment else ""
    lines: list[str] = []
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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MANIFESTS, st.data())
def test_set_image_changes_exactly_the_target_values(
    manifest: Manifest, data: st.DataObject
) -> None:
    count = len(manifest.images)
    old_tags = data.draw(st.lists(TAGS, min_size=count, max_size=count))
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


@settings(max_examples=200, deadline=None)
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
