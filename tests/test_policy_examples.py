"""Every example in policies/ runs through ``imagebot policy select`` and chooses what it says,
so the examples the documentation links to never rot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from imagebot.cli.policy_cmd import policy
from imagebot.policy import parse_policy

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "policies").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    example: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return example


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_chooses_what_it_promises(path: Path) -> None:
    example = _load(path)
    assert set(example) <= {"policy", "why", "current", "filter", "tags", "expect"}, path.name
    assert example["why"], f"{path.name} must say why"
    args = ["select", example["policy"]]
    if example.get("current"):
        args += ["--current", str(example["current"])]
    if example.get("filter"):
        args += ["--filter", example["filter"]["pattern"]]
        if example["filter"].get("extract"):
            args += ["--extract", example["filter"]["extract"]]
    stdin = "".join(f"{line}\n" for line in example["tags"])
    result = CliRunner().invoke(policy, args, input=stdin)
    assert (result.exit_code, result.stdout.strip()) == (0, str(example["expect"])), (
        f"{path.name}: {example['why']}\n{result.stderr}"
    )


def test_every_policy_kind_has_an_example() -> None:
    policies = [_load(path)["policy"] for path in EXAMPLES]
    kinds = {text.partition(":")[0] for text in policies}
    assert {"glob", "regex", "semver", "numerical", "alphabetical"} <= kinds
    assert {"major", "minor", "patch"} <= set(policies)
    assert any(_load(path).get("filter") for path in EXAMPLES), "no filter/extract example"
    for text in policies:
        parse_policy(text)


def test_the_policy_reference_links_every_example() -> None:
    reference = (Path(__file__).resolve().parents[1] / "docs" / "policies.md").read_text()
    missing = [p.name for p in EXAMPLES if f"](../policies/{p.name})" not in reference]
    assert not missing, f"docs/policies.md does not link {missing}"
