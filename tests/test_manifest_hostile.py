"""Hostile YAML is one problem for its file, never a crash, a hang or a skipped sibling (issue 13).

Before the fix: 100,000 levels of nesting killed the process with signal 11 in libyaml's
recursive composer, a merge-key cycle raised RecursionError out of the walk, and a merge bomb
hung it. Each case here, with its neighbours just under and over the limits, must end inside a
generous per-test timeout; none asserts a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.errors import RewriteError
from imagebot.manifest import Update, rewrite_text, scan_text
from imagebot.manifest.compose import UnsafeYamlError, compose_documents
from imagebot.manifest.guard import MAX_DEPTH, MAX_EXPANDED_NODES
from tests.lane_support import examples
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.run_support import T0, imagebot

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "example.org/team/app:1.0.0"


def workload(name: str = "web", image: str = IMAGE, extra: str = "") -> str:
    """An automated Deployment; ``extra`` goes in as top-level keys after ``kind``."""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\n{extra}metadata:\n  name: {name}\n"
        "  annotations:\n    fluxcd.io/automated: 'true'\n    fluxcd.io/tag.app: semver:~1\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: {image}\n"
    )


def flow_nest(levels: int) -> str:
    """A value ``levels`` flow collections deep, sequences and mappings taking turns."""
    opening = "".join("[" if i % 2 == 0 else "{a: " for i in range(levels))
    closing = "".join("]" if i % 2 == 0 else "}" for i in reversed(range(levels)))
    return opening + "x" + closing


def block_nest(levels: int, *, compact: bool = False, value: str = "x") -> str:
    """Top-level key ``deep`` holding ``levels`` block collections (the document root is one
    more): nested mappings one column apart, or compact sequences ``- - - x``."""
    if compact and levels:
        return "deep:\n" + "- " * levels + value + "\n"
    lines = ["deep:"] + [" " * (i + 1) + f"k{i}:" for i in range(levels)]
    return "\n".join(lines) + " " + value + "\n"


def refusal(text: str) -> str:
    """The one problem a hostile file gives, checking it is the only outcome."""
    targets, problems = scan_text(text, "hostile.yaml")
    assert targets == []
    assert len(problems) == 1, problems
    assert problems[0].file == "hostile.yaml" and problems[0].line is not None
    return problems[0].message


# -- nesting depth ----------------------------------------------------------------------------


@pytest.mark.rig  # a child process: on the old code the whole interpreter died with signal 11
@pytest.mark.timeout(120)
def test_one_hundred_thousand_levels_are_a_problem_not_a_crash(tmp_path: Path) -> None:
    """The campaign's case: the process survives and names the file and line."""
    deep = tmp_path / "deep.yaml"
    deep.write_text(workload() + "  x: " + flow_nest(100_000) + "\n")
    code = (
        "import sys; from imagebot.manifest import scan_text; "
        "t, p = scan_text(open(sys.argv[1]).read(), 'deep.yaml'); print(len(t), p[0])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(deep)],
        check=False,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("0 deep.yaml:14: refused: nested deeper than 256 levels")


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("make", "levels"),
    [
        pytest.param(lambda n: "deep: " + flow_nest(n) + "\n", MAX_DEPTH - 1, id="flow-at-limit"),
        pytest.param(block_nest, MAX_DEPTH - 1, id="block-at-limit"),
        pytest.param(lambda n: block_nest(n, compact=True), MAX_DEPTH - 1, id="compact-at-limit"),
        pytest.param(lambda n: "{deep: " + flow_nest(n) + "}\n", MAX_DEPTH - 1, id="flow-root"),
    ],
)
def test_nesting_up_to_the_limit_is_read(make: Callable[[int], str], levels: int) -> None:
    """The root plus ``levels`` collections: exactly MAX_DEPTH, still composed."""
    assert len(compose_documents(make(levels))) == 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("deep: " + flow_nest(MAX_DEPTH) + "\n", id="flow-one-over"),
        pytest.param(block_nest(MAX_DEPTH), id="block-one-over"),
        pytest.param(block_nest(MAX_DEPTH, compact=True), id="compact-one-over"),
        pytest.param(block_nest(3_000, compact=True), id="compact-far-over"),
        # Only the pure parser reads ``{image: a:b}``: its events are checked too.
        pytest.param("x: {image: a:b}\ndeep: " + flow_nest(MAX_DEPTH) + "\n", id="pure-parser"),
        pytest.param("\ufeffdeep: " + flow_nest(MAX_DEPTH) + "\n", id="bom"),
        pytest.param(block_nest(MAX_DEPTH).replace("\n", "\r\n"), id="crlf"),
        pytest.param("a:\tb\ndeep: " + flow_nest(MAX_DEPTH) + "\n", id="tab-separator"),
    ],
)
def test_nesting_past_the_limit_is_refused_before_composing(text: str) -> None:
    with pytest.raises(UnsafeYamlError, match=f"nested deeper than {MAX_DEPTH} levels") as error:
        compose_documents(text.removeprefix("\ufeff"))
    assert error.value.line is not None and error.value.line >= 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "noise",
    [
        pytest.param("note: '" + "[{" * 2_000 + "'\n", id="single-quoted"),
        pytest.param('note: "' + "[{" * 2_000 + '"\n', id="double-quoted"),
        pytest.param("# " + "[{" * 2_000 + "\n", id="comment"),
        pytest.param("note: |\n  " + "[{" * 2_000 + "\n", id="block-scalar"),
        pytest.param("note: |\n" + "".join(" " * 80 + "- x\n" for _ in range(3)), id="indented"),
        pytest.param("note: plain" + "[{" * 2_000 + "\n", id="plain"),
    ],
)
def test_brackets_that_nest_nothing_are_no_reason_to_refuse(noise: str) -> None:
    """Past the cheap bound, the parser's own events decide: strings, comments and block
    scalars hold brackets and indentation without nesting."""
    targets, problems = scan_text(workload(extra=noise), "noisy.yaml")
    assert [t.image.tag for t in targets] == ["1.0.0"] and problems == []


@settings(max_examples=examples(60), deadline=None)
@given(
    block=st.integers(min_value=0, max_value=MAX_DEPTH + 40),
    flow=st.integers(min_value=0, max_value=MAX_DEPTH + 40),
    compact=st.booleans(),
)
@pytest.mark.timeout(300)
def test_depth_is_refused_exactly_past_the_limit(block: int, flow: int, compact: bool) -> None:
    """Block levels, then flow levels inside them: refused iff the root and both pass MAX_DEPTH."""
    text = block_nest(block, compact=compact, value=flow_nest(flow) if flow else "x")
    if 1 + block + flow > MAX_DEPTH:
        with pytest.raises(UnsafeYamlError):
            compose_documents(text)
    else:
        assert len(compose_documents(text)) == 1


# -- cycles and bombs -------------------------------------------------------------------------

CYCLES = [
    pytest.param("loop: &a\n  <<: *a\n", id="mapping-merges-itself"),
    pytest.param("loop: &a\n  inner:\n    <<: *a\n", id="child-merges-parent"),
    pytest.param("loop: &a\n  <<: [&b {<<: *a, q: 1}]\n  z: 1\n<<: *a\n", id="mutual-merge"),
    pytest.param("loop: &a [1, *a]\n", id="sequence-holds-itself"),
    pytest.param("loop: &a {self: *a}\n", id="mapping-holds-itself"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("extra", CYCLES)
def test_an_anchor_used_inside_itself_is_one_problem(extra: str) -> None:
    """kubectl's YAML reader refuses such anchors too ("value contains itself")."""
    assert "a cycle" in refusal(workload(extra=extra))


def laughs(levels: int, width: int) -> str:
    """The billion laughs through aliases: ``width ** levels`` scalars from a few lines."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int) -> str:
    """Each mapping merges the one before twice: 2 ** levels merges, then the root merges it."""
    lines = ["m0: &m0 {k: v}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i}\n  <<: [*m{i - 1}, *m{i - 1}]\n  k{i}: v")
    return "\n".join(lines) + f"\n<<: *m{levels - 1}\n"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(laughs(9, 10), id="billion-laughs"),
        pytest.param(merge_bomb(40), id="merge-bomb"),
        pytest.param(laughs(40, 2), id="doubling-chain"),
        pytest.param(
            "m0: &m0 {k0: v}\n"
            + "".join(f"m{i}: &m{i}\n  <<: *m{i - 1}\n  k{i}: v\n" for i in range(1, 3_000))
            + "<<: *m2999\n",
            id="long-merge-chain",
        ),
    ],
)
def test_an_alias_bomb_is_one_problem(extra: str) -> None:
    assert "alias bomb" in refusal(workload(extra=extra))


@pytest.mark.timeout(30)
def test_a_merge_chain_within_budget_is_read_through() -> None:
    """200 mappings each merging the one before (a neighbour of the long chain above): the
    container's image comes through all of them, each merged mapping read once."""
    chain = "m0: &m0 {image: " + IMAGE + "}\n"
    chain += "".join(f"m{i}: &m{i}\n  <<: *m{i - 1}\n  k{i}: v\n" for i in range(1, 200))
    text = workload(extra=chain).replace(
        "      - name: app\n        image: " + IMAGE, "      - name: app\n        <<: *m199"
    )
    targets, problems = scan_text(text, "chain.yaml")
    assert problems == [] and [str(t.image) for t in targets] == [IMAGE]


@pytest.mark.timeout(30)
def test_reused_anchors_and_long_lists_are_no_bomb() -> None:
    """Neighbours: one anchored env list shared by 300 containers, and a List of 2,000 written
    out items, stay under the budget (the ratio guards written size)."""
    env = "env: &env [" + ", ".join(f"{{name: E{i}, value: v}}" for i in range(30)) + "]\n"
    containers = "".join(
        f"      - name: c{i}\n        image: example.org/c{i}:1.0\n        env: *env\n"
        for i in range(300)
    )
    shared = workload(extra=env).replace(
        "      - name: app\n        image: " + IMAGE + "\n", containers
    )
    assert len(scan_text(shared, "shared.yaml")[0]) == 300
    items = "".join(
        f"- {{kind: ConfigMap, apiVersion: v1, metadata: {{name: c{i}}}, data: {{k: v}}}}\n"
        for i in range(MAX_EXPANDED_NODES // 10)
    )
    listed = "apiVersion: v1\nkind: List\nitems:\n" + items + "- &w " + "{}\n- *w\n"
    assert scan_text(listed, "list.yaml")[1] == []


@pytest.mark.timeout(30)
def test_a_bad_document_makes_its_whole_file_one_problem() -> None:
    """The good document beside a bomb is not updated either: a file is applied whole, and
    which document holds the trouble is no reason to trust its neighbours."""
    text = workload("good") + "---\n" + workload("bad", extra=laughs(9, 10))
    targets, problems = scan_text(text, "mixed.yaml")
    assert targets == [] and len(problems) == 1
    assert "no image in this file will be updated" in problems[0].message


@pytest.mark.timeout(30)
@pytest.mark.parametrize("extra", [*CYCLES, pytest.param(merge_bomb(40), id="merge-bomb")])
def test_rewriting_a_hostile_text_is_refused(extra: str) -> None:
    """The rewriter composes the text again (it may be fresher than the scan): the same guard."""
    good, _ = scan_text(workload(), "f.yaml")
    hostile = workload(extra=extra)
    with pytest.raises(RewriteError, match="refused"):
        rewrite_text(hostile, "f.yaml", [Update(good[0], "1.1.0")])


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("weird: &ä\u00e9 {k: v}\nagain: *ä\u00e9\n", id="unicode-anchor"),
        pytest.param("a: &x {k: 1}\nb: &x {k: 2}\nc: *x\n", id="reused-anchor-name"),
        pytest.param("huge: " + "y" * 2_000_000 + "\n", id="huge-scalar"),
        pytest.param("star: '*/5 * * * *'\n", id="stars-no-alias"),
    ],
)
def test_odd_but_harmless_yaml_is_read(extra: str) -> None:
    targets, problems = scan_text(workload(extra=extra), "odd.yaml")
    assert [t.image.tag for t in targets] == ["1.0.0"] and problems == []


# -- the merge key reader ---------------------------------------------------------------------


def _recursive_items(text: str) -> list[tuple[str, str]]:
    """What ruamel's own constructor makes of the merges: the reference semantics."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(text)
    return [(str(k), str(v)) for k, v in data["top"].items()]


MERGE_SOURCES = st.lists(
    st.dictionaries(st.sampled_from("abcdef"), st.sampled_from("123"), min_size=1, max_size=3),
    min_size=1,
    max_size=4,
)


@settings(max_examples=examples(80), deadline=None)
@given(sources=MERGE_SOURCES, own=MERGE_SOURCES, order=st.permutations(range(4)))
@pytest.mark.timeout(120)
def test_merged_keys_follow_yamls_precedence(
    sources: list[dict[str, str]], own: list[dict[str, str]], order: list[int]
) -> None:
    """The iterative reader agrees with ruamel's constructor on which value each key has:
    own keys first, then the sources in order, a source's own merges before the next one."""
    from imagebot.manifest import nodes

    lines = []
    for i, source in enumerate(sources):
        body = ", ".join(f"{k}: s{i}{v}" for k, v in source.items())
        merge = f", <<: *s{i - 1}" if i and order[i % 4] % 2 else ""
        lines.append(f"s{i}: &s{i} {{{body}{merge}}}")
    picked = dict.fromkeys(index % len(sources) for index in order)
    refs = ", ".join(f"*s{index}" for index in list(picked)[:3])
    mine = ", ".join(f"{k}: own{v}" for k, v in own[0].items())
    text = "\n".join(lines) + f"\ntop: {{{mine}, <<: [{refs}]}}\n"
    expected = dict(_recursive_items(text))
    root = compose_documents(text)[0]
    top = nodes.get(root, "top")
    got = {nodes.text(k): nodes.text(v) for k, v in nodes.items(top)}
    assert got == expected


# -- end to end -------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_run_updates_the_good_file_beside_hostile_ones(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """One deep, one cyclic and one bomb file cost one problem each; the good one is pushed."""
    pusher.push_tags(unique_repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(hours=1)})
    image = f"{registry.host}/{unique_repo}:1.0.0"
    files = {
        "apps/good.yaml": workload("good", image).encode(),
        "apps/deep.yaml": (workload("deep", image) + "  x: " + flow_nest(100_000) + "\n").encode(),
        "apps/cycle.yaml": workload("cycle", image, CYCLES[2].values[0]).encode(),
        "apps/bomb.yaml": workload("bomb", image, merge_bomb(40)).encode(),
    }
    remote = bare_remote(files)
    proc = imagebot(
        "run", "--repo", remote.as_uri(), "--output", "json", tmp_path=tmp_path, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [c["file"] for c in result["changes"]] == ["apps/good.yaml"]
    assert sorted(p["file"] for p in result["problems"]) == [
        "apps/bomb.yaml",
        "apps/cycle.yaml",
        "apps/deep.yaml",
    ]
    shown = run_git("--git-dir", str(remote), "show", "main:apps/good.yaml")
    assert f"{registry.host}/{unique_repo}:1.1.0" in shown
    assert (
        run_git("--git-dir", str(remote), "show", "main:apps/deep.yaml").encode()
        == files["apps/deep.yaml"]
    )


# -- anything goes ------------------------------------------------------------------------------

FRAGMENTS = st.one_of(
    st.integers(1, MAX_DEPTH + 20).map(lambda n: "deep: " + flow_nest(n) + "\n"),
    st.integers(1, MAX_DEPTH + 20).map(lambda n: block_nest(n, compact=n % 2 == 0)),
    st.builds(laughs, st.integers(1, 12), st.integers(1, 12)),
    st.integers(1, 70).map(merge_bomb),
    st.sampled_from([str(c.values[0]) for c in CYCLES]),
    st.sampled_from(
        [
            "a: &x {k: 1}\nb: *x\n",
            "c: &y [1, 2]\nd: [*y, *y]\n",
            "e: &z {k: v}\nf:\n  <<: [*z]\n  g: h\n",
            "note: '[[[{{{'\n",
            "note: |\n  ]]]}}} ' \"\n",
            "# [[[ &a *a <<\n",
            "t:\tv\n",
        ]
    ),
)


@settings(max_examples=examples(120), deadline=None)
@given(
    fragments=st.lists(FRAGMENTS, max_size=3),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    second=st.booleans(),
)
@pytest.mark.timeout(600)
def test_any_mix_is_read_refused_or_skipped_and_rewrites_stay_exact(
    fragments: list[str], newline: str, bom: bool, second: bool
) -> None:
    """Whatever is mixed in (deep, cyclic, bombs, anchors, noise, TABs, CRLF, a BOM, a second
    document): the scan returns, a hostile file is one refusal, and a rewrite is either refused
    or changes the image and nothing else."""
    # Later fragments may reuse an earlier one's anchor names: YAML lets the later one win.
    text = workload(extra="".join(fragments))
    if second:
        text += "---\n" + workload("other")
    text = ("\ufeff" if bom else "") + text.replace("\n", newline)
    targets, problems = scan_text(text, "mix.yaml")
    refused = [p for p in problems if p.message.startswith("refused:")]
    assert not refused or (targets == [] and len(problems) == 1)
    if not targets:
        return
    try:
        new = rewrite_text(text, "mix.yaml", [Update(t, "1.1.0") for t in targets])
    except RewriteError:
        return
    newer = IMAGE.replace("1.0.0", "1.1.0")
    assert new.replace(newer, IMAGE) == text and new.count(newer) == len(targets)
