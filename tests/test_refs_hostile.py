"""Hostile image references. The bug: a reference whose port is above 65535 passed the grammar
(which allows any digits) and crashed the HTTP layer far from the file that held it. It is now a
``ReferenceError_`` like any other bad reference, so the manifest layer reports it at its line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.errors import ReferenceError_
from imagebot.manifest import scan_text
from imagebot.refs import MAX_PORT, parse_reference
from tests.lane_support import examples

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        pytest.param("reg.example:1/app:1", "reg.example:1", id="port-1"),
        pytest.param("reg.example:65535/app:1", "reg.example:65535", id="port-65535"),
        pytest.param("reg.example:00443/app", "reg.example:00443", id="leading-zeros"),
        pytest.param("[::1]:5000/app", "[::1]:5000", id="ipv6-loopback"),
        pytest.param("[2001:db8::1]/app", "[2001:db8::1]", id="ipv6-no-port"),
        pytest.param("[::ffff:127.0.0.1]:443/app", "[::ffff:127.0.0.1]:443", id="ipv4-mapped"),
        pytest.param("Reg.Example:5000/app", "reg.example:5000", id="uppercase-host"),
        pytest.param("LOCALHOST/app", "localhost", id="uppercase-localhost"),
    ],
)
def test_hosts_and_ports_in_range_are_accepted(text: str, registry: str) -> None:
    assert parse_reference(text).registry == registry


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("reg.example:0/app", "port 0 ", id="port-0"),
        pytest.param("reg.example:65536/app:1", "port 65536 ", id="port-65536"),
        pytest.param("localhost:99999999999/app", "port 99999999999 ", id="port-huge"),
        pytest.param("localhost:" + "9" * 200 + "/app", "not between 1 and 65535", id="port-200"),
        pytest.param("[::1]:70000/app", "port 70000 ", id="ipv6-port-over"),
        pytest.param("reg.example:http/app", "not a valid host", id="port-letters"),
        pytest.param("reg.example:/app", "not a valid host", id="port-empty"),
        pytest.param("reg.example:-1/app", "not a valid host", id="port-negative"),
        pytest.param(
            "reg.example:\uff15\uff10\uff10\uff10/app", "not a valid host", id="port-fullwidth"
        ),
        pytest.param("[zz::1]:5000/app", "not a valid host", id="ipv6-not-hex"),
        pytest.param("[:::::]/app", "not an IPv6 address", id="ipv6-too-many-colons"),
        pytest.param("[1.2.3.4]/app", "not an IPv6 address", id="ipv4-in-brackets"),
        pytest.param("a" * 300 + ".io/app", "longer than 255", id="long-name"),
    ],
)
def test_a_bad_host_or_port_is_a_reference_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(ReferenceError_, match=message):
        parse_reference(text)


def test_a_port_out_of_range_in_a_manifest_is_a_problem_at_its_line() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n"
        "    fluxcd.io/automated: 'true'\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: a\n        image: reg.example:65536/app:1.0\n"
        "      - name: b\n        image: reg.example:5000/app:1.0\n"
    )
    targets, problems = scan_text(text, "app.yaml")
    assert [t.container for t in targets] == ["b"]
    [problem] = problems
    assert (problem.file, problem.line) == ("app.yaml", 12)
    assert "port 65536" in problem.message


hosts = st.one_of(
    st.from_regex(r"[a-zA-Z0-9.-]{1,20}(:[0-9]{0,12})?", fullmatch=True),
    st.from_regex(r"\[[0-9a-fA-F:.]{1,40}\](:[0-9]{0,12})?", fullmatch=True),
    st.text(max_size=30),
)


@settings(max_examples=examples(500), deadline=None)
@given(
    host=hosts,
    path=st.text(max_size=300) | st.from_regex(r"[a-z0-9/._-]{1,300}", fullmatch=True),
    tag=st.none() | st.text(max_size=140),
)
def test_any_reference_parses_to_a_sane_value_or_is_a_reference_error(
    host: str, path: str, tag: str | None
) -> None:
    text = f"{host}/{path}" + (f":{tag}" if tag is not None else "")
    try:
        ref = parse_reference(text)
    except ReferenceError_:
        return
    port = ref.registry.rpartition("]")[2].rpartition(":")[2] if ":" in ref.registry else ""
    if port and ref.registry not in ("docker.io",) and port.isdigit():
        assert 1 <= int(port) <= MAX_PORT
    assert parse_reference(str(ref)) == ref, "a parsed reference formats back to itself"
