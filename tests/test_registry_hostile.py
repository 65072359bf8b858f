"""Hostile registry answers: deep, huge, truncated, mistyped or lying. The bug: a tag list nested
100,000 deep raised RecursionError out of json and crashed the whole run. Every such answer is
now a ``RegistryAnswerError`` (permanent: a problem for that image, exit 3 under --strict) that
names the image and host, found in bounded time, while the neighbouring repository is listed."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import datetime

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.errors import RegistryAnswerError, RegistryAuthError, RegistryError
from imagebot.refs import parse_reference
from imagebot.registry.answers import parse_time
from imagebot.registry.auth import MAX_TOKEN_SECONDS, parse_challenge, parse_token
from imagebot.registry.blocks import MAX_BLOCK_SECONDS
from imagebot.registry.listing import MAX_PAGE_BYTES, _page_tags, next_link
from imagebot.registry.manifests import parse_config, parse_manifest
from imagebot.registry.transport import retry_after_seconds
from tests.lane_support import examples
from tests.support import FakeClock
from tests.test_registry_http import BASE, HOST, client_for, query, tags_url

DEEP = 100_000
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, "nested too deeply", id="deep-array"),
        pytest.param(b'{"tags": ' + b"[" * DEEP, "nested too deeply", id="deep-unclosed"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, "nested too deeply", id="deep-object"),
        pytest.param(b'{"tags": null}', "no 'tags' list", id="tags-null-name-missing"),
        pytest.param(b'{"name": 5, "tags": null}', "no 'tags' list", id="name-not-a-string"),
        pytest.param(b'{"name": "x", "tags": {"a": 1}}', "no 'tags' list", id="tags-object"),
        pytest.param(b'{"tags": ["1.0", "\xff\xfe"]}', "not UTF-8", id="not-utf8"),
        pytest.param(b'{"tags": ["1.0", "1.', "not JSON", id="truncated"),
        pytest.param(b'{"tags": [NaN, Infinity]}', "not JSON", id="nan"),
        pytest.param(b'{"tags": [' + b"9" * 5000 + b"]}", "not JSON", id="huge-integer"),
        pytest.param(b'["1.0"]', "expected a JSON object", id="array"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b" " * (MAX_PAGE_BYTES + 1), "bytes", id="over-the-page-bound"),
    ],
)
def test_a_hostile_tag_list_is_a_problem_for_that_image_only(body: bytes, expected: str) -> None:
    with responses.RequestsMock() as mock:
        mock.get(tags_url("team/bad"), body=body, content_type="application/json")
        mock.get(tags_url("team/good"), json={"tags": ["1.0"]})
        scans = client_for(FakeClock(), max_retries=0).scan([query("team/bad"), query("team/good")])

    bad = scans[f"{HOST}/team/bad"]
    assert bad.problem is not None and expected in bad.problem, bad.problem
    assert f"{HOST}/team/bad" in bad.problem
    assert bad.permanent, "asking again gets the same answer: a problem, not 'run again later'"
    assert [t.tag for t in scans[f"{HOST}/team/good"].tags] == ["1.0"]


@pytest.mark.parametrize(
    ("body", "tags"),
    [
        pytest.param(b'{"name": "x", "tags": [1, 2, null, ["1.0"]]}', [], id="numbers"),
        pytest.param(b'{"name": "x", "tags": null}', [], id="no-tags-yet"),
        pytest.param(b'{"tags": ["1.0", "-bad", "' + b"a" * 200 + b'", "2.0"]}', ["1.0", "2.0"]),
    ],
)
def test_entries_that_are_not_tags_are_skipped_and_the_rest_kept(
    body: bytes, tags: list[str]
) -> None:
    assert _page_tags(body, "the tags of x") == tags


def manifest_url(repo: str, reference: str) -> str:
    return f"{BASE}/{repo}/manifests/{reference}"


def _index(*entries: object) -> bytes:
    return json.dumps({"mediaType": OCI_INDEX, "manifests": list(entries)}).encode()


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"[" * DEEP, OCI_INDEX, "nested too deeply", id="deep"),
        pytest.param(b"[]", OCI_INDEX, "expected a JSON object", id="array"),
        pytest.param(b'{"mediaType": "%s"}' % OCI_INDEX.encode(), "", "'manifests' list", id="idx"),
        pytest.param(b'{"mediaType": "text/x-evil"}', "", "no config digest", id="wrong-type"),
        pytest.param(b'{"config": {"digest": 5}}', "", "no config digest", id="digest-number"),
        pytest.param(
            b'{"config": {"digest": "../../../blobs/x"}}', "", "not a digest", id="digest-path"
        ),
        pytest.param(
            _index({"platform": {"os": "linux", "architecture": "amd64"}, "digest": "sha256:a/b"}),
            OCI_INDEX,
            "not a digest",
            id="child-digest-path",
        ),
    ],
)
def test_a_hostile_manifest_is_a_problem_naming_the_image(
    body: bytes, content_type: str, expected: str
) -> None:
    client = client_for(FakeClock(), max_retries=0)
    with responses.RequestsMock() as mock:
        mock.get(manifest_url("team/bad", "1.0"), body=body, content_type=content_type or None)
        with pytest.raises(RegistryAnswerError) as caught:
            client.platforms(parse_reference(f"{HOST}/team/bad:1.0"), "1.0")
    assert expected in str(caught.value) and f"{HOST}/team/bad" in str(caught.value)
    assert caught.value.permanent


def test_index_entries_of_the_wrong_shape_are_skipped() -> None:
    body = _index(
        1,
        None,
        {"platform": "linux/amd64", "digest": "sha256:ab"},
        {"platform": {"os": ["linux"], "architecture": "amd64"}, "digest": "sha256:ab"},
        {"platform": {"os": "linux", "architecture": "arm64"}, "digest": 7},
        {"platform": {"os": "linux", "architecture": "amd64"}, "digest": "sha256:ab"},
    )
    parsed = parse_manifest(body, OCI_INDEX, "x")
    assert parsed.platforms == ("linux/amd64",)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "created",
    [
        "not a date",
        12,
        None,
        [],
        {"a": 1},
        "9999-99-99",
        "+275760-09-13T00:00:00Z",
        "2020-01-01T00:00:00+99:00",
        "2020-01-01T00:00:00.5" + "x" * 10_000,
        "0001-01-01T00:00:00Z",
        "\x00",
        "2020-13-01",
    ],
)
def test_a_config_with_a_bad_created_value_has_no_creation_time(created: object) -> None:
    body = json.dumps({"created": created, "config": {"Labels": {"x": created}}}).encode()
    assert parse_config(body, "config x").created is None


def test_a_config_blob_nested_too_deeply_is_refused() -> None:
    with pytest.raises(RegistryAnswerError, match="nested too deeply"):
        parse_config(b'{"config": ' * DEEP, "config x")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"<html>", "not JSON", id="html"),
        pytest.param(b"[" * DEEP, "nested too deeply", id="deep"),
        pytest.param(b'["t"]', "expected a JSON object", id="array"),
        pytest.param(b'{"token": 5}', "holds no token", id="number"),
        pytest.param(b'{"token": ""}', "holds no token", id="empty"),
        pytest.param(b'{"token": "a\\r\\nX-Evil: 1"}', "not a header value", id="crlf"),
        pytest.param(b'{"token": "a b"}', "not a header value", id="space"),
        pytest.param(b'{"token": "' + b"a" * 70_000 + b'"}', "not a header value", id="long"),
        pytest.param(b'{"token": "t", "expires_in": NaN}', "not JSON", id="nan"),
    ],
)
def test_a_malformed_token_answer_is_refused(body: bytes, expected: str) -> None:
    with pytest.raises(RegistryAnswerError, match=expected) as caught:
        parse_token(body, now=0.0)
    assert caught.value.permanent


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [
        pytest.param(10**400, MAX_TOKEN_SECONDS - 5, id="huge-int"),
        pytest.param(1e308, MAX_TOKEN_SECONDS - 5, id="huge-float"),
        pytest.param(-5, 55, id="negative"),
        pytest.param("300", 55, id="string"),
        pytest.param(True, 55, id="boolean"),
        pytest.param(None, 55, id="null"),
        pytest.param(0.5, 1.0, id="too-short"),
    ],
)
def test_a_token_lifetime_is_bounded_whatever_the_server_claims(
    expires_in: object, lifetime: float
) -> None:
    body = b'{"token": "t", "expires_in": ' + json.dumps(expires_in).encode() + b"}"
    assert parse_token(body, now=0.0).expires_at == lifetime


CURRENT = "https://reg.example/v2/team/app/tags/list?n=1000"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(
            '</v2/a/tags/list?last=b>; rel="next"',
            "https://reg.example/v2/a/tags/list?last=b",
            id="relative",
        ),
        pytest.param("</p2>; rel=next", "https://reg.example/p2", id="unquoted"),
        pytest.param('</p2>; rel="prev next"', "https://reg.example/p2", id="several-rels"),
        pytest.param('</p0>; rel="prev", </p2>; rel="next"', "https://reg.example/p2", id="two"),
        pytest.param('</p2>; rel="nextish"', None, id="not-next"),
        pytest.param("<" * 8000, None, id="angles"),
        pytest.param("<a>;" * 2000, None, id="no-commas"),
        pytest.param('<a>; rel="' * 800, None, id="open-quotes"),
        pytest.param("", None, id="empty"),
    ],
)
def test_a_link_header_is_read_in_linear_time(header: str, expected: str | None) -> None:
    assert next_link(header, CURRENT) == expected


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param('<https://elsewhere.example/p2>; rel="next"', "not on reg.example", id="host"),
        pytest.param('<http://reg.example/p2>; rel="next"', "not on reg.example", id="scheme"),
        pytest.param('<file:///etc/passwd>; rel="next"', "not on reg.example", id="file"),
        pytest.param('<http://[::1>; rel="next"', "not on reg.example", id="bad-ipv6"),
        pytest.param("<a>; rel=next, " * 1000, "characters; refused", id="too-long"),
    ],
)
def test_a_hostile_link_header_is_refused(header: str, expected: str) -> None:
    with pytest.raises(RegistryAnswerError, match=expected):
        next_link(header, CURRENT, "the tags of reg.example/team/app")


@responses.activate
def test_a_next_page_on_another_host_is_a_problem_and_never_asked() -> None:
    responses.get(
        tags_url("team/app"),
        json={"tags": ["1.0"]},
        headers={"Link": '<https://internal.example/admin>; rel="next"'},
    )
    scan = client_for(FakeClock()).scan([query("team/app")])[f"{HOST}/team/app"]
    assert scan.problem is not None and "not on reg.example" in scan.problem
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("Wed, 21 Oct 2015 07:28:00 -0000", 0.0, id="date-without-zone"),
        pytest.param("1e400", MAX_BLOCK_SECONDS, id="infinite"),
        pytest.param("99999999999", MAX_BLOCK_SECONDS, id="centuries"),
        pytest.param("nan", 60.0, id="nan"),
        pytest.param("-5", 0.0, id="negative"),
        pytest.param("Mon, 99 Foo 99999 99:99:99 GMT", 60.0, id="bad-date"),
        pytest.param("\x00" * 100, 60.0, id="junk"),
    ],
)
def test_a_hostile_retry_after_is_read_as_a_bounded_wait(value: str, seconds: float) -> None:
    now = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    assert retry_after_seconds(value, now) == seconds


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "header",
    [
        'Bearer realm="' + "\\" * 50_000,
        "Bearer " + "a=" * 30_000,
        "Bearer " + 'a="b",' * 10_000 + "=",
        "Bearer " + ",".join(["realm"] * 20_000),
    ],
)
def test_a_hostile_challenge_is_parsed_in_bounded_time(header: str) -> None:
    challenge = parse_challenge(header)
    assert challenge is None or challenge.scheme == "bearer"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "tags",
                    "name",
                    "mediaType",
                    "manifests",
                    "config",
                    "digest",
                    "platform",
                    "os",
                    "architecture",
                    "created",
                    "Labels",
                    "token",
                    "access_token",
                    "expires_in",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)

ANSWER_ERRORS = (RegistryAnswerError, RegistryAuthError)


def _parsers(body: bytes) -> None:
    for parse in (
        lambda: _page_tags(body, "tags"),
        lambda: parse_manifest(body, "", "manifest"),
        lambda: parse_manifest(body, OCI_INDEX, "index"),
        lambda: parse_config(body, "config"),
        lambda: parse_token(body, 0.0),
    ):
        with suppress(*ANSWER_ERRORS):
            parse()


@pytest.mark.timeout(120)
@settings(max_examples=examples(400), deadline=None)
@given(json_values)
def test_any_json_answer_is_parsed_or_refused_never_a_crash(value: object) -> None:
    _parsers(json.dumps(value).encode())


@pytest.mark.timeout(120)
@settings(max_examples=examples(400), deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_parsed_or_refused_never_a_crash(body: bytes) -> None:
    _parsers(body)


@pytest.mark.timeout(60)
@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=300))
def test_any_link_header_or_challenge_is_read_or_refused(header: str) -> None:
    with suppress(RegistryAnswerError):
        next_link(header, CURRENT)
    parse_challenge(header)
    assert parse_time(header) is None or isinstance(parse_time(header), datetime)
    assert 0.0 <= retry_after_seconds(header) <= MAX_BLOCK_SECONDS


def test_the_error_classes_tell_transient_from_malformed() -> None:
    assert issubclass(RegistryAnswerError, RegistryError)
    assert RegistryAnswerError("x").permanent and not RegistryError("x").permanent


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * DEEP, id="deep"),
        pytest.param(b'{"errors": [' * 1000, id="deep-errors"),
        pytest.param(b'{"errors": "x"}', id="errors-string"),
        pytest.param(b'{"errors": [5]}', id="error-number"),
        pytest.param(b"\xff" * 5000, id="binary"),
    ],
)
def test_a_hostile_error_body_is_described_without_being_trusted(body: bytes) -> None:
    with responses.RequestsMock() as mock:
        mock.get(tags_url("team/bad"), status=404, body=body, content_type="application/json")
        scan = client_for(FakeClock(), max_retries=0).scan([query("team/bad")])
    problem = scan[f"{HOST}/team/bad"].problem or ""
    assert "not found" in problem and "no registry error details" in problem
