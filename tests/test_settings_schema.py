"""The settings table, the JSON schema of imagebot.yaml and the CRD say the same thing: the same
keys, types, ranges and choices. A key added to one and not the others fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.controller.spec import parse_spec
from imagebot.durations import INTERVAL_MAX_LENGTH, INTERVAL_PATTERN
from imagebot.errors import ConfigError
from imagebot.settings.fields import (
    FIELDS,
    HOST_FIELDS,
    PLATFORM_PATTERN,
    RECEIVER_FIELDS,
    Field,
    Kind,
    Source,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "imagebot" / "schema" / "imagebot.schema.json").read_text())
CRD = yaml.safe_load((ROOT / "deploy" / "base" / "crd.yaml").read_text())
CRD_SPEC = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]

JSON_TYPES = {
    Kind.STRING: "string", Kind.ENV: "string", Kind.FILE: "string", Kind.DIRECTORY: "string",
    Kind.PLATFORM: "string", Kind.DURATION: "string", Kind.CHOICE: "string",
    Kind.BOOL: "boolean", Kind.INT: "integer", Kind.NUMBER: "number",
    Kind.STRINGS: "array", Kind.PLATFORMS: "array", Kind.SECRETS: "array", Kind.SECRET: "object",
}  # fmt: skip


def _is_secret_ref(node: dict[str, Any]) -> bool:
    return set(node.get("properties", {})) == {"name"}


def leaves(node: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every settable key of a schema, dotted; ``*`` for a mapping's values, ``[]`` for items."""
    found: dict[str, dict[str, Any]] = {}
    items = node.get("items", {})
    if "properties" in node and not _is_secret_ref(node):
        for name, child in node["properties"].items():
            found.update(leaves(child, f"{prefix}.{name}" if prefix else name))
    elif (
        isinstance(node.get("additionalProperties"), dict)
        and "properties" in node["additionalProperties"]
    ):
        found.update(leaves(node["additionalProperties"], f"{prefix}.*"))
    elif "properties" in items and not _is_secret_ref(items):
        found.update(leaves(items, f"{prefix}[]"))
    else:
        found[prefix] = node
    return found


def table(source: Source) -> dict[str, Field]:
    """The table's keys as ``source`` spells them, host fields under the hosts key."""
    spelled: dict[str, Field] = {}
    for entry in FIELDS:
        if not any(s.file == source.file for s in entry.sources):
            continue
        if entry.kind is Kind.HOSTS:
            below = ".*." if source.file else "[]."
            for field in HOST_FIELDS:
                if any(s.file == source.file for s in field.sources):
                    spelled[f"{entry.spelled(source)}{below}{field.key}"] = field
        elif entry.kind is Kind.RECEIVERS:  # a list of entries in every source
            for field in RECEIVER_FIELDS:
                if any(s.file == source.file for s in field.sources):
                    spelled[f"{entry.spelled(source)}[].{field.key}"] = field
        else:
            spelled[entry.spelled(source)] = entry
    return spelled


SOURCES = [
    pytest.param(Source.CONFIG, leaves(SCHEMA), id="imagebot.schema.json"),
    pytest.param(Source.RESOURCE, leaves(CRD_SPEC), id="crd.yaml"),
]


@pytest.mark.parametrize(("source", "schema"), SOURCES)
def test_the_schema_has_every_key_of_the_table_and_no_other(
    source: Source, schema: dict[str, dict[str, Any]]
) -> None:
    assert set(schema) == set(table(source))


@pytest.mark.parametrize(("source", "schema"), SOURCES)
def test_the_schema_gives_each_key_the_tables_type_range_and_choices(
    source: Source, schema: dict[str, dict[str, Any]]
) -> None:
    for key, field in table(source).items():
        node = schema[key]
        assert node.get("type", "string") == JSON_TYPES[field.kind], key
        if field.choices:
            assert tuple(node["enum"]) == field.choices, key
        if field.kind in (Kind.PLATFORM, Kind.PLATFORMS):
            pattern = node["pattern"] if field.kind is Kind.PLATFORM else node["items"]["pattern"]
            assert pattern == PLATFORM_PATTERN, key
        if field.kind in (Kind.INT, Kind.NUMBER):
            assert node.get("maximum") == field.maximum, key
            if not field.above:
                assert node.get("minimum") == field.minimum, key
            elif source.file:  # JSON Schema 2020-12
                assert node["exclusiveMinimum"] == field.minimum, key
            else:  # OpenAPI v3.0, as Kubernetes reads it
                assert (node["minimum"], node["exclusiveMinimum"]) == (field.minimum, True), key


def test_the_crd_requires_the_git_url_the_reader_requires() -> None:
    assert CRD_SPEC["required"] == ["git"]
    assert CRD_SPEC["properties"]["git"]["required"] == ["url"]


INTERVAL = CRD_SPEC["properties"]["interval"]
# Admitted by Flux's pattern and ours, and what people write instead: bare seconds, other Go
# units, spaces, days, signs, exponents, numbers from YAML.
INTERVALS = [
    "5m", "1h30m", "90s", "500ms", "1.5h", "1h0m30s", "2m2m", "0s", "1000ms", "8784h", "8785h",
    "90", "0", "1.5", " 5m", "5m ", "5m\n", "5 m", "5M", "5d", "-5m", "+5m", ".5s", "5.s", "1e3s",
    "250us", "250µs", "10ns", "1h30", "m", "", "٣s", "9" * 70 + "s", 90, 1.5, 0, True, None,
]  # fmt: skip


def crd_admits(value: object) -> bool:
    """What the API server checks: a string within maxLength matching the pattern, an ECMA-262
    regular expression whose ``$`` only matches at the very end (Python's also matches before
    a final newline, hence fullmatch without the anchors). A null is dropped before that, the
    field being non-nullable: the interval is then absent, and so it is for the reader."""
    if value is None:
        return True
    pattern = INTERVAL["pattern"].removeprefix("^").removesuffix("$")
    return (
        isinstance(value, str)
        and len(value) <= INTERVAL["maxLength"]
        and re.fullmatch(pattern, value, re.ASCII) is not None
    )


def test_the_crd_carries_the_readers_interval_grammar() -> None:
    assert INTERVAL["type"] == "string"
    assert INTERVAL["pattern"] == INTERVAL_PATTERN
    assert INTERVAL["maxLength"] == INTERVAL_MAX_LENGTH
    for source, schema in ((Source.CONFIG, leaves(SCHEMA)), (Source.RESOURCE, leaves(CRD_SPEC))):
        for key, field in table(source).items():
            if field.kind is Kind.DURATION:
                assert schema[key]["pattern"] == INTERVAL_PATTERN, key


def _agree(value: object) -> None:
    """The reader takes exactly what the CRD admits, less what is out of its range (the CRD
    cannot say "at least 1s and at most a year" in a pattern)."""
    try:
        parse_spec({"git": {"url": "https://example.org/r.git"}, "interval": value})
    except ConfigError as error:
        if crd_admits(value):
            assert re.search("shorter than 1s|longer than a year", str(error)), (value, error)
        return
    assert crd_admits(value), value


@pytest.mark.parametrize("interval", INTERVALS)
def test_the_crd_and_the_reader_agree_on_each_interval(interval: object) -> None:
    _agree(interval)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="0123456789.hmsun µ+-e\n", max_size=14)
    | st.from_regex(INTERVAL_PATTERN, fullmatch=True)
    | st.integers()
    | st.floats()
)
def test_the_crd_and_the_reader_agree_on_any_interval(interval: object) -> None:
    _agree(interval)


def test_the_docs_show_only_intervals_the_crd_and_the_reader_take() -> None:
    """docs/operator.md's row for spec.interval: what it shows before "never" must be taken by
    both, what it shows after (the counter-examples) refused by both."""
    docs = (ROOT / "docs" / "operator.md").read_text()
    (row,) = [line for line in docs.splitlines() if line.startswith("| `spec.interval`")]
    meaning = row.split("|")[2]
    taken, _, refused = meaning.partition("never")
    shown = re.findall(r"`([^`]*)`", taken)
    assert len(shown) >= 3, row
    for value in shown:
        assert crd_admits(value), value
        parse_spec({"git": {"url": "https://example.org/r.git"}, "interval": value})
    for value in re.findall(r"`([^`]*)`", refused):
        assert not crd_admits(value), value
        with pytest.raises(ConfigError):
            parse_spec({"git": {"url": "https://example.org/r.git"}, "interval": value})
