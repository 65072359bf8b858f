"""Declared dependencies match imports: what imagebot/ imports by name is a runtime dependency,
and every runtime dependency is imported (or says here why not); the same for tests/ and the
``test`` extra.

Issue 15 found ``aiohttp`` imported by the operator but undeclared (it arrived through kopf) and
``urllib3`` the same way (through requests): a package that comes only through another's
requirements leaves when that package stops needing it. A declared package nothing imports is
the opposite drift (``semver`` was one, before it moved to the test extra). Imports are read
with ``ast``, lazy ones inside functions included, and mapped to distributions through the
installed metadata (``importlib.metadata.packages_distributions``).
"""

from __future__ import annotations

import ast
import gc
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

# Declared, yet never imported by name; each with the reason it is declared all the same.
RUNTIME_NOT_IMPORTED = {
    "ruamel-yaml-clib": "the C extension `_ruamel_yaml`, which ruamel.yaml.cyaml imports; "
    "manifest/compose.py uses it through ruamel.yaml.cyaml.CParser (~15x faster scans)",
}
TEST_NOT_IMPORTED = {
    "pytest-timeout": "a pytest plugin: the `timeout` option in [tool.pytest.ini_options]",
    "pytest-asyncio": "a pytest plugin: runs the async tests (asyncio_default_fixture_loop_scope)",
}
# Packages of this repository, not distributions.
OWN = {"imagebot", "tests", "bench", "scripts"}


def normalize(name: str) -> str:
    """A distribution name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    """The distribution names of PEP 508 requirement strings, versions and markers dropped."""
    names = set()
    for requirement in requirements:
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert found, f"pyproject.toml: cannot read the requirement {requirement!r}"
        names.add(normalize(found[1]))
    return names


@cache
def project() -> dict[str, object]:
    table: dict[str, object] = tomllib.loads(PYPROJECT.read_text())["project"]
    return table


def runtime_dependencies() -> set[str]:
    return requirement_names(project()["dependencies"])  # type: ignore[arg-type]


def extra(name: str) -> set[str]:
    extras: dict[str, list[str]] = project()["optional-dependencies"]  # type: ignore[assignment]
    return requirement_names(extras[name])


def _parse(path: Path) -> ast.Module:
    """``ast.parse`` with the garbage collector held off. A collection inside the parse that
    finalizes a socket some earlier test leaked raises its ResourceWarning (an error in this
    suite) inside CPython 3.11's AST builder, which then fails the parse with "SystemError: AST
    constructor recursion depth mismatch"; outside the parse, pytest reports the leak itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_bytes(), str(path))
    finally:
        if enabled:
            gc.enable()


def imports(folder: Path) -> Iterator[tuple[str, str]]:
    """(dotted module, ``file:line``) of every absolute import under ``folder``: top-level,
    inside functions, under ``TYPE_CHECKING``, and ``importlib.import_module("literal")``."""
    for path in sorted(folder.rglob("*.py")):
        where = path.relative_to(ROOT)
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, f"{where}:{node.lineno}"
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield node.module, f"{where}:{node.lineno}"
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.args[0].value, f"{where}:{node.lineno}"


@cache
def third_party(folder: Path) -> dict[str, list[str]]:
    """Third-party modules imported under ``folder`` -> where."""
    found: dict[str, list[str]] = {}
    for module, where in imports(folder):
        top = module.partition(".")[0]
        if top not in sys.stdlib_module_names and top not in OWN:
            found.setdefault(module, []).append(where)
    return found


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


@cache
def _files(distribution: str) -> frozenset[str]:
    files = importlib.metadata.distribution(distribution).files or []
    return frozenset(str(f) for f in files)


def distributions_of(module: str) -> set[str]:
    """The installed distributions that provide ``module``. Where several share a top-level
    package (a namespace such as ``ruamel``), those shipping the deepest part of the module's
    path: ``ruamel.yaml.nodes`` is ruamel.yaml's, not ruamel.yaml.clib's."""
    parts = module.split(".")
    candidates = _packages_distributions().get(parts[0], [])
    for depth in range(len(parts), 1, -1):
        folder = "/".join(parts[:depth])
        deepest = {
            d
            for d in candidates
            if any(f.startswith((folder + "/", folder + ".")) for f in _files(d))
        }
        if deepest:
            return {normalize(d) for d in deepest}
    return {normalize(d) for d in candidates}


def undeclared(found: dict[str, list[str]], declared: set[str]) -> list[str]:
    """One line per imported module that no declared distribution provides."""
    missing = []
    for module, where in sorted(found.items()):
        provided = distributions_of(module)
        if not provided:
            missing.append(f"{module} ({where[0]}): no installed distribution provides it")
        elif not provided & declared:
            names = ", ".join(sorted(provided))
            missing.append(f"{module} ({', '.join(where[:3])}): {names} is not declared")
    return missing


def imported_distributions(folder: Path) -> set[str]:
    return {d for module in third_party(folder) for d in distributions_of(module)}


def test_every_distribution_imagebot_imports_is_a_runtime_dependency() -> None:
    missing = undeclared(third_party(ROOT / "imagebot"), runtime_dependencies())
    assert not missing, "imported by imagebot/ but not in [project] dependencies:\n" + "\n".join(
        missing
    )


def unexplained_unused(declared: set[str], folder: Path, reasons: dict[str, str]) -> list[str]:
    """Declared distributions ``folder`` never imports and ``reasons`` does not explain, and
    reasons that have gone stale (no longer declared, or imported after all)."""
    imported = imported_distributions(folder)
    unused = declared - imported
    stale = {name for name in reasons if name not in declared or name in imported}
    return [f"{name}: never imported" for name in sorted(unused - reasons.keys())] + [
        f"{name}: a stale reason ({reasons[name]})" for name in sorted(stale)
    ]


def test_every_runtime_dependency_is_imported_by_imagebot() -> None:
    problems = unexplained_unused(runtime_dependencies(), ROOT / "imagebot", RUNTIME_NOT_IMPORTED)
    assert not problems, (
        "[project] dependencies that imagebot/ does not import (move test-only packages to the "
        "test extra, or say why in RUNTIME_NOT_IMPORTED):\n" + "\n".join(problems)
    )


def test_every_distribution_the_tests_import_is_declared() -> None:
    declared = runtime_dependencies() | extra("test")
    missing = undeclared(third_party(ROOT / "tests"), declared)
    assert not missing, (
        "imported by tests/ but in neither [project] dependencies nor the test extra:\n"
        + "\n".join(missing)
    )


def test_every_test_extra_dependency_is_imported_by_the_tests() -> None:
    problems = unexplained_unused(extra("test"), ROOT / "tests", TEST_NOT_IMPORTED)
    assert not problems, "the test extra, beyond what tests/ imports:\n" + "\n".join(problems)


def test_the_namespace_package_is_told_apart_by_its_files() -> None:
    """The checks above rest on this: ``ruamel`` is shared by ruamel.yaml and its C extension."""
    assert distributions_of("ruamel.yaml.nodes") == {"ruamel-yaml"}
    assert distributions_of("git") == {"gitpython"}
    assert distributions_of("re2") == {"google-re2"}
