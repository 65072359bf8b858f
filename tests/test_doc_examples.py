"""Every example in the docs runs as written.

Each fenced block of README.md, docs/*.md, deploy/README.md and CONTRIBUTING.md that runs
``imagebot``, and each ``yaml`` block, carries a marker saying what it should do
(``<!-- example: exit=0 timeout=30 needs=registry -->``, see docs/testing.md); an unmarked one
fails here, naming FILE:LINE. Commands run as a reader would run them: the installed
``imagebot`` console script, from a directory holding ``./gitops`` (a clone of a repository
whose images are in the rig registry), ``<placeholders>`` replaced by the rig's values. A
configuration example is written where it belongs and tried with ``imagebot run --dry-run``.
Commands that never exit (``run --interval``, ``controller``) run until their first cycle or
readiness, then get SIGTERM and must exit cleanly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.doc_examples import (
    PLACEHOLDERS,
    ROOT,
    Example,
    MarkerError,
    examples,
    invoked,
    parse_marker,
    placeholders,
)
from tests.doc_runner import DIGEST, WEB, Runner
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

EXAMPLES = examples()
SEED = ROOT / "fixtures" / "manifests" / "seed-example" / "original" / "deployment.yaml"
T0 = datetime(2024, 5, 1, tzinfo=UTC)
_REMOTES = itertools.count(1)  # the Git server lives for the session: fresh names
MAX_SKIPS = 3  # skips must stay rare: each one is an example nobody checks


@dataclass
class DocRig:
    """The registry holding the example repository's images, and that repository's files."""

    registry: RegistryServer
    files: dict[str, bytes] = field(default_factory=dict)


@pytest.fixture(scope="module")
def doc_rig(registry: RegistryServer) -> Iterator[DocRig]:
    """The seed scenario in the rig registry (flask develop-v1.9.0 released, every image on
    linux/amd64 and linux/arm64) and ./gitops's files: the seed Deployment under clusters/prod,
    its images in the registry, and two web Deployments under apps."""
    with ImagePusher(registry) as pusher:
        pusher.push_index("demo/flaskapp", "develop-v1.8.0", created=T0)
        pusher.push_index("demo/flaskapp", "develop-v1.9.0", created=T0 + timedelta(days=1))
        pusher.push_index("demo/nginx", "1.16-perl", created=T0 - timedelta(days=900))
    seed = SEED.read_bytes().replace(
        b"docker.io//flaskapp", f"{registry.host}/demo/flaskapp".encode()
    )
    seed = seed.replace(b"image: nginx:", f"image: {registry.host}/demo/nginx:".encode())
    yield DocRig(
        registry,
        {"clusters/prod/fluxdemo.yaml": seed, "apps/web.yaml": WEB.encode()},
    )


@pytest.fixture
def doc_kube() -> Iterator[Any]:
    """kmock's Kubernetes API for the examples that need a cluster (``needs=kube``)."""
    from tests.kube_emulator import RunningApi

    api = RunningApi().start()
    yield api
    api.stop()


def _params() -> list[Any]:
    params = []
    for example in EXAMPLES:
        marker = example.marker
        runs = marker is not None and not (marker.skip or marker.synopsis or marker.walkthrough)
        params.append(pytest.param(example, id=example.id, marks=[pytest.mark.rig] if runs else []))
    return params


def test_every_example_is_marked() -> None:
    """New examples cannot slip in untested: each one says what it should do."""
    wrong = [
        f"unmarked example in {e.id}" + (f": {e.marker_error}" if e.marker_error else "")
        for e in EXAMPLES
        if e.marker is None
    ]
    assert not wrong, "\n".join(wrong)


def test_walkthrough_examples_are_only_the_walkthroughs() -> None:
    """``walkthrough`` hands an example to tests/test_walkthrough.py, which runs the commands of
    docs/walkthrough.md on the rig; anywhere else it would be a skip in disguise."""
    elsewhere = [e.id for e in EXAMPLES if e.marker and e.marker.walkthrough]
    elsewhere = [where for where in elsewhere if not where.startswith("docs/walkthrough.md:")]
    assert not elsewhere, f"walkthrough marker outside docs/walkthrough.md: {elsewhere}"


def test_skips_are_rare_and_say_why() -> None:
    skips = [(e.id, e.marker.skip) for e in EXAMPLES if e.marker and e.marker.skip]
    assert len(skips) <= MAX_SKIPS, f"too many skipped examples: {skips}"


@pytest.mark.parametrize(
    ("marker", "error"),
    [
        pytest.param("skip", "a skip needs a reason", id="skip-without-reason"),
        pytest.param("exit=0", "needs exit= and timeout=", id="no-timeout"),
        pytest.param("exit=0 timeout=5 needs=cloud", "needs= knows", id="unknown-need"),
        pytest.param("exit=zero timeout=5", "whole numbers", id="bad-exit"),
        pytest.param("exit=0 timeout=5 colour=red", "unknown marker word", id="unknown-word"),
    ],
)
def test_a_marker_off_the_grammar_is_refused(marker: str, error: str) -> None:
    with pytest.raises(MarkerError, match=error):
        parse_marker(marker)


def test_a_marker_reads_codes_per_command() -> None:
    marker = parse_marker('exit=0,5 timeout=20 needs=registry,git env=A,B run="imagebot list"')
    assert (marker.exit_for(0, 2), marker.exit_for(1, 2)) == (0, 5)
    assert marker.needs == {"registry", "git"} and marker.env == ("A", "B")
    assert marker.run == "imagebot list" and marker.timeout == 20.0


@pytest.mark.parametrize(
    ("line", "programs"),
    [
        pytest.param("imagebot list --repo .", ["imagebot"], id="plain"),
        pytest.param("printf 'a|b' | imagebot policy select x", ["printf", "imagebot"], id="pipe"),
        pytest.param("X=1 imagebot run  # a comment | not a pipe", ["imagebot"], id="assign"),
        pytest.param("scripts/bootstrap && . .venv/bin/activate", ["scripts/bootstrap", "."]),
        pytest.param('eval "$(X=bash imagebot)"', ["imagebot", "eval"], id="substitution"),
    ],
)
def test_the_programs_of_a_command_line(line: str, programs: list[str]) -> None:
    assert invoked(line) == programs


@pytest.mark.parametrize("example", _params())
def test_example_runs_as_written(
    example: Example, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if example.marker is None:
        detail = f": {example.marker_error}" if example.marker_error else ""
        pytest.fail(f"unmarked example in {example.id}{detail}", pytrace=False)
    marker = example.marker
    if marker.skip:
        pytest.skip(f"{example.id}: {marker.skip}")
    if marker.synopsis:
        check_synopsis(example)
        return
    if marker.walkthrough:
        pytest.skip(f"{example.id}: run by tests/test_walkthrough.py, with the page's other steps")
    values = rig_values(example, request)
    rig: DocRig = request.getfixturevalue("doc_rig")
    api = request.getfixturevalue("doc_kube") if "kube" in marker.needs else None
    runner = Runner(example, tmp_path, values, rig.files, api)
    if example.kind == "config":
        runner.try_config()
    else:
        commands = example.commands()
        for index, command in enumerate(commands):
            runner.run(command, marker.exit_for(index, len(commands)))


def rig_values(example: Example, request: pytest.FixtureRequest) -> dict[str, str]:
    """What each placeholder of the example stands for, starting only the servers it needs."""
    assert example.marker is not None
    needs = set(example.marker.needs)
    used = placeholders(example.text) | placeholders(example.marker.run or "")
    unknown = used - set(PLACEHOLDERS)
    assert not unknown, (
        f"{example.id}: unknown placeholder(s) {sorted(unknown)}: see docs/testing.md"
    )
    for name in used:
        need = PLACEHOLDERS[name]
        assert need is None or need in needs, f"{example.id}: <{name}> needs needs={need}"
    values = {"digest": DIGEST, "owner": "imagebot-gitops", "container": "flask"}
    rig: DocRig = request.getfixturevalue("doc_rig")
    values["registry"] = rig.registry.host
    if "git" in needs:
        server = request.getfixturevalue("http_git_server")
        name = f"docs/{example.file.replace('/', '-')}-{example.line}-{next(_REMOTES)}.git"
        values["repo-url"] = server.make_repo(name, rig.files)
    return values


def check_synopsis(example: Example) -> None:
    """A usage synopsis names the command and only flags it takes (in-process: click's tree)."""
    import click

    from imagebot.cli import cli

    words = example.text.split()
    assert words[0] == "imagebot", f"{example.id}: a synopsis starts with imagebot"
    command: click.Command = cli
    context = click.Context(cli, info_name="imagebot")
    for word in words[1:]:
        if not isinstance(command, click.Group) or word.startswith(("-", "[")) or word.isupper():
            break
        found = command.get_command(context, word)
        assert found is not None, f"{example.id}: no command {word!r}"
        command = found
    accepted = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    accepted |= {"-h", "--help"}
    named = {w.strip("[]|.,") for w in words if w.lstrip("[").startswith("-")}
    named = {w.split("=")[0] for w in named if w not in ("-", "--")}
    missing = sorted(named - accepted)
    assert not missing, f"{example.id}: {command.name} takes no {', '.join(missing)}"
