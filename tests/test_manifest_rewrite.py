"""Rewriting one file's text: exact splices, kept styles, and refusals that name file:line."""

from __future__ import annotations

import pytest

from imagebot.errors import RewriteError
from imagebot.manifest import Update, plan_set_image, rewrite_text, scan_text
from imagebot.model import Target
from imagebot.refs import parse_reference

DIGEST = "sha256:" + "a" * 64


def pod(image_line: str, extra: str = "") -> str:
    return (
        f"kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n{image_line}{extra}"
    )


def targets_of(text: str) -> list[Target]:
    targets, problems = scan_text(text, "f.yaml")
    assert not [p for p in problems if "warning" not in p.message], problems
    return targets


def release(text: str, image: str, tag: str | None, digest: str | None = None) -> str:
    updates, problems = plan_set_image(targets_of(text), parse_reference(image), tag, digest)
    assert not problems
    return rewrite_text(text, "f.yaml", updates)


@pytest.mark.parametrize(
    ("line", "tag", "expected"),
    [
        pytest.param("    image: nginx:1.0\n", "1.1", "    image: nginx:1.1\n", id="plain"),
        pytest.param("    image: 'nginx:1.0'\n", "1.1", "    image: 'nginx:1.1'\n", id="single"),
        pytest.param('    image: "nginx:1.0"\n', "1.1", '    image: "nginx:1.1"\n', id="double"),
        pytest.param("    image: nginx\n", "1.1", "    image: nginx:1.1\n", id="no-tag-before"),
        pytest.param(
            "    image: &i !!str nginx:1.0 # c\n",
            "1.1",
            "    image: &i !!str nginx:1.1 # c\n",
            id="anchor-and-tag-properties-kept",
        ),
        pytest.param(
            "    image: >-\n      nginx:1.0\n",
            "1.1",
            "    image: >-\n      nginx:1.1\n",
            id="block",
        ),
        pytest.param(
            "    image: nginx:1.0\r\n", "1.1", "    image: nginx:1.1\r\n", id="crlf-line-end"
        ),
    ],
)
def test_the_new_value_keeps_the_scalars_style(line: str, tag: str, expected: str) -> None:
    assert release(pod(line), "nginx", tag) == pod(expected)


@pytest.mark.parametrize(
    ("values", "tag", "expected"),
    [
        pytest.param("tag: v1", "1.10", 'tag: "1.10"', id="float-looking-gets-quoted"),
        pytest.param("tag: v1", "2024", 'tag: "2024"', id="int-looking-gets-quoted"),
        pytest.param("tag: v1", "y", 'tag: "y"', id="yaml-1.1-bool-gets-quoted"),
        pytest.param("tag: 1.9", "v2", "tag: v2", id="a-string-needs-no-quotes"),
        pytest.param("tag: '1.9'", "1.10", "tag: '1.10'", id="single-quotes-stay"),
    ],
)
def test_plain_values_that_would_not_read_as_strings_are_quoted(
    values: str, tag: str, expected: str
) -> None:
    text = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\n"
        f"spec:\n  values:\n    image:\n      repository: ghcr.io/a/b\n      {values}\n"
    )
    assert release(text, "ghcr.io/a/b", tag).endswith(f"      {expected}\n")


def test_a_colon_inside_a_flow_mapping_is_quoted_when_the_old_value_had_none() -> None:
    text = "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx}]}\n"
    assert release(text, "nginx", "1.2") == text.replace("image: nginx", 'image: "nginx:1.2"')


def test_a_bom_is_kept_and_the_splice_lands_on_the_right_characters() -> None:
    # libyaml does not count a BOM in its marks: without care, the splice lands one char early.
    text = "\ufeff" + pod("    image: nginx:1.0\n")
    assert release(text, "nginx", "1.1") == "\ufeff" + pod("    image: nginx:1.1\n")


def test_a_digest_only_update_keeps_the_tag_and_a_tag_update_drops_a_stale_digest() -> None:
    text = pod(f"    image: nginx:1.0@{DIGEST}\n")
    new_digest = "sha256:" + "b" * 64
    assert release(text, "nginx", None, new_digest) == text.replace(DIGEST, new_digest)
    assert release(text, "nginx", "1.1") == pod("    image: nginx:1.1\n")


def test_fresher_text_with_lines_added_above_is_still_rewritten_by_path() -> None:
    text = pod("    image: nginx:1.0\n")
    (target,) = targets_of(text)
    fresher = "# a comment someone pushed meanwhile\n" + text.replace("name: p", "name: p  # x")
    new = rewrite_text(fresher, "f.yaml", [Update(target, "1.1")])
    assert new == fresher.replace("nginx:1.0", "nginx:1.1")


@pytest.mark.parametrize(
    ("fresher", "message"),
    [
        pytest.param(pod("    image: nginx:0.9\n"), "now has 'nginx:0.9'", id="value-changed"),
        pytest.param(pod("    command: [sh]\n"), "no longer at", id="target-gone"),
        pytest.param("a: [", "cannot rewrite", id="no-longer-yaml"),
        pytest.param(
            pod("    image: nginx:1.0\n", "    image: nginx:1.0\n"), "appears twice", id="dup-key"
        ),
    ],
)
def test_a_text_that_changed_under_the_target_is_refused(fresher: str, message: str) -> None:
    (target,) = targets_of(pod("    image: nginx:1.0\n"))
    with pytest.raises(RewriteError, match=message) as raised:
        rewrite_text(fresher, "f.yaml", [Update(target, "1.1")])
    assert str(raised.value).startswith("f.yaml:")


@pytest.mark.parametrize(
    ("tag", "digest"),
    [
        pytest.param("-bad", None, id="tag-starting-with-dash"),
        pytest.param("a" * 129, None, id="tag-too-long"),
        pytest.param("1.0 # x", None, id="tag-with-space"),
        pytest.param(None, "sha256:xyz", id="bad-digest"),
    ],
)
def test_invalid_new_tags_and_digests_are_refused(tag: str | None, digest: str | None) -> None:
    (target,) = targets_of(pod("    image: nginx:1.0\n"))
    with pytest.raises(RewriteError, match="not a valid"):
        rewrite_text(pod("    image: nginx:1.0\n"), "f.yaml", [Update(target, tag, digest)])


def test_an_anchor_used_only_by_targets_wanting_one_value_is_rewritten_once() -> None:
    text = pod("    image: &i nginx:1.0\n", "  - name: b\n    image: *i\n")
    assert release(text, "nginx", "1.1") == text.replace("&i nginx:1.0", "&i nginx:1.1")


def test_an_anchor_that_targets_want_different_values_for_is_refused() -> None:
    text = pod("    image: &i nginx:1.0\n", "  - name: b\n    image: *i\n")
    first, second = targets_of(text)
    with pytest.raises(RewriteError, match=r"want 'nginx:1\.1' and 'nginx:1\.2'"):
        rewrite_text(text, "f.yaml", [Update(first, "1.1"), Update(second, "1.2")])


def test_an_anchor_also_used_by_a_field_that_is_not_an_image_is_refused() -> None:
    text = pod("    image: &i nginx:1.0\n", "    env: [{name: IMAGE, value: *i}]\n")
    with pytest.raises(RewriteError, match=r"f.yaml:7: .*used in 2 places, and only 1"):
        release(text, "nginx", "1.1")


def test_a_value_over_several_lines_is_refused_rather_than_guessed() -> None:
    text = pod('    image: "nginx:\\\n      1.0"\n')
    with pytest.raises(RewriteError, match="several lines"):
        release(text, "nginx", "1.1")


def test_an_update_to_the_current_value_returns_the_text_untouched() -> None:
    text = pod("    image:   nginx:1.0   \n")
    assert release(text, "nginx", "1.0") is text


def test_a_setter_writes_the_repository_its_image_policy_names() -> None:
    text = (
        'kind: Pod\nspec:\n  containers:\n  - name: a\n    image: app:1 # {"$imagepolicy": "f:p"}\n'
        "---\nkind: ImageRepository\napiVersion: image.toolkit.fluxcd.io/v1beta2\n"
        "metadata: {name: r, namespace: f}\nspec: {image: ghcr.io/a/app}\n"
        "---\nkind: ImagePolicy\napiVersion: image.toolkit.fluxcd.io/v1beta2\n"
        "metadata: {name: p, namespace: f}\n"
        "spec: {imageRepositoryRef: {name: r}, policy: {semver: {range: 1.x}}}\n"
    )
    assert release(text, "ghcr.io/a/app", "1.2") == text.replace(
        "image: app:1 #", "image: ghcr.io/a/app:1.2 #"
    )


def test_a_large_bundle_changes_only_its_target_lines() -> None:
    """3,000 documents (~2 MB, under the size bound), one in a hundred with the image."""
    document = (
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{index}\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: a\n        image: {image}\n"
        '        args: ["{padding}"]\n'
    )
    old = "".join(
        document.format(
            index=index,
            image="ghcr.io/acme/big:1" if index % 100 == 0 else f"ghcr.io/acme/other{index}:1",
            padding="p" * 500,
        )
        for index in range(3000)
    )
    new = release(old, "ghcr.io/acme/big", "2")
    changed = [
        (before, after)
        for before, after in zip(old.split("\n"), new.split("\n"), strict=True)
        if before != after
    ]
    line = "        image: ghcr.io/acme/big:{}"
    assert changed == [(line.format(1), line.format(2))] * 30
