"""Image references follow the distribution reference grammar and keep the name as written."""

from __future__ import annotations

import pytest

from imagebot.errors import ReferenceError_
from imagebot.refs import is_valid_tag, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        pytest.param("nginx", "docker.io/library/nginx", None, None, id="official-image"),
        pytest.param("nginx:1.16-perl", "docker.io/library/nginx", "1.16-perl", None, id="tag"),
        pytest.param("demo/flaskapp:v1", "docker.io/demo/flaskapp", "v1", None, id="hub-user"),
        pytest.param("index.docker.io/demo/app", "docker.io/demo/app", None, None, id="hub-alias"),
        pytest.param("docker.io/nginx", "docker.io/library/nginx", None, None, id="hub-library"),
        pytest.param("host:5000/org/app:v2", "host:5000/org/app", "v2", None, id="port"),
        pytest.param("localhost/app", "localhost/app", None, None, id="localhost"),
        pytest.param("ghcr.io/o/a/b:1@" + DIGEST, "ghcr.io/o/a/b", "1", DIGEST, id="tag+digest"),
        pytest.param("quay.io/o/a@" + DIGEST, "quay.io/o/a", None, DIGEST, id="digest-only"),
        pytest.param("[::1]:5000/app:1", "[::1]:5000/app", "1", None, id="ipv6-host"),
    ],
)
def test_references_normalise_like_the_distribution_grammar(
    text: str, name: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)
    assert str(ref) == text


def test_a_new_version_keeps_the_name_as_written() -> None:
    ref = parse_reference("index.docker.io/demo/app:1.0")
    assert ref.with_version("1.1") == "index.docker.io/demo/app:1.1"
    assert ref.with_version("1.1", DIGEST) == f"index.docker.io/demo/app:1.1@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param(
            "docker.io//flaskapp:develop-v1.8.0",
            "empty path component after 'docker.io/'",
            id="seed",
        ),
        pytest.param("Nginx", "must be lower case", id="upper-case"),
        pytest.param("nginx:-bad", "not a valid tag", id="bad-tag"),
        pytest.param("nginx@sha256:xyz", "not ALGORITHM:HEX", id="bad-digest"),
        pytest.param(" nginx", "surrounded by spaces", id="space"),
        pytest.param("a/" + "b" * 300, "longer than", id="too-long"),
    ],
)
def test_bad_references_name_the_part_that_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ReferenceError_, match=fragment):
        parse_reference(text)


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("v1.2.3", True),
        ("_x", True),
        ("a" * 128, True),
        ("a" * 129, False),
        (".x", False),
        ("-x", False),
        ("1+build", False),
        ("dévelop", False),
        ("", False),
    ],
)
def test_tag_grammar(tag: str, valid: bool) -> None:
    assert is_valid_tag(tag) is valid
