"""The distribution's metadata: its own name everywhere, one version, the license shipped.

On the package index ``imagebot`` is an unrelated 2015 project, and ``pip install imagebot``
fails building it (issue 15). So the distribution is ``imagebot-gitops`` and every place that asks
pip for this project by name (the ``dev`` extra, the image's wheel install, install docs) must say
so, or pip fetches the other one. The command and the import package stay ``imagebot``.
tests/test_install.py installs the result for real; these checks read the files.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from imagebot import __version__

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "imagebot-gitops"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Files that tell pip (or a person) what to install.
INSTALL_TEXTS = [
    "pyproject.toml",
    "README.md",
    "CONTRIBUTING.md",
    "scripts/bootstrap",
    "scripts/build-image",
    "scripts/test",
    ".ci/run",
    "deploy/Dockerfile",
    "deploy/README.md",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.md"))),
]
# A pip command line, up to the end of its (possibly continued) line.
PIP_COMMAND = re.compile(r"\bpipx? (?:install|wheel|download)\b(?:\\\n|[^\n])*")


def test_the_distribution_has_a_name_of_its_own() -> None:
    assert PYPROJECT["project"]["name"] == DISTRIBUTION
    assert PYPROJECT["project"]["scripts"] == {"imagebot": "imagebot.cli:main"}


def test_extras_that_name_the_project_name_the_distribution() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    own = [
        requirement
        for requirements in extras.values()
        for requirement in requirements
        if re.match(r"imagebot\b", requirement)
    ]
    assert own, "the dev extra should pull in the test extra"
    assert all(r.startswith(f"{DISTRIBUTION}[") for r in own), own


@pytest.mark.parametrize("name", INSTALL_TEXTS)
def test_no_pip_command_asks_for_the_old_name(name: str) -> None:
    path = ROOT / name
    text = path.read_text()
    if path.suffix == ".md":  # commands are in fenced blocks; prose may name the old project
        text = "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S))
    for command in PIP_COMMAND.findall(text):
        command = re.sub(r"(?:^|\s)#[^\n]*", "", command)  # shell comments
        # `imagebot` as an argument, alone or with extras: the unrelated project on the index.
        wrong = re.findall(r"(?<![\w./-])imagebot(?:\[[^\]]*\])?(?![\w.-])", command)
        assert not wrong, f"{name}: `{command.strip()}` asks pip for {wrong}"
    assert not re.search(r"(?<![\w-])imagebot\[", text), f"{name}: an extra of `imagebot`"


def test_metadata_lookups_use_the_distribution_name() -> None:
    """``importlib.metadata.version("imagebot")`` would find nothing (or the other project)."""
    wrong = []
    for path in sorted([*(ROOT / "imagebot").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and getattr(node.func, "attr", getattr(node.func, "id", ""))
                in {"version", "distribution", "metadata", "files", "requires"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "imagebot"
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong


def test_the_version_has_one_home() -> None:
    """setuptools reads ``imagebot.__version__``; the metadata and ``--version`` both follow."""
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "imagebot.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?", __version__)


def test_the_changelog_has_a_section_for_this_version() -> None:
    """Keep a Changelog's form: ``## [0.1.0] - 2026-12-04`` for the version being built."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d\d-\d\d$", changelog, re.M)


def test_the_license_file_is_apache_2_and_ships() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    # PEP 639: a license expression and a license classifier may not both be given.
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_the_image_build_copies_what_the_build_needs() -> None:
    """deploy/Dockerfile builds from the index with the sources copied in: a license file left
    out of the build context is left out of the installed metadata (setuptools only warns that
    the license-files pattern matched nothing, and means to refuse it later)."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for needed in ["pyproject.toml", "README.md", *PYPROJECT["project"]["license-files"]]:
        assert re.search(rf"^COPY [^\n]*\b{re.escape(needed)}\b", dockerfile, re.M), needed
        assert f"!{needed}" in ignore, needed


@pytest.mark.parametrize("name", ["CONTRIBUTING.md", "CHANGELOG.md", "README.md"])
def test_the_paths_and_links_a_guide_names_exist(name: str) -> None:
    """A module or test a guide sends contributors to must be there (``<kind>`` stands for any)."""
    text = (ROOT / name).read_text()
    top = "imagebot|tests|scripts|docs|policies|fixtures|deploy"
    named = re.findall(rf"`((?:{top})/[^`\s]*)`", text)
    linked = re.findall(r"\]\(((?!https?:)[^)#\s]+)(?:#[^)]*)?\)", text)
    missing = [p for p in named + linked if "<" not in p and not (ROOT / p).exists()]
    assert not missing, f"{name} names paths that do not exist: {missing}"
