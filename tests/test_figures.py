"""The figure formats and styles of issue 19: the blocks style (SVG, TikZ), TikZ of the graph styles,
Mermaid, and label templates; and the registry they are all listed in.

Goldens are never created by a test: a missing one fails. To write one after
reviewing the output, name it: CONVDSL_UPDATE_GOLDEN=tests/golden/figures/unet.blocks.svg pytest tests/test_figures.py
Mermaid is checked by its own parser (the `mermaid` package in Node with jsdom, no browser: tests/mermaid/,
installed by .ci/run, where CONVDSL_REQUIRE_NPM=1 makes a missing npm a failure), by its renderer when the
Mermaid CLI is installed (CONVDSL_MMDC="mmdc -p puppeteer.json" names it) and by a grammar-level check always.
TikZ is compiled with pdflatex when it is installed;
CONVDSL_REQUIRE_TEX=1 (set by .ci/run once it has
installed TeX Live) turns a missing pdflatex into a failure instead of a skip.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, check_golden

import convdsl
from convdsl.render import (
    FormatUnavailable,
    blocks,
    labels,
    make_diagram,
    registry,
    render,
)
from convdsl.render.figure import Path as Line
from convdsl.render.quoting import latex_text, mermaid_text, xml_text

FIGURES = Path(__file__).parent / "golden" / "figures"
ALL_EXAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.cdsl") if p.stem != "resnet_blocks")
SVG = "{http://www.w3.org/2000/svg}"
HAVE_TEX = shutil.which("pdflatex") is not None
needs_tex = pytest.mark.skipif(
    not HAVE_TEX and not os.environ.get("CONVDSL_REQUIRE_TEX"),
    reason="pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-extra texlive-pictures)",
)


def analysis(name: str):
    return convdsl.load(EXAMPLES / f"{name}.cdsl").analyze()


def run(*args, cwd=ROOT):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "convdsl", *map(str, args)], capture_output=True, cwd=cwd, env=env, timeout=300
    )


def golden(name: str, actual: bytes):
    check_golden(FIGURES / name, actual)


def svg_texts(svg: bytes) -> list[str]:
    """Each line of text (a tspan in the blocks style, a text element in Graphviz's SVG)."""
    root = ET.fromstring(svg)
    lines = [t.text or "" for t in root.iter(f"{SVG}tspan")]
    return lines or ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


# the registry ----------------------------------------------------------------------------


def test_every_format_draws_its_styles_and_refuses_the_others():
    a = analysis("lenet")
    for fmt in registry.FORMATS.values():
        for style in registry.STYLES:
            if style in fmt.styles:
                if fmt.name in ("pdf", "png") and not shutil.which("dot"):
                    continue
                assert render(a, fmt.name, style=style)
            else:
                with pytest.raises(FormatUnavailable, match="cannot be written as"):
                    render(a, fmt.name, style=style)


def test_cli_refuses_a_style_the_format_cannot_draw(tmp_path):
    result = run("render", "examples/lenet.cdsl", "--style", "blocks", "-o", tmp_path / "x.dot")
    assert result.returncode == 2 and b"the blocks style cannot be written as DOT" in result.stderr
    assert b"svg, tex, tikz" in result.stderr and not (tmp_path / "x.dot").exists()


@pytest.mark.parametrize(
    "ext, start", [(".svg", b"<?xml"), (".tex", b"\\documentclass"), (".tikz", b"% "), (".mmd", b"%% ")]
)
def test_cli_writes_each_new_format_from_its_extension(tmp_path, ext, start):
    out = tmp_path / f"fig{ext}"
    style = ["--style", "blocks"] if ext != ".mmd" else []
    result = run("render", "examples/unet.cdsl", "--collapse", *style, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(start)


# goldens -------------------------------------------------------------------------------------

GOLDEN_NETWORKS = {"unet": {"collapse": True}, "resnet50": {"collapse": True}, "inception_module": {}}
GOLDEN_FORMATS = [("svg", "blocks"), ("tex", "blocks"), ("tikz", "blocks"), ("mmd", "default")]


@pytest.mark.parametrize("fmt, style", GOLDEN_FORMATS, ids=[f"{f}-{s}" for f, s in GOLDEN_FORMATS])
@pytest.mark.parametrize("name", GOLDEN_NETWORKS)
def test_figure_goldens(name, fmt, style):
    golden(f"{name}.{style}.{fmt}", render(analysis(name), fmt, style=style, **GOLDEN_NETWORKS[name]))


BLOCK_DOCS = {f"docs/{name}-blocks.svg": name for name in ("unet", "resnet50", "vgg16")}


@pytest.mark.parametrize("path", BLOCK_DOCS)
def test_docs_blocks_figures_are_current(path):
    """The README's blocks figures are what `convdsl render --collapse --style blocks` draws now
    (CONVDSL_UPDATE_GOLDEN=docs/unet-blocks.svg redraws one)."""
    check_golden(ROOT / path, render(analysis(BLOCK_DOCS[path]), "svg", style="blocks", collapse=True))


def test_figures_are_the_same_bytes_in_other_processes():
    script = (
        "import sys, convdsl; from convdsl.render import render; "
        "a = convdsl.load('examples/googlenet.cdsl').analyze(); "
        "sys.stdout.buffer.write(render(a, 'svg', style='blocks') + render(a, 'tex', style='blocks') "
        "+ render(a, 'mmd') + render(a, 'tikz', style='paper'))"
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
    assert outputs[0] == outputs[1] and len(outputs[0]) > 10_000


# the blocks style --------------------------------------------------------------------------------


def test_box_sizes_follow_the_stated_scales():
    # by hand: 6 pt for an axis of 1, plus 12 pt per doubling of a spatial size, 5 pt per doubling of channels
    assert blocks.box_size((64, 568, 568)) == (6 + 5 * 6, 6 + 12 * math.log2(568), 6 + 12 * math.log2(568), True)
    w, h, _, exact = blocks.box_size((1024, 28, 28))
    assert (w, h) == (6 + 5 * 10, 6 + 12 * math.log2(28)) and exact
    svg = render(analysis("unet"), "svg", style="blocks")
    assert "12 pt per doubling of the tensor's height and width" in " ".join(svg_texts(svg))
    assert "5 pt per doubling of its channels" in " ".join(svg_texts(svg))


def test_blocks_of_unet_show_every_size_from_inference_and_four_skip_arcs():
    a = analysis("unet")
    diagram = make_diagram(a, registry.options(collapse=True))
    figure = blocks.layout(diagram)
    texts = [line for shape in figure.shapes if hasattr(shape, "lines") for line in shape.lines]
    # the sizes of the paper's Fig. 1, which inference computes
    for shape in (
        "64×568×568",
        "128×280×280",
        "256×136×136",
        "512×64×64",
        "1024×28×28",
        "512×52×52",
        "64×388×388",
        "2×388×388",
    ):
        assert shape in texts, shape
    arcs = [s for s in figure.shapes if isinstance(s, Line) and s.stroke == blocks.GREY]
    assert len(arcs) == 4  # e1..e4 to up4..up1


def test_blocks_fold_repeats_with_their_count():
    texts = svg_texts(render(analysis("resnet50"), "svg", style="blocks", collapse=True))
    assert "bottleneck(64) ×2" in texts and "bottleneck(256) ×5" in texts
    assert "bottleneck(128, stride=2, down=true)" in texts and "512×28×28" in texts


def test_blocks_absorb_activations_and_norms_into_the_box_before():
    texts = svg_texts(render(analysis("inception_module"), "svg", style="blocks"))
    assert texts.count("+ bn + relu") == 6 and "relu" not in texts and "bn" not in texts
    assert "‖" in texts  # the concatenation


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_example_draws_in_blocks_as_well_formed_svg(name):
    a = analysis(name)
    for options in ({}, {"collapse": True}):
        svg = render(a, "svg", style="blocks", **options)
        root = ET.fromstring(svg)
        width, height = float(root.get("width")[:-2]), float(root.get("height")[:-2])
        assert 50 < width < 20000 and 50 < height < 5000
        # every shape inside the drawing
        for polygon in root.iter(f"{SVG}polygon"):
            for pair in polygon.get("points").split():
                x, y = map(float, pair.split(","))
                assert -1 <= x <= width + 1 and -1 <= y <= height + 1, (name, x, y)


def test_blocks_draw_errors_in_red():
    net = convdsl.load(Path(__file__).parent / "golden" / "mistakes.cdsl")
    svg = render(net.analyze(), "svg", style="blocks")
    ET.fromstring(svg)
    assert b"#c62828" in svg and any("E104" in t for t in svg_texts(svg))


# hostile text -----------------------------------------------------------------------------------

HOSTILE = [
    "</text><script>alert(1)</script>",
    "\\input{/etc/passwd}",
    "\\write18{touch pwned}",
    "^^5cinput",
    '"]; click n0 call evil()',
    "a\u0000b\u2028c\ud800",
    "%% not a comment",
    "{}$&#_~<>|`'\"",
    "x -->|y| z",
    "end",
    "é漢字🙂",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_xml_text_round_trips(text):
    parsed = ET.fromstring(f'<t a="{xml_text(text)}">{xml_text(text)}</t>')
    assert parsed.text == parsed.get("a")
    assert "<" not in xml_text(text) and "\x00" not in parsed.text


@pytest.mark.parametrize("text", HOSTILE)
def test_latex_text_runs_no_command(text):
    escaped = latex_text(text)
    assert escaped.isascii()
    # every backslash starts one of the commands that print a character
    commands = set(re.findall(r"\\([A-Za-z]+|.)", escaped))
    assert commands <= {
        "textbackslash",
        "{",
        "}",
        "$",
        "&",
        "#",
        "%",
        "_",
        "textasciicircum",
        "textasciitilde",
        "textless",
        "textgreater",
        "textbar",
        "texttt",
        "char",
        "ensuremath",
        "times",
        "cdot",
        "ldots",
        "rightarrow",
        "|",
        "div",
        "le",
        "ge",
        "pm",
    }, commands
    assert "^^" not in escaped and "\n" not in escaped


@pytest.mark.parametrize("text", HOSTILE)
def test_mermaid_text_cannot_end_the_label(text):
    escaped = mermaid_text(text)
    assert not set(escaped) & set('"<>|`\n\r')
    assert re.sub(r"#(\w+|\d+);", "", escaped).count("#") == 0


def hostile_analysis():
    """A network built through the public builder whose layer, block, input, output and network names
    are the attacks above (the language itself allows only identifiers)."""
    from convdsl.build import NetworkBuilder
    from convdsl.model import Scope
    from convdsl.source import Source, Span

    path, text = "hostile.cdsl", "input x: 3 x 16 x 16\n" + "y = x -> conv(4, 3)\n" * 3
    span = Span(path, 2, 10, 2, 20)
    names = [f"{h}·{i}" for i, h in enumerate(HOSTILE * 2)]
    inp, out = names[0], names[1]
    block = Scope(names[2], "block", names[3], ((None, names[4]), (names[5], 2)))
    builder = NetworkBuilder(path, name=HOSTILE[1] + HOSTILE[2], sources={path: Source(path, text)})
    previous = builder.input(inp, (3, 16, 16), span=span)
    for index, name in enumerate(names[6:]):
        (previous,) = builder.layer(
            "conv",
            [previous],
            4,
            3,
            padding=1,
            name=name,
            label=name,
            scopes=(block,) if index % 2 else (),
            span=Span(path, 2, 10 + index, 2, 11 + index),
        )
    builder.output(out, previous, span=span)
    return builder.network().analyze()


def test_hostile_names_stay_text_in_every_format():
    a = hostile_analysis()
    for style in ("default", "blocks"):
        svg = render(a, "svg", style=style)
        texts = " ".join(svg_texts(svg))
        assert "<script>" in texts and "\\write18{touch pwned}" in texts  # shown, as text
        assert b"<script" not in svg
    mmd = render(a, "mmd").decode()
    check_mermaid(mmd)
    assert "<script" not in mmd and '"]; click' not in mmd
    for style in ("paper", "blocks"):
        for fmt in ("tex", "tikz"):
            tex = render(a, fmt, style=style).decode()
            assert "\\input{" not in tex and "\\write18" not in tex and "^^5c" not in tex
    assert render(a, "mmd", collapse=True) and render(a, "svg", style="blocks", collapse=True)


@needs_tex
def test_hostile_names_compile_to_literal_text(tmp_path):
    a = hostile_analysis()
    for style in ("default", "blocks"):
        tex = tmp_path / f"h-{style}.tex"
        tex.write_bytes(render(a, "tex", style=style))
        compiled = _pdflatex(tex)
        assert compiled.returncode == 0, compiled.stdout[-2000:]
        assert not (tmp_path / "pwned").exists() and not (ROOT / "pwned").exists()
        text = (
            subprocess.run(["pdftotext", str(tex.with_suffix(".pdf")), "-"], capture_output=True, text=True).stdout
            if shutil.which("pdftotext")
            else "write18"
        )
        assert "write18" in text


# TikZ -----------------------------------------------------------------------------------------------


def _pdflatex(tex: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tex.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_tex
@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_example_compiles_with_pdflatex(tmp_path, name):
    a = analysis(name)
    for style, options in (("blocks", {"collapse": True}), ("default", {}), ("paper", {"collapse": True})):
        tex = tmp_path / f"{name}-{style}.tex"
        tex.write_bytes(render(a, "tex", style=style, **options))
        result = _pdflatex(tex)
        assert result.returncode == 0, (style, result.stdout[-3000:])
        assert tex.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
        assert "Overfull" not in result.stdout or style != "blocks"


@needs_tex
def test_the_tikz_picture_inputs_into_a_paper(tmp_path):
    (tmp_path / "fig.tikz").write_bytes(render(analysis("inception_module"), "tikz", style="blocks"))
    paper = tmp_path / "paper.tex"
    paper.write_text(
        "\\documentclass{article}\n\\usepackage{tikz}\n\\begin{document}\n"
        "\\begin{figure}\\centering\\resizebox{\\linewidth}{!}{\\input{fig.tikz}}"
        "\\caption{Inception.}\\end{figure}\n\\end{document}\n"
    )
    result = _pdflatex(paper)
    assert result.returncode == 0, result.stdout[-3000:]


def test_tikz_needs_only_tikz():
    tex = render(analysis("resnet50"), "tex", style="paper", collapse=True).decode()
    code = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    assert re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}", code) == ["tikz"]
    assert "\\usetikzlibrary" not in tex
    body = render(analysis("resnet50"), "tikz", style="blocks", collapse=True).decode()
    assert body.lstrip().startswith("%") and "\\begin{tikzpicture}" in body and "\\documentclass" not in body
    assert "\\fontfamily" not in body and "\\usefont" not in body  # the paper's fonts


# Mermaid ----------------------------------------------------------------------------------------------

_ID = r"[A-Za-z_][\w]*"
_LABEL = r'"[^"\n]*"'
_NODE = re.compile(rf"^(?P<id>{_ID})(?:\(\[{_LABEL}\]\)|\[\[{_LABEL}\]\]|\({_LABEL}\)|>{_LABEL}\])$")
_EDGE = re.compile(rf"^(?P<a>{_ID}) (?:-->|-\.->)\|{_LABEL}\| (?P<b>{_ID})$")
_SUBGRAPH = re.compile(rf"^subgraph (?P<id>{_ID}) \[{_LABEL}\]$")


def check_mermaid(text: str) -> None:
    """A grammar-level check of the flowchart subset convdsl writes: every statement is one the
    flowchart grammar accepts, subgraphs balance, every edge joins declared nodes, ids are unique
    and none is a keyword."""
    lines = text.splitlines()
    assert lines[0].startswith("%% ") and re.fullmatch(r"flowchart (TB|LR)", lines[1])
    declared, depth, edges = set(), 0, 0
    for line in lines[2:]:
        statement = line.strip()
        if m := _SUBGRAPH.match(statement):
            assert m["id"] not in declared
            declared.add(m["id"])
            depth += 1
        elif statement == "end":
            depth -= 1
            assert depth >= 0
        elif re.fullmatch(r"direction (TB|LR)", statement):
            assert depth > 0
        elif m := _NODE.match(statement):
            assert m["id"] not in declared and m["id"].lower() not in ("end", "graph", "subgraph", "class")
            declared.add(m["id"])
        elif m := _EDGE.match(statement):
            assert m["a"] in declared and m["b"] in declared, statement
            edges += 1
        elif m := re.fullmatch(r"linkStyle (\d+) [\w:#,.-]+", statement):
            assert int(m[1]) < edges
        elif m := re.fullmatch(rf"classDef ({_ID}) [\w:#,.-]+", statement):
            pass
        elif m := re.fullmatch(rf"class ({_ID}(?:,{_ID})*) ({_ID})", statement):
            assert set(m[1].split(",")) <= declared
        elif m := re.fullmatch(rf"style ({_ID}) [\w:#,.-]+", statement):
            assert m[1] in declared
        else:
            raise AssertionError(f"not a flowchart statement: {statement!r}")
    assert depth == 0 and edges > 0


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_example_is_a_valid_mermaid_flowchart(name):
    a = analysis(name)
    for options in ({}, {"collapse": True, "direction": "LR"}, {"depth": 1, "style": "paper"}):
        mmd = render(a, "mmd", **options).decode()
        check_mermaid(mmd)


def test_mermaid_shows_blocks_as_subgraphs_and_shapes_on_edges():
    mmd = render(analysis("inception_module"), "mmd").decode()
    assert 'subgraph cluster_0 ["branch1: basic(64)"]' in mmd
    assert 'n0 -->|"192×28×28"| n1' in mmd
    check_mermaid(render(convdsl.load(Path(__file__).parent / "golden" / "mistakes.cdsl").analyze(), "mmd").decode())


# labels ----------------------------------------------------------------------------------------------------


def test_label_templates():
    template = labels.parse("{kind}\\n{out} · {macs}")
    values = {"kind": "conv 3×3, 64", "out": "64×56×56", "macs": "118M MACs", "params": ""}
    assert labels.fill(template, values) == ("conv 3×3, 64", "64×56×56 · 118M MACs")
    assert labels.fill(template, {**values, "macs": ""}) == ("conv 3×3, 64", "64×56×56")
    assert labels.fill(labels.parse("{params}\n{{literal}}: {name}"), {"name": "fc"}) == ("{literal}: fc",)
    for bad, message in (
        ("{kind.__class__}", "unknown label field"),
        ("{0}", "unknown label field"),
        ("{kind", "unknown label field"),
        ("kind}", "without its"),
        ("plain", "names no field"),
        ("{kind}" * 200, "at most"),
    ):
        with pytest.raises(labels.TemplateError, match=message):
            labels.parse(bad)


def test_labels_apply_to_every_style():
    a = analysis("lenet")
    template = "{name}: {kind}\\n{in} → {out}\\n{params} {macs}"
    dot = render(a, "dot", label=template).decode()
    assert "conv1: conv 5×5, 6\\n1×32×32 → 6×28×28\\n156 params 118K MACs" in dot
    texts = svg_texts(render(a, "svg", style="blocks", label=template))
    assert "conv1: conv 5×5, 6" in texts and "156 params 118K MACs" in texts
    assert "fc1: fc 120" in texts, texts
    assert "conv1: conv 5×5, 6<br>1×32×32 → 6×28×28" in render(a, "mmd", label=template).decode()


def test_cli_label(tmp_path):
    out = tmp_path / "l.dot"
    result = run("render", "examples/lenet.cdsl", "--label", "{kind} {macs}", "-o", out)
    assert result.returncode == 0, result.stderr
    assert '"conv 5×5, 6 118K MACs"' in out.read_text()
    result = run("render", "examples/lenet.cdsl", "--label", "{kind.__init__}", "-o", out)
    assert result.returncode == 2 and b"unknown label field" in result.stderr and b"Traceback" not in result.stderr


# Mermaid's own parser -------------------------------------------------------------------------


def _mmdc() -> list[str] | None:
    """The Mermaid CLI (`@mermaid-js/mermaid-cli`, which drives a headless Chromium), if installed:
    CONVDSL_MMDC names the command (and any arguments, such as `-p puppeteer.json`), else `mmdc` on PATH."""
    import shlex

    if os.environ.get("CONVDSL_MMDC"):
        return shlex.split(os.environ["CONVDSL_MMDC"])
    found = shutil.which("mmdc")
    return [found] if found else None


@pytest.mark.skipif(
    _mmdc() is None and not os.environ.get("CONVDSL_REQUIRE_MERMAID"),
    reason="the Mermaid CLI is not installed (npm install @mermaid-js/mermaid-cli; set CONVDSL_MMDC)",
)
def test_mermaid_itself_draws_every_example(tmp_path):
    """Every zoo network, folded and not, and the hostile network, drawn by Mermaid's own parser and
    renderer: one Markdown file of charts, one run of the CLI (it stops at the first chart it cannot parse)."""
    charts = [
        render(analysis(name), "mmd", **options).decode()
        for name in ALL_EXAMPLES
        for options in ({}, {"collapse": True, "direction": "LR"})
    ]
    charts.append(render(hostile_analysis(), "mmd").decode())
    charts.append(render(convdsl.load(Path(__file__).parent / "golden" / "mistakes.cdsl").analyze(), "mmd").decode())
    source = tmp_path / "charts.md"
    source.write_text("".join(f"```mermaid\n{chart}```\n\n" for chart in charts))
    result = subprocess.run(
        [*_mmdc(), "-i", str(source), "-o", str(tmp_path / "out.md"), "-q"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    drawn = sorted(tmp_path.glob("out-*.svg"), key=lambda p: int(p.stem.split("-")[1]))
    assert len(drawn) == len(charts)
    hostile = drawn[-2].read_text()
    assert "<script" not in hostile and "&lt;/script&gt;" in hostile


MERMAID = Path(__file__).parent / "mermaid"


def test_mermaid_parser_reads_every_example(tmp_path):
    """Every zoo network, folded and not, the hostile network and the golden mistakes, read by Mermaid's own
    parser (the `mermaid` package pinned in tests/mermaid/package-lock.json, run in Node with jsdom: no
    browser); and a chart with an error is refused by it, so the parser is really there."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        if os.environ.get("CONVDSL_REQUIRE_NPM"):
            pytest.fail("CONVDSL_REQUIRE_NPM is set but node or npm is not installed")
        pytest.skip("node and npm are not installed")
    if not (MERMAID / "node_modules" / "mermaid").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=MERMAID, check=True, timeout=900, capture_output=True
        )
    charts = {
        f"{name}{'-folded' if options else ''}": render(analysis(name), "mmd", **options)
        for name in ALL_EXAMPLES
        for options in ({}, {"collapse": True, "direction": "LR"})
    }
    charts["hostile"] = render(hostile_analysis(), "mmd")
    charts["mistakes"] = render(convdsl.load(Path(__file__).parent / "golden" / "mistakes.cdsl").analyze(), "mmd")
    files = []
    for name, chart in charts.items():
        files.append(tmp_path / f"{name}.mmd")
        files[-1].write_bytes(chart)
    broken = tmp_path / "broken.mmd"
    broken.write_text(charts["lenet"].decode().replace("-->", "--", 1))
    result = subprocess.run(
        [node, str(MERMAID / "check.mjs"), *map(str, files)], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert result.stdout.count("(flowchart") == len(files), result.stdout[-3000:]
    refused = subprocess.run(
        [node, str(MERMAID / "check.mjs"), str(broken)], capture_output=True, text=True, timeout=300, check=False
    )
    assert refused.returncode == 1 and "FAIL" in refused.stdout, refused.stdout + refused.stderr


# labels fit in the blocks style ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_blocks_labels_do_not_overlap_in_dejavu(name):
    """Each label measured in the wider of DejaVu Sans and Serif (the fallback a viewer without the named
    font draws) stays clear of the labels beside it."""
    from convdsl.render import measure
    from convdsl.render.figure import Text

    for options in ({}, {"collapse": True}):
        figure = blocks.layout(make_diagram(analysis(name), registry.options(**options)))
        spans: dict[float, list[tuple[float, float, str]]] = {}
        for shape in figure.shapes:
            if isinstance(shape, Text) and shape.anchor == "middle":
                for index, line in enumerate(shape.lines):
                    y = round(shape.at[1] + index * shape.size * shape.line_gap, 1)
                    half = measure.width(line, shape.size) / 2
                    spans.setdefault(y, []).append((shape.at[0] - half, shape.at[0] + half, line))
        for row in spans.values():
            row.sort()
            for (_, right, a), (left, _, b) in itertools.pairwise(row):
                assert right <= left, (name, options, a, b)
        assert figure.width >= max(r for row in spans.values() for _, r, _ in row)


def test_a_figure_too_large_for_tex_says_how_to_fold_it(tmp_path):
    path = tmp_path / "long.cdsl"
    path.write_text("input x: 3 x 32 x 32\noutput y = x -> conv(8, 3, p=1) * 300\n")
    a = convdsl.load(path).analyze()
    with pytest.raises(FormatUnavailable, match="TeX cannot draw beyond 16,000 pt.*--collapse"):
        render(a, "tex", style="blocks")
    assert render(a, "tex", style="blocks", collapse=True).startswith(b"\\documentclass")
    result = run("render", path, "--style", "blocks", "-o", tmp_path / "long.tex")
    assert result.returncode == 2 and b"--collapse" in result.stderr and not (tmp_path / "long.tex").exists()


def test_blocks_need_no_graphviz(monkeypatch):
    from convdsl.render import wasm

    monkeypatch.setattr(wasm, "available", lambda: False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FormatUnavailable):
        render(analysis("lenet"), "svg")  # the graph style needs a Graphviz
    for fmt in ("svg", "tex", "tikz"):
        assert render(analysis("lenet"), fmt, style="blocks")
    assert render(analysis("lenet"), "mmd")
