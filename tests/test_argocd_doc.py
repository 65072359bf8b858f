"""Every row of the mapping table in docs/from-argocd-image-updater.md names tests that exist.

A row's last column names test functions, or cases (``pytest.param`` ids) of the parametrized
ones; a row naming none, or a name no test file defines, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "from-argocd-image-updater.md"
TESTS = ("test_argocd_annotations.py", "test_argocd_e2e.py")


def mapping_rows() -> list[tuple[str, list[str]]]:
    text = DOC.read_text()
    table = text.split("## Mapping", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:]  # past the header
    return [(row.split(" | ")[0], re.findall(r"`([a-z0-9_-]+)`", row.rsplit(" | ", 1)[1]))
            for row in rows]  # fmt: skip


def defined_names() -> set[str]:
    source = "".join((ROOT / "tests" / name).read_text() for name in TESTS)
    functions = re.findall(r"^def (test_\w+)", source, re.MULTILINE)
    cases = re.findall(r'id="([a-z0-9-]+)"', source)
    return {*functions, *cases}


def test_the_table_has_its_rows() -> None:
    assert len(mapping_rows()) >= 25


def test_every_mapping_row_names_tests_that_exist() -> None:
    defined = defined_names()
    for row, names in mapping_rows():
        assert names, f"the row {row!r} names no test"
        missing = [name for name in names if name not in defined]
        assert not missing, f"the row {row!r} names tests that do not exist: {missing}"
