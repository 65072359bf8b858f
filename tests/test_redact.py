"""The one redactor: what it removes from text that leaves the process, and what it keeps."""

from __future__ import annotations

import logging

import pytest

from imagebot.redact import Redactor, install_log_redaction, redact, redact_tree, remember


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("token s3cr3t-tok here", "token *** here", id="known-secret"),
        pytest.param("abc", "abc", id="short-secrets-ignored"),
        pytest.param(
            "fatal: https://me:hunter22@git.example/r.git",
            "fatal: https://me:***@git.example/r.git",
            id="url-password",
        ),
        pytest.param("ssh://git@host/r.git", "ssh://git@host/r.git", id="user-name-kept"),
        pytest.param(
            "https://ghp_0123456789abcdef0123456789abcdef@github.com/o/r",
            "https://***@github.com/o/r",
            id="token-as-user",
        ),
        pytest.param(
            "sent Authorization: Basic cmlnOnNlY3JldA== to it",
            "sent Authorization: Basic *** to it",
            id="authorization-basic",
        ),
        pytest.param(
            '{"authorization": "Bearer eyJhbGciOi.x.y"}',
            '{"authorization": "Bearer ***"}',
            id="authorization-json",
        ),
        pytest.param(
            "Proxy-Authorization: Negotiate YIIabc",
            "Proxy-Authorization: Negotiate ***",
            id="proxy",
        ),
        pytest.param(
            "GET https://s3/b?X-Amz-Signature=abc123&X-Amz-Date=2024&access_token=t0k",
            "GET https://s3/b?X-Amz-Signature=***&X-Amz-Date=2024&access_token=***",
            id="query-values",
        ),
        pytest.param(
            "https://r/token?password=p4ss;client_secret=s3c&scope=repository:x:pull",
            "https://r/token?password=***;client_secret=***&scope=repository:x:pull",
            id="query-password-and-secret",
        ),
        pytest.param(
            'WWW-Authenticate: Bearer realm="https://auth/token",service="r"',
            'WWW-Authenticate: Bearer realm="https://auth/token",service="r"',
            id="challenge-kept",
        ),
    ],
)
def test_the_redactor_removes_secrets_headers_userinfo_and_credential_queries(
    text: str, expected: str
) -> None:
    assert Redactor(["s3cr3t-tok", "abc", None])(text) == expected


def test_a_remembered_secret_is_masked_by_every_redactor_and_the_longest_first() -> None:
    remember("rmbd-0123456789", "rmbd-0123456789-longer")
    assert redact("a rmbd-0123456789-longer b") == "a *** b"
    assert Redactor()("x rmbd-0123456789 y") == "x *** y"


def test_a_json_tree_is_redacted_in_every_string() -> None:
    remember("tree-secret-42")
    tree = {"problems": [{"message": "echo tree-secret-42"}], "n": 3, "ok": True}
    assert redact_tree(tree) == {"problems": [{"message": "echo ***"}], "n": 3, "ok": True}


def test_log_records_are_redacted_before_any_handler_formats_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    remember("log-secret-77")
    logger = logging.getLogger("imagebot.test.redact")
    with caplog.at_level(logging.INFO):
        logger.info("token %s from %s", "log-secret-77", "https://u:pw1234@h/x")
        try:
            raise ValueError("boom log-secret-77")
        except ValueError:
            logger.exception("failed")
    assert "log-secret-77" not in caplog.text and "pw1234" not in caplog.text
    assert "token *** from https://u:***@h/x" in caplog.text
