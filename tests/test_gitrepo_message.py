"""Commit messages and push-branch names say what changed, and templates cannot run code."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.errors import ConfigError
from imagebot.gitrepo import check_template, render_branch, render_message
from imagebot.gitrepo.message import sanitize_branch
from imagebot.model import Change, Digest, Location, PolicySpec, Target, TargetKind, WorkloadId
from imagebot.refs import parse_reference

DIGEST = "sha256:" + "0123456789abcdef" * 4


def change(
    old: str,
    new_tag: str | None,
    *,
    file: str = "deploy/app.yaml",
    line: int = 12,
    container: str | None = "flask",
    kind: TargetKind = TargetKind.CONTAINER,
    policy: str | None = "glob:develop-v*",
    digest: str | None = None,
    reason: str = "",
) -> Change:
    image = parse_reference(old)
    return Change(
        target=Target(
            location=Location(file, line),
            kind=kind,
            image=image,
            workload=WorkloadId("Deployment", "default", "app"),
            container=container,
            policy=PolicySpec(policy) if policy else None,
        ),
        old=old,
        new=image.with_version(new_tag, digest),
        new_tag=new_tag,
        new_digest=Digest(digest) if digest else None,
        reason=reason,
    )


FLASK = change("reg.example/demo/flaskapp:develop-v1.8.0", "develop-v1.9.0")
NGINX = change(
    "nginx:1.25.0",
    "1.25.3",
    file="deploy/web.yaml",
    line=30,
    container="web",
    policy="semver:~1.25",
)
HELM = change(
    "ghcr.io/org/api:1.0.0",
    "1.1.0",
    kind=TargetKind.HELM,
    container=None,
    file="helm/api.yaml",
    line=7,
    policy="semver:^1",
)


@pytest.mark.parametrize(
    ("changes", "subject"),
    [
        pytest.param([FLASK], "Update flask to develop-v1.9.0", id="one-container"),
        pytest.param([HELM], "Update api to 1.1.0", id="non-container-uses-image-name"),
        pytest.param([FLASK, NGINX, HELM], "Update 3 images", id="several"),
        pytest.param(
            [FLASK, change(FLASK.old, "develop-v1.9.0", file="b.yaml", line=3)],
            "Update flask to develop-v1.9.0",
            id="one-image-in-two-files",
        ),
        pytest.param(
            [
                change("team/api:1.0.0", "1.1.0", container="app"),
                change("team/web:1.0.0", "1.1.0", container="app", file="b.yaml"),
            ],
            "Update 2 images",
            id="same-container-name-different-images",
        ),
        pytest.param(
            [change("nginx:1.25.0", None, container="web", digest=DIGEST)],
            "Update web to sha256:0123456789ab",
            id="digest-only",
        ),
    ],
)
def test_the_default_subject_names_the_image_or_counts_them(
    changes: list[Change], subject: str
) -> None:
    message = render_message(changes, template=None, skip_ci=False)
    assert message.splitlines()[0] == subject


def test_the_default_body_lists_file_line_old_new_and_policy() -> None:
    message = render_message([FLASK, NGINX], template=None, skip_ci=False)
    assert message == (
        "Update 2 images\n"
        "\n"
        "deploy/app.yaml:12  reg.example/demo/flaskapp:develop-v1.8.0 -> "
        "reg.example/demo/flaskapp:develop-v1.9.0  (glob:develop-v*)\n"
        "deploy/web.yaml:30  nginx:1.25.0 -> nginx:1.25.3  (semver:~1.25)\n"
    )


def test_a_change_without_policy_shows_its_reason_instead() -> None:
    manual = change("nginx:1.0", "1.1", policy=None, reason="set-image")
    assert render_message([manual], template=None, skip_ci=False).endswith("(set-image)\n")


def test_skip_ci_marks_the_subject() -> None:
    message = render_message([FLASK], template=None, skip_ci=True)
    assert message.splitlines()[0] == "Update flask to develop-v1.9.0 [ci skip]"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{subject}\n\n{body}", None, id="default-parts"),
        pytest.param(
            "chore(images): {images}\n\n{changes:- {file}:{line} {name} {old} => {version}\n}",
            "chore(images): flask:develop-v1.9.0, web:1.25.3\n\n"
            "- deploy/app.yaml:12 flask reg.example/demo/flaskapp:develop-v1.8.0 => "
            "develop-v1.9.0\n- deploy/web.yaml:30 web nginx:1.25.0 => 1.25.3\n",
            id="section-per-change",
        ),
        pytest.param(
            "Bump {count} {{images}}",
            "Bump 2 {images}\n",
            id="escaped-braces",
        ),
        pytest.param(
            "{skip_ci} Bump {count}",
            "[ci skip] Bump 2\n",
            id="template-places-skip-ci-itself",
        ),
    ],
)
def test_a_template_gets_the_changes_as_data(template: str, expected: str | None) -> None:
    rendered = render_message([FLASK, NGINX], template=template, skip_ci="skip_ci" in template)
    if expected is None:
        expected = render_message([FLASK, NGINX], template=None, skip_ci=False)
    assert rendered == expected


def test_skip_ci_is_added_to_a_template_that_forgot_it() -> None:
    message = render_message([FLASK], template="Images\n\n{body}", skip_ci=True)
    assert message.splitlines()[0] == "Images [ci skip]"


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        pytest.param("{subjet}", "column 1: unknown field {subjet}", id="typo"),
        pytest.param("x {subject.__class__}", "column 3: expected '}' or ':'", id="attribute"),
        pytest.param("{subject[0]}", "expected '}' or ':'", id="index"),
        pytest.param("{body:{file}}", "{body:...} is not a section", id="scalar-as-section"),
        pytest.param("{changes:{subject}}", "unknown field {subject}", id="outer-field-in-section"),
        pytest.param("{changes:{file}", "not closed", id="unclosed-section"),
        pytest.param("a } b", "column 3: '}' without a matching '{'", id="stray-brace"),
        pytest.param("{ subject}", "expected a field name", id="space"),
    ],
)
def test_a_bad_template_is_a_config_error_with_its_column(template: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match="commit message template") as caught:
        check_template(template)
    assert complaint in str(caught.value)
    with pytest.raises(ConfigError):
        render_message([FLASK], template=template, skip_ci=False)


def test_a_template_that_renders_empty_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty subject"):
        render_message([FLASK], template="  \n{skip_ci}\n", skip_ci=False)


@pytest.mark.parametrize(
    ("template", "branch"),
    [
        pytest.param(
            "imagebot/{changes:{name}-{tag}}", "imagebot/flask-develop-v1.9.0", id="plain"
        ),
        pytest.param("update {images}", "update-flask-develop-v1.9.0", id="colon-and-space"),
        pytest.param("../x..y/.hidden.lock", "x.y/hidden", id="dots-and-lock"),
        pytest.param("-a//b/", "a/b", id="leading-dash-and-empty-parts"),
        pytest.param("a@{{b}}~c^d?e*f[g\\h", "a-b}-c-d-e-f-g-h", id="forbidden-characters"),
    ],
)
def test_a_branch_template_gives_a_valid_branch_name(template: str, branch: str) -> None:
    assert render_branch(template, [FLASK]) == branch


def test_a_branch_template_with_nothing_usable_is_refused() -> None:
    with pytest.raises(ConfigError, match="no usable branch name"):
        render_branch("/../.", [FLASK])


def test_a_long_branch_name_is_cut_and_keeps_a_hash_of_the_rest() -> None:
    first = sanitize_branch("update/" + "a" * 300)
    second = sanitize_branch("update/" + "a" * 299 + "b")
    assert len(first) <= 200
    assert first != second


TRICKY = st.lists(
    st.sampled_from([".", "..", "/", "-", "@", "{", "@{", ".lock", "a", " ", "~", "\x7f", "é"]),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60) | TRICKY)
@pytest.mark.rig
def test_every_sanitised_branch_name_passes_git_check_ref_format(text: str) -> None:
    name = sanitize_branch(text)
    if not name:
        return
    result = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, check=False
    )
    assert result.returncode == 0, (text, name, result.stderr)
