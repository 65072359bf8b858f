"""AWS Signature Version 4, checked against the vectors AWS publishes (none made up here).

- The IAM ``ListUsers`` example of the General Reference ("Create a signed AWS API request",
  formerly sigv4-create-canonical-request / sigv4-create-string-to-sign /
  sigv4-calculate-signature.html): AKIDEXAMPLE, 20150830T123600Z, us-east-1, iam; hashed
  canonical request f536975d..., signing key c4afb1cc..., signature 5d672d79...
  https://docs.aws.amazon.com/general/latest/gr/sigv4-calculate-signature.html
- ``post-x-www-form-urlencoded`` of AWS's SigV4 test suite (2015 edition, service ``service``,
  body ``Param1=value1``): signature ff118979...
  https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html
- ``post-x-www-form-urlencoded`` of the 2011 edition, as shipped in AWS's own CLI repository
  (aws/aws-cli tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded.{creq,sts,authz}):
  a ``Date`` header instead of ``X-Amz-Date``, service ``host``, body ``foo=bar``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from imagebot.registry.sigv4 import (
    AwsCredentials,
    canonical_query,
    canonical_request,
    sha256_hex,
    sign,
    signature,
    signing_key,
    string_to_sign,
)

EXAMPLE = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
AUGUST_30 = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC)
FORM = "application/x-www-form-urlencoded"


def test_the_list_users_example_of_the_aws_documentation() -> None:
    headers = sign(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"Content-Type": f"{FORM}; charset=utf-8"},
        b"",
        EXAMPLE,
        "us-east-1",
        "iam",
        AUGUST_30,
    )

    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )
    assert "X-Amz-Security-Token" not in headers


def test_each_step_of_the_list_users_example() -> None:
    canonical, signed = canonical_request(
        "GET",
        "/",
        "Version=2010-05-08&Action=ListUsers",  # sorted by the canonical form
        {
            "Content-Type": f"{FORM}; charset=utf-8",
            "Host": "iam.amazonaws.com",
            "X-Amz-Date": "20150830T123600Z",
        },
        sha256_hex(b""),
    )
    text = string_to_sign("20150830T123600Z", "20150830/us-east-1/iam/aws4_request", canonical)
    key = signing_key(EXAMPLE.secret_access_key, "20150830", "us-east-1", "iam")

    assert signed == "content-type;host;x-amz-date"
    assert text.endswith("\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    assert signature(key, text) == (
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_the_test_suite_post_with_a_body() -> None:
    headers = sign(
        "POST",
        "https://example.amazonaws.com/",
        {"Content-Type": FORM},
        b"Param1=value1",
        EXAMPLE,
        "us-east-1",
        "service",
        AUGUST_30,
    )

    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
    )


def test_the_2011_suite_post_signed_with_a_date_header() -> None:
    canonical, signed = canonical_request(
        "POST",
        "/",
        "",
        {"Content-Type": FORM, "Date": "Mon, 09 Sep 2011 23:36:00 GMT", "Host": "host.foo.com"},
        sha256_hex(b"foo=bar"),
    )
    text = string_to_sign("20110909T233600Z", "20110909/us-east-1/host/aws4_request", canonical)
    key = signing_key(EXAMPLE.secret_access_key, "20110909", "us-east-1", "host")

    assert canonical == (
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
        "date:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\ncontent-type;date;host\n"
        "3ba8907e7a252327488df390ed517c45b96dead033600219bdca7107d1d3f88a"
    )
    assert text == (
        "AWS4-HMAC-SHA256\n20110909T233600Z\n20110909/us-east-1/host/aws4_request\n"
        "4c5c6e4b52fb5fb947a8733982a8a5a61b14f04345cbfe6e739236c76dd48f74"
    )
    assert signed == "content-type;date;host"
    assert signature(key, text) == (
        "5a15b22cf462f047318703b92e6f4f38884e4a7ab7b1d6426ca46a8bd1c26cbc"
    )


def test_a_session_token_is_sent_and_signed() -> None:
    temporary = AwsCredentials("AKIDEXAMPLE", EXAMPLE.secret_access_key, "FwoGZXIvYXdzEXAMPLE")
    plain = sign("POST", "https://example.amazonaws.com/", {}, b"{}", EXAMPLE, "r", "s", AUGUST_30)
    headers = sign(
        "POST", "https://example.amazonaws.com/", {}, b"{}", temporary, "r", "s", AUGUST_30
    )

    assert headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLE"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in headers["Authorization"]
    assert headers["Authorization"] != plain["Authorization"]


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        pytest.param("", "", id="none"),
        pytest.param("b=2&a=1", "a=1&b=2", id="sorted"),
        pytest.param("a=x y&a=b", "a=b&a=x%20y", id="by-value-then-encoded"),
        pytest.param("k=~-_.", "k=~-_.", id="unreserved-kept"),
    ],
)
def test_the_canonical_query(query: str, canonical: str) -> None:
    assert canonical_query(query) == canonical


def test_credentials_never_show_in_a_repr() -> None:
    temporary = AwsCredentials("AKIDREPRKEY1", "secret-in-repr-XYZ", "token-in-repr-XYZ")

    assert "REPR" not in repr(temporary) and "in-repr" not in repr(temporary)
