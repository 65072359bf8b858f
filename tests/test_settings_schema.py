"""The settings table, the JSON schema of imagebot.yaml and the CRD say the same thing: the same
keys, types, ranges and choices. A key added to one and not the others fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from imagebot.durations import parse_duration
from imagebot.settings.fields import FIELDS, HOST_FIELDS, PLATFORM_PATTERN, Field, Kind, Source

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


@pytest.mark.parametrize("interval", ["5m", "1h30m", "90s", "500ms", "90", "1.5h"])
def test_the_crd_admits_every_interval_the_reader_reads(interval: str) -> None:
    pattern = CRD_SPEC["properties"]["interval"]["pattern"]
    assert re.fullmatch(pattern, interval) and parse_duration(interval) > 0
