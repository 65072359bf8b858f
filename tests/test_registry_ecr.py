"""ECR's DescribeImages as a push-time API, played by ``responses`` in the shapes AWS documents
(ECR cannot run here). Every test runs the real client; only HTTP is canned, and each signature
the client sent is checked by ``verify`` below, a second SigV4 written from AWS's description
and itself checked against AWS's published example first.

The shapes come from AWS's API reference and user guide:
- DescribeImages: ``POST /``, ``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.
  DescribeImages``, ``Content-Type: application/x-amz-json-1.1``; request ``registryId``,
  ``repositoryName``, ``filter.tagStatus`` (TAGGED | UNTAGGED | ANY), ``maxResults`` (1-1000,
  100 when unset), ``nextToken``; answer ``imageDetails[]`` and ``nextToken`` (null on the
  last page):
  https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
  https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImagesFilter.html
- ImageDetail: ``imageDigest``, ``imageTags``, ``imagePushedAt`` (a Timestamp: in the JSON 1.1
  protocol a number of seconds since the epoch, fractions allowed), ``registryId``,
  ``repositoryName``, ``imageSizeInBytes``, ``imageManifestMediaType``:
  https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html
- Errors: ``{"__type": "RepositoryNotFoundException", "message": ...}`` with HTTP 400, as the
  JSON protocol answers them (Common Errors):
  https://docs.aws.amazon.com/AmazonECR/latest/APIReference/CommonErrors.html
- Endpoints: registries ``<account>.dkr.ecr.<region>.amazonaws.com`` (``.amazonaws.com.cn`` in
  China) with the API at ``api.ecr.<region>...``; dual-stack registries
  ``<registry-id>.dkr-ecr.<region>.on.aws`` with the API at ``ecr.<region>.api.aws``:
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-requests.html
  https://docs.aws.amazon.com/general/latest/gr/ecr.html
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.config import PushTimes, RegistryHost
from imagebot.errors import ConfigError, RegistryAnswerError
from imagebot.redact import redact
from imagebot.registry.ecr import ecr_registry
from imagebot.registry.pushpages import ecr_page, github_page, harbor_page, quay_page
from imagebot.settings import Source, parse_settings
from imagebot.settings.grammar import read_settings
from tests.lane_support import examples
from tests.leaks import assert_no_leaks
from tests.registry_fakes import DOCKER_MANIFEST, digest_of, image
from tests.run_support import fresh_python
from tests.test_registry_pushtimes import (
    D1,
    D2,
    MAY_1,
    MAY_2,
    client_for,
    fallback_answers,
    scan_one,
    timed,
)

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
API = "https://api.ecr.eu-west-1.amazonaws.com/"
BASE = f"https://{REGISTRY}/v2/team/app"
KEY_ID = "AKIAECRTESTKEY00001"
SECRET = "ecr-secret-access-key/For+Tests+Only00"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def ecr_host(**overrides: object) -> RegistryHost:
    times: dict[str, object] = {
        "api": "ecr",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        **overrides,
    }
    return RegistryHost(REGISTRY, push_times=PushTimes(**times))  # type: ignore[arg-type]


def detail(digest: str, pushed: object, *tags: str) -> dict[str, object]:
    """One ``ImageDetail`` as the API reference lists its members."""
    return {
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "imageDigest": digest,
        "imageTags": list(tags),
        "imageSizeInBytes": 2803255,
        "imagePushedAt": pushed,
        "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "artifactMediaType": "application/vnd.docker.container.image.v1+json",
    }


# --- an independent check of the signatures the client sends ---


@dataclass(frozen=True, slots=True)
class Sent:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


def verify(request: Sent, secret: str) -> dict[str, str]:
    """Recompute the request's SigV4 signature from what was sent, written apart from
    ``imagebot.registry.sigv4`` (AWS's steps, one line each); its parts when it matches."""
    found = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
        r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})",
        request.headers["Authorization"],
    )
    assert found is not None, request.headers["Authorization"]
    url = urlsplit(request.url)
    lower = {k.lower(): v for k, v in request.headers.items()} | {"host": url.netloc}
    names = found["signed"].split(";")
    query = "&".join(sorted(url.query.split("&"))) if url.query else ""
    canonical = "\n".join(
        [request.method, url.path or "/", query]
        + [f"{name}:{lower[name].strip()}" for name in names]
        + ["", found["signed"], hashlib.sha256(request.body).hexdigest()]
    )
    scope = found["scope"]
    hashed = hashlib.sha256(canonical.encode()).hexdigest()
    text = "\n".join(["AWS4-HMAC-SHA256", lower["x-amz-date"], scope, hashed])
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    assert hmac.new(key, text.encode(), hashlib.sha256).hexdigest() == found["signature"]
    return {"key": found["key"], "scope": scope, "signed": found["signed"]}


def sent(call: responses.Call) -> Sent:
    request = call.request
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    return Sent(request.method or "", request.url or "", request.headers, body)


def test_the_verifier_accepts_aws_s_own_example_and_nothing_else() -> None:
    example = Sent(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Amz-Date": "20150830T123600Z",
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
            ),
        },
        b"",
    )

    assert verify(example, AWS_EXAMPLE_SECRET)["scope"] == "20150830/us-east-1/iam/aws4_request"
    with pytest.raises(AssertionError):
        verify(example, SECRET)
    tampered = {**example.headers, "X-Amz-Date": "20150830T123601Z"}
    with pytest.raises(AssertionError):
        verify(Sent(example.method, example.url, tampered, b""), AWS_EXAMPLE_SECRET)


# --- the API, on the happy path ---


@responses.activate
def test_ecr_push_times_cost_one_signed_request_per_page_and_no_manifests() -> None:
    pages = [
        {
            "imageDetails": [
                detail(D2, 1714644000, "1.1", "latest"),
                detail(D1, 1714557600.0, "0.9"),
            ],
            "nextToken": "ukD72mdD/mC8b5xV3susmJzzaTgp3hKwR9nRUW1yZZ6dmQKtqN2Vt1YFVBgi",
        },
        {"imageDetails": [detail(D1, 1.7145576e9, "1.0")]},  # nextToken absent: the last page
    ]
    api = responses.post(API, json=pages[0])
    responses.post(API, json=pages[1])
    client = client_for(ecr_host())

    times = scan_one(client, timed(f"{REGISTRY}/team/app:1.0"))

    assert times == {"1.1": MAY_2, "latest": MAY_2, "0.9": MAY_1, "1.0": MAY_1}
    assert client.stats.by_kind() == {"api": 2}
    assert api.call_count == 1
    first, second = (sent(call) for call in responses.calls)
    assert json.loads(first.body) == {
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "filter": {"tagStatus": "TAGGED"},
        "maxResults": 1000,
    }
    assert json.loads(second.body)["nextToken"] == pages[0]["nextToken"]
    for request in (first, second):
        assert request.headers["X-Amz-Target"] == (
            "AmazonEC2ContainerRegistry_V20150921.DescribeImages"
        )
        assert request.headers["Content-Type"] == "application/x-amz-json-1.1"
        parts = verify(request, SECRET)
        assert parts["key"] == KEY_ID and parts["scope"].endswith("/eu-west-1/ecr/aws4_request")
        # What a man in the middle would change must be signed: the operation and the body.
        assert {"content-type", "host", "x-amz-date", "x-amz-target"} <= set(
            parts["signed"].split(";")
        )
        assert "X-Amz-Security-Token" not in request.headers


@responses.activate
def test_a_session_token_rides_along_signed_and_a_later_cycle_lists_tags_only() -> None:
    responses.post(API, json={"imageDetails": [detail(D1, 1714557600, "1.0")]})
    client = client_for(ecr_host(session_token="FwoGZXIvYXdzEPr//////////wEaDTEST"))
    query = timed(f"{REGISTRY}/team/app:1.0")

    first = scan_one(client, query)
    responses.get(f"{BASE}/tags/list?n=1000", json={"tags": ["1.0"]})
    second = scan_one(client, query)

    assert first == second == {"1.0": MAY_1}
    assert client.stats.by_kind() == {"api": 1, "list": 1}
    signed = sent(responses.calls[0])
    assert signed.headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEPr//////////wEaDTEST"
    assert "x-amz-security-token" in verify(signed, SECRET)["signed"].split(";")
    # The registry itself never sees AWS's credentials or a signature.
    listed = sent(responses.calls[1])
    assert not any(name.lower().startswith("x-amz") for name in listed.headers)
    assert KEY_ID not in str(listed.headers) and "Authorization" not in listed.headers


@pytest.mark.parametrize(
    ("host", "api", "region"),
    [
        pytest.param(REGISTRY, API, "eu-west-1", id="ipv4"),
        pytest.param(
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "https://api.ecr.cn-north-1.amazonaws.com.cn/",
            "cn-north-1",
            id="china",
        ),
        pytest.param(
            "123456789012.dkr-ecr.us-gov-west-1.on.aws",
            "https://ecr.us-gov-west-1.api.aws/",
            "us-gov-west-1",
            id="dual-stack",
        ),
    ],
)
def test_the_api_host_and_region_come_from_the_registry_name(
    host: str, api: str, region: str
) -> None:
    with responses.RequestsMock() as mock:
        mock.post(api, json={"imageDetails": [detail(D1, 1714557600, "1.0")]})
        push_times = PushTimes("ecr", access_key_id=KEY_ID, secret_access_key=SECRET)
        client = client_for(RegistryHost(host, push_times=push_times))

        assert scan_one(client, timed(f"{host}/team/app:1.0")) == {"1.0": MAY_1}
        assert verify(sent(mock.calls[0]), SECRET)["scope"].endswith(f"/{region}/ecr/aws4_request")


@responses.activate
def test_a_vpc_endpoint_url_takes_the_requests_signed_for_its_own_host() -> None:
    vpce = "https://vpce-0abc-1234.api.ecr.eu-west-1.vpce.amazonaws.com"
    responses.post(f"{vpce}/", json={"imageDetails": [detail(D1, 1714557600, "1.0")]})
    client = client_for(ecr_host(url=vpce))

    assert scan_one(client, timed(f"{REGISTRY}/team/app:1.0")) == {"1.0": MAY_1}
    request = sent(responses.calls[0])
    assert verify(request, SECRET)["scope"].endswith("/eu-west-1/ecr/aws4_request")


def test_only_ecr_s_own_names_map_to_an_account_and_region() -> None:
    assert ecr_registry("ECR.example.com") is None
    assert ecr_registry("12345678901.dkr.ecr.eu-west-1.amazonaws.com") is None  # 11 digits
    assert ecr_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example") is None
    found = ecr_registry("123456789012.DKR.ECR.eu-west-1.amazonaws.com")
    assert found is not None and (found.account, found.region) == ("123456789012", "eu-west-1")


# --- refusals and nonsense: manifests, as without the API ---


@pytest.mark.parametrize(
    ("status", "body", "again"),
    [
        pytest.param(
            403, {"__type": "UnrecognizedClientException", "message": "bad key"}, 0, id="403"
        ),
        pytest.param(200, b"<html>proxy login</html>", 0, id="not-json"),
        pytest.param(200, {"imageDetails": "nope"}, 0, id="wrong-shape"),
        pytest.param(200, {"imageDetails": [], "nextToken": 7}, 0, id="token-not-a-string"),
        pytest.param(200, {"imageDetails": [], "nextToken": "x" * 9000}, 0, id="token-huge"),
        # AWS answers most refusals with 400 and says which in __type: those stay refused for
        # the process; throttling passes, so the next cycle asks again.
        pytest.param(
            400,
            {"__type": "RepositoryNotFoundException", "message": "The repository does not exist"},
            0,
            id="400-not-found",
        ),
        pytest.param(
            400,
            {"__type": "com.amazon.coral.service#AccessDeniedException", "message": "no"},
            0,
            id="400-access-denied",
        ),
        pytest.param(
            400,
            {"__type": "ThrottlingException", "message": "Rate exceeded"},
            1,
            id="400-throttled",
        ),
        pytest.param(400, {"__type": "LimitExceededException"}, 1, id="400-other-this-cycle-only"),
    ],
)
def test_an_ecr_api_that_refuses_falls_back_to_manifests(
    status: int, body: object, again: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="imagebot.registry.pushtimes")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        api = mock.post(API, status=status, body=content)
        mock.get(f"{BASE}/tags/list?n=1000", json={"tags": ["1.0"]})
        manifest, config = image("2024-05-01T10:00:00Z")
        mock.get(f"{BASE}/manifests/1.0", body=manifest, content_type=DOCKER_MANIFEST)
        mock.get(f"{BASE}/blobs/{digest_of(config)}", body=config)
        client = client_for(ecr_host())

        first = scan_one(client, timed(f"{REGISTRY}/team/app:1.0"))
        second = scan_one(client, timed(f"{REGISTRY}/team/app:1.0"))

    assert first == second == {"1.0": MAY_1}
    assert api.call_count == 1 + again  # a refusal that will not pass is not asked again
    notes = [r.getMessage() for r in caplog.records if "the ecr" in r.getMessage()]
    assert notes and all(SECRET not in note and KEY_ID not in note for note in notes)


@responses.activate
def test_a_next_token_that_comes_back_is_a_loop_refused_after_two_requests() -> None:
    token = "c2FtZS10b2tlbg=="
    responses.post(API, json={"imageDetails": [detail(D1, 1714557600, "1.0")], "nextToken": token})
    fallback_answers(BASE, {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for(ecr_host())

    assert scan_one(client, timed(f"{REGISTRY}/team/app:1.0")) == {"1.0": MAY_1}
    assert client.stats.by_kind() == {"api": 2, "list": 1, "manifest": 1, "blob": 1}


@responses.activate
def test_odd_push_times_leave_only_that_tag_without_a_time() -> None:
    responses.post(
        API,
        json={
            "imageDetails": [
                detail(D1, "2024-05-01T10:00:00Z", "string"),  # not the protocol's number
                detail(D1, 10**400, "huge"),  # float() of it would raise OverflowError
                detail(D1, 1e300, "far"),
                detail(D1, True, "boolean"),
                detail(D1, -5, "negative"),
                detail(D1, None, "null"),
                {
                    "imageDigest": D2,
                    "imageTags": ["bad tag!", 7, "ok"],
                    "imagePushedAt": 1714644000,
                },
                "not-an-object",
                {"imageDigest": D2, "imageTags": "1.1", "imagePushedAt": 1714644000},
            ]
        },
    )
    client = client_for(ecr_host())

    result = client.scan([timed(f"{REGISTRY}/team/app:ok")])[f"{REGISTRY}/team/app"]

    assert result.problem is None
    times = {t.tag: t.created for t in result.tags}
    assert times == {
        "string": None, "huge": None, "far": None, "boolean": None, "negative": None,
        "null": None, "ok": MAY_2,
    }  # fmt: skip
    assert client.stats.by_kind() == {"api": 1}


@responses.activate
def test_a_redirect_to_another_host_is_refused_with_the_signature() -> None:
    responses.post(API, status=307, headers={"Location": "https://collector.example/"})
    fallback_answers(BASE, {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for(ecr_host(session_token="session-token-not-for-collectors"))

    assert scan_one(client, timed(f"{REGISTRY}/team/app:1.0")) == {"1.0": MAY_1}
    assert not any("collector.example" in (c.request.url or "") for c in responses.calls)


@responses.activate
def test_a_see_other_to_another_host_carries_no_signature_and_no_session_token() -> None:
    responses.post(API, status=303, headers={"Location": "https://collector.example/answer"})
    responses.get("https://collector.example/answer", json={"imageDetails": []})
    fallback_answers(BASE, {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for(ecr_host(session_token="session-token-not-for-collectors"))

    scan_one(client, timed(f"{REGISTRY}/team/app:1.0"))

    (followed,) = [c for c in responses.calls if "collector.example" in (c.request.url or "")]
    assert {k.lower() for k in followed.request.headers} & {
        "authorization",
        "x-amz-security-token",
    } == set()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        pytest.param(ecr_host(url="http://api.ecr.example"), "is not an https:// URL", id="http"),
        pytest.param(
            RegistryHost(REGISTRY, push_times=PushTimes("ecr")),
            "needs AWS credentials",
            id="no-key",
        ),
        pytest.param(
            RegistryHost(
                "ecr.example.com",
                push_times=PushTimes("ecr", access_key_id=KEY_ID, secret_access_key=SECRET),
            ),
            "is not named <account>.dkr.ecr",
            id="not-an-ecr-name",
        ),
    ],
)
def test_an_ecr_api_that_cannot_be_asked_is_left_off_with_one_line(
    host: RegistryHost, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="imagebot.registry.pushtimes")
    base = f"https://{host.host}/v2/team/app"
    with responses.RequestsMock() as mock:
        mock.get(f"{base}/tags/list?n=1000", json={"tags": []})
        client = client_for(host)

        client.scan([timed(f"{host.host}/team/app:1.0")])
        client.scan([timed(f"{host.host}/team/app:1.0")])

    assert "api" not in client.stats.by_kind()
    notes = [r.getMessage() for r in caplog.records if reason in r.getMessage()]
    assert len(notes) == 1, caplog.text


def test_ecr_credentials_never_show_in_reprs_logs_or_problems(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, secret, token = "AKIALEAKCHECK0000001", "leak-check-secret-000001", "leak-check-token-01"
    caplog.set_level(logging.DEBUG)
    host = ecr_host(access_key_id=key, secret_access_key=secret, session_token=token)
    echoed = {"__type": "AccessDeniedException", "message": f"{key} {secret} {token} denied"}
    with responses.RequestsMock() as mock:
        mock.post(API, status=403, json=echoed)
        mock.get(f"{BASE}/tags/list?n=1000", status=404, json={"errors": []})
        client = client_for(host)
        scan = client.scan([timed(f"{REGISTRY}/team/app:1.0")])[f"{REGISTRY}/team/app"]

    assert_no_leaks(
        [secret, token],
        texts={"host": repr(host), "scan": repr(scan), "log": redact(caplog.text)},
    )
    assert key not in redact(f"{scan.problem} {caplog.text}") and key not in repr(host)


# --- hostile pages: read or refused, never a crash ---

ecr_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["imageDetails", "imageTags", "imagePushedAt", "imageDigest", "nextToken",
                 "tags", "name", "start_ts", "push_time", "metadata", "container", "x"]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)  # fmt: skip


@pytest.mark.timeout(120)
@settings(max_examples=examples(400), deadline=None)
@given(ecr_values)
def test_any_push_time_page_is_read_or_refused_never_a_crash(value: object) -> None:
    with suppress(ValueError):  # NaN and Infinity are not JSON: the loader refuses them
        body = json.dumps(value, allow_nan=False).encode()
        for read in (ecr_page, quay_page, harbor_page, github_page):
            with suppress(RegistryAnswerError):
                read(body, "page")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"imageDetails": [' + b'{"imagePushedAt": 1e999},' * 1000 + b"{}]}",
        b'{"imageDetails": [{"imagePushedAt": ' + b"9" * 5000 + b"}]}",
        b"\xff\xfe",
    ],
)
def test_a_hostile_ecr_page_is_refused_or_read_without_a_time(body: bytes) -> None:
    try:
        tags, token = ecr_page(body, "page")
    except RegistryAnswerError:
        return
    assert token is None and all(t.pushed is None for t in tags)


def test_a_time_at_the_edges_of_the_calendar_is_unknown_not_an_error() -> None:
    body = json.dumps(
        {"imageDetails": [detail(D1, 253402300800, "y10k"), detail(D1, 0.5, "epoch")]}
    ).encode()

    tags, _ = ecr_page(body, "page")

    assert {t.name: t.pushed for t in tags} == {
        "y10k": None,
        "epoch": dt.datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC),
    }


# --- settings: --config only, the AWS_* trio by default ---

ECR_CONFIG = "registries:\n  hosts:\n    {host}:\n      pushTimes: {times}\n"


def ecr_settings(times: str, env: dict[str, str]) -> PushTimes | None:
    text = ECR_CONFIG.format(host=REGISTRY, times=times)
    settings = parse_settings(text, "config.yaml", env=env, source=Source.CONFIG)
    (host,) = settings.registries.hosts
    return host.push_times


def test_ecr_credentials_default_to_the_aws_environment_as_every_sdk_reads_it() -> None:
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": "t0k"}

    found = ecr_settings("{api: ecr}", env)

    assert found == PushTimes("ecr", None, None, KEY_ID, SECRET, "t0k")
    assert SECRET not in repr(found) and KEY_ID not in repr(found)


def test_named_ecr_credentials_take_no_session_token_from_elsewhere() -> None:
    env = {"CI_KEY": KEY_ID, "CI_SECRET": SECRET, "AWS_SESSION_TOKEN": "other-credentials"}
    times = "{api: ecr, accessKeyIdEnv: CI_KEY, secretAccessKeyEnv: CI_SECRET}"

    assert ecr_settings(times, env) == PushTimes("ecr", None, None, KEY_ID, SECRET, None)


def test_without_aws_credentials_in_the_environment_ecr_reads_nothing_yet() -> None:
    assert ecr_settings("{api: ecr}", {}) == PushTimes("ecr")
    assert ecr_settings("{api: quay}", {"AWS_ACCESS_KEY_ID": KEY_ID}) == PushTimes("quay")


def in_config(**times: str) -> dict[str, object]:
    return {"registries": {"hosts": {REGISTRY: {"pushTimes": times}}}}


@pytest.mark.parametrize(
    ("source", "tree", "message"),
    [
        pytest.param(
            Source.CONFIG,
            in_config(api="ecr", accessKeyIdEnv="K"),
            "pushTimes: name both accessKeyIdEnv and secretAccessKeyEnv, or neither",
            id="half-a-key",
        ),
        pytest.param(
            Source.CONFIG,
            in_config(api="ecr", sessionTokenEnv="K"),
            "sessionTokenEnv goes with accessKeyIdEnv and secretAccessKeyEnv",
            id="token-alone",
        ),
        pytest.param(
            Source.CONFIG,
            in_config(api="ecr", secretAccessKeyEnv="NOPE"),
            "environment variable NOPE is unset",
            id="named-but-unset",
        ),
        pytest.param(
            Source.RESOURCE,
            {"registries": {"hosts": [{"host": REGISTRY, "pushTimes": {"accessKeyIdEnv": "K"}}]}},
            "pushTimes.accessKeyIdEnv: unknown key (known keys: api, url)",
            id="resource-cannot-read-the-operator-environment",
        ),
        pytest.param(
            Source.REPOSITORY,
            {"registries": {"hosts": {REGISTRY: {"pushTimes": {"api": "ecr"}}}}},
            "registries.hosts: not allowed in the repository",
            id="repository-cannot-name-it",
        ),
    ],
)  # fmt: skip
def test_ecr_settings_refused_where_they_do_not_belong(
    source: Source, tree: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_settings(tree, source, lambda _p, _n, key: key, env={"K": "k"})


def test_an_automation_may_name_ecr_but_never_reads_the_operator_s_aws_environment() -> None:
    tree = {"registries": {"hosts": [{"host": REGISTRY, "pushTimes": {"api": "ecr"}}]}}
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}

    reading = read_settings(tree, Source.RESOURCE, lambda _p, _n, key: key, env=env)

    assert reading.settings.registries.hosts[0].push_times == PushTimes("ecr")


@pytest.mark.rig
def test_the_run_path_imports_the_signer_only_where_ecr_is_configured() -> None:
    probe = (
        "import sys, imagebot.registry, imagebot.registry.pushtimes; "
        "print(sorted(m for m in sys.modules if m.endswith(('.ecr', '.sigv4'))))"
    )

    assert fresh_python(probe).strip() == "[]"
