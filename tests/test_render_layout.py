"""The graph style's layout: every label fits its box in a wide fallback font, small
networks are drawn whole, figures keep a page's proportions, encoder-decoders are drawn as a U.

The fonts' widths come from the font files (fonts-dejavu-core, read by fontTools), not
from the renderer's table; without them these tests skip, unless CONVDSL_REQUIRE_FONTS=1
(set by .ci/run once it has installed them).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import font_reference as fonts
import pytest
from conftest import EXAMPLES

import convdsl
from convdsl.render import measure, registry, render, to_dot, wasm
from convdsl.render.diagram import build
from convdsl.render.fold import Folding

SVG = "{http://www.w3.org/2000/svg}"
STYLES = [name for name, style in registry.STYLES.items() if style.figure == "graph"]  # what this file checks
ZOO = sorted(p.stem for p in EXAMPLES.glob("*.cdsl") if p.stem != "resnet_blocks")
HAVE_FONTS = all(fonts.font_path(name) for name in fonts.FONTS)
needs_fonts = pytest.mark.skipif(
    not HAVE_FONTS and not os.environ.get("CONVDSL_REQUIRE_FONTS"),
    reason="DejaVu Sans and Serif are not installed (apt-get install fonts-dejavu-core)",
)
try:
    import fontTools  # noqa: F401
except ImportError:  # pragma: no cover - the test extra installs it
    needs_fonts = pytest.mark.skip(reason="fontTools is not installed (pip install '.[test]')")


def analysis(name: str):
    return convdsl.load(EXAMPLES / f"{name}.cdsl").analyze()


def size(svg: bytes) -> tuple[float, float]:
    width, height = re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return float(width), float(height)


# the shipped widths ---------------------------------------------------------------------


@needs_fonts
def test_the_shipped_table_is_the_font_files():
    """convdsl/render/fontwidths.py holds the wider advance of DejaVu Sans and Serif for
    every character it covers (CONVDSL_UPDATE_GOLDEN=convdsl/render/fontwidths.py regenerates it from the fonts)."""
    from pathlib import Path

    from conftest import check_golden

    check_golden(Path(measure.__file__).with_name("fontwidths.py"), fonts.table_source())
    for text in ("bottleneck(256, stride=2, down=true)", "conv 3×3/2, 64", "2048×7×7", "layer3.1–5 · ×5 → é"):
        for name in fonts.FONTS:
            assert measure.width(text, 10) >= fonts.width(text, 10, name) - 1e-9


def test_graphviz_reserves_what_the_model_says():
    """measure.estimate is what this Graphviz reserves for a label in a font list, read from xdot."""
    texts = ["bottleneck(256, stride=2, down=true)", "conv 3×3/2, 64 · 9.41K params", 'a\\b "q" {x}', "layer3.1–5"]
    nodes = "; ".join(
        f"n{i} [label={quote}]"
        for i, quote in enumerate('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in texts)
    )
    xdot = wasm.render(
        f'digraph {{ node [fontname="Helvetica,Arial,sans-serif", fontsize=10]; {nodes} }}', "xdot"
    ).decode()
    found = {
        int(n): float(w)
        for n, w in re.findall(
            r'\bn(\d+)\t\[_draw_="[^"]*",\s*_ldraw_="F [^"]*? T \S+ \S+ \S+ '
            r"([\d.]+) ",
            xdot,
        )
    }
    for i, text in enumerate(texts):
        assert measure.estimate(text, 10) == pytest.approx(found[i], abs=0.02), text


def test_padding_gives_the_room_asked_for():
    for text in ("64×56×56", "x", "", "bottleneck(128, stride=2, down=true)", "中文"):
        padded = measure.centred(text, 10, gap=2)
        assert padded.strip(" ") == text
        assert measure.estimate(padded, 10) >= measure.width(text, 10) + 4 - 1e-9
        assert len(padded) - len(padded.lstrip(" ")) == len(padded) - len(padded.rstrip(" "))


# every label fits ----------------------------------------------------------------------------


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", text)]


def _outline(group) -> tuple[float, float, float, float]:
    """x0, x1, y0, y1 of the first shape (ellipse, path or polygon) of a node or cluster."""
    for element in group.iter():
        if element.tag == f"{SVG}ellipse":
            cx, cy, rx, ry = (float(element.get(k)) for k in ("cx", "cy", "rx", "ry"))
            return cx - rx, cx + rx, cy - ry, cy + ry
        if element.tag in (f"{SVG}path", f"{SVG}polygon"):
            values = _numbers(element.get("d") or element.get("points"))
            xs, ys = values[0::2], values[1::2]
            return min(xs), max(xs), min(ys), max(ys)
    raise AssertionError("no outline")


def _curve(d: str) -> list[tuple[float, float]]:
    """Points along an edge's path (`M x,y C x,y x,y x,y ...`), 20 per cubic piece."""
    values = _numbers(d)
    points = list(zip(values[0::2], values[1::2]))
    out = [points[0]]
    for i in range(1, len(points) - 2, 3):
        p0, p1, p2, p3 = points[i - 1], points[i], points[i + 1], points[i + 2]
        for k in range(1, 21):
            t = k / 20
            out.append(
                tuple(
                    (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * e
                    for a, b, c, e in zip(p0, p1, p2, p3)
                )
            )
    return out


def _extent(text_element, font: str) -> tuple[float, float, float, float]:
    """x0, x1 of the visible characters (spaces at the ends drawn but blank), and y0, y1 of the line."""
    text = "".join(text_element.itertext()).replace("\u00a0", " ")
    font_size = float(text_element.get("font-size"))
    x, y = float(text_element.get("x")), float(text_element.get("y"))
    full = fonts.width(text, font_size, font)
    assert full is not None, f"{text!r} has characters {font} lacks"
    anchor = text_element.get("text-anchor", "start")
    start = x - full / 2 if anchor == "middle" else x - full if anchor == "end" else x
    lead = fonts.width(text[: len(text) - len(text.lstrip(" "))], font_size, font)
    trail = fonts.width(text[len(text.rstrip(" ")) :], font_size, font)
    return start + lead, start + full - trail, y - 0.8 * font_size, y + 0.2 * font_size


def overflows(svg: bytes, font: str) -> list[str]:
    """Every label that does not fit its box, cluster or drawing, or that an edge line crosses."""
    root = ET.fromstring(svg)
    page_width, _ = size(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class")
        texts = list(group.iter(f"{SVG}text"))
        if kind in ("node", "cluster") and texts:
            x0, x1, _, _ = _outline(group)
            for element in texts:
                a, b, _, _ = _extent(element, font)
                if a < x0 + 1 or b > x1 - 1:
                    found.append(
                        f"{kind} {group.find(f'{SVG}title').text}: {''.join(element.itertext())!r} "
                        f"spans {a:.1f}..{b:.1f} in a box {x0:.1f}..{x1:.1f}"
                    )
        elif kind == "edge" and texts:
            curve = _curve(next(group.iter(f"{SVG}path")).get("d"))
            for element in texts:
                a, b, top, bottom = _extent(element, font)
                hits = [(x, y) for x, y in curve if top <= y <= bottom and a - 1 <= x <= b + 1]
                if hits:
                    found.append(
                        f"edge {group.find(f'{SVG}title').text}: its line crosses "
                        f"{''.join(element.itertext())!r} at x={hits[0][0]:.1f}"
                    )
        elif kind == "graph":
            for element in texts:
                a, b, _, _ = _extent(element, font)
                if a < -1 or b > page_width + 1:
                    found.append(f"title {''.join(element.itertext())!r} spans {a:.1f}..{b:.1f}")
    return found


FIT_CASES = [
    (name, style, options)
    for name in ZOO
    for style in STYLES
    for options in ({}, {"collapse": True}, {"direction": "LR"})
]


@needs_fonts
@pytest.mark.parametrize(
    "name, style, options",
    FIT_CASES,
    ids=[f"{n}-{s}" + "".join(f"-{k}={v}" for k, v in o.items()) for n, s, o in FIT_CASES],
)
def test_every_label_fits_in_a_wide_fallback_font(name, style, options):
    """Drawn in DejaVu Sans or DejaVu Serif (what a viewer without Helvetica or Times may
    substitute), every label stays inside its box, cluster or drawing, and clear of its edge."""
    svg = render(analysis(name), "svg", style=style, **options)
    for font in fonts.FONTS:
        problems = overflows(svg, font)
        assert not problems, f"{len(problems)} in {font}:\n" + "\n".join(problems[:10])


@needs_fonts
def test_the_check_finds_an_overflow():
    """The measurement is not vacuous: Graphviz's own sizing, without the room the
    renderer asks for, leaves labels that DejaVu overflows."""
    dot = to_dot(analysis("resnet50"), style="paper", collapse=True)
    bare = re.sub(r", width=\"[\d.]+\"", "", dot)
    assert bare != dot
    assert overflows(wasm.render(bare, "svg"), "DejaVuSerif.ttf")


# drawn whole, in a page's proportions --------------------------------------------------------


def _boxes(svg: bytes) -> dict[str, tuple[float, float]]:
    """The centre of every node, by its first line of text."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node":
            x0, x1, y0, y1 = _outline(group)
            texts = ["".join(t.itertext()) for t in group.iter(f"{SVG}text")]
            found.setdefault(texts[0] if texts else group.find(f"{SVG}title").text, ((x0 + x1) / 2, (y0 + y1) / 2))
    return found


def _is_chain(name: str, options: dict) -> bool:
    diagram = build(analysis(name), Folding(collapse=bool(options.get("collapse"))))
    ins, outs = {}, {}
    for link in diagram.links:
        ins[link.head] = ins.get(link.head, 0) + 1
        outs[link.tail] = outs.get(link.tail, 0) + 1
    return max(ins.values()) == 1 and max(outs.values()) == 1


@pytest.mark.parametrize("style", STYLES)
def test_the_small_unet_collapsed_is_drawn_whole_as_a_u(style):
    """U-Net folded (13 boxes) needs no columns and no connectors: the encoder goes down
    on the left, the decoder comes up on the right, each skip runs straight across."""
    dot = to_dot(analysis("unet"), collapse=True, style=style)
    assert "cluster_column" not in dot and not re.search(r"\bj\d+a\b", dot)
    at = _boxes(render(analysis("unet"), "svg", collapse=True, style=style))
    encoder = [at[f"down({c})"] for c in (128, 256, 512, 1024)]
    decoder = [at[f"up(e{i}, {c})"] for i, c in ((1, 64), (2, 128), (3, 256), (4, 512))]
    assert [y for _, y in encoder] == sorted(y for _, y in encoder)  # down the page (SVG y grows down)
    assert [y for _, y in decoder] == sorted(y for _, y in decoder)  # up4 at the top, up1 lowest
    assert max(x for x, _ in encoder + [at["double(64)"]]) < min(x for x, _ in decoder)  # side by side
    levels = [
        ("double(64)", "up(e1, 64)"),
        ("down(128)", "up(e2, 128)"),
        ("down(256)", "up(e3, 256)"),
        ("down(512)", "up(e4, 512)"),
    ]
    for left, right in levels:
        assert at[left][1] == pytest.approx(at[right][1], abs=0.5), (left, right)  # the skip is level
    assert at["down(1024)"][1] > at["down(512)"][1]  # the bottom of the U
    width, height = size(render(analysis("unet"), "svg", collapse=True, style=style))
    assert max(width, height) / min(width, height) < 1.5


def test_a_small_encoder_decoder_of_three_levels_has_no_connectors():
    """The issue's case: a 3-level U-Net of about 30 boxes, collapsed."""
    text = (EXAMPLES / "unet.cdsl").read_text()
    text = text[: text.index("e1 = image")] + (
        "e1 = image -> inc: double(64)\n"
        "e2 = e1 -> down1: down(128)\n"
        "e3 = e2 -> down2: down(256)\n"
        "output segmentation = e3 -> up1: up(e2, 128) -> up2: up(e1, 64) -> outc: conv(classes, 1)\n"
    )
    net = convdsl.loads(text.replace("572", "188"), str(EXAMPLES / "unet3.cdsl"))
    a = net.analyze()
    assert not a.has_errors
    for options in ({"collapse": True}, {}):
        dot = to_dot(a, **options)
        assert "cluster_column" not in dot and not re.search(r"\bj\d+a\b", dot), options
        assert "rank=same" in dot  # drawn as a U


def test_the_unet_layout_is_refused_where_there_is_no_u(tmp_path):
    from convdsl.render import LayoutUnavailable

    with pytest.raises(LayoutUnavailable, match="not an encoder-decoder"):
        to_dot(analysis("resnet50"), layout="unet")
    with pytest.raises(ValueError, match="layout must be one of"):
        to_dot(analysis("lenet"), layout="spiral")
    assert "rank=same" not in to_dot(analysis("unet"), collapse=True, layout="columns")
    assert to_dot(analysis("unet"), collapse=True, layout="unet") == to_dot(analysis("unet"), collapse=True)
    from test_render import run

    result = run("render", "examples/lenet.cdsl", "-o", tmp_path / "x.svg", "--layout", "unet")
    assert result.returncode == 2 and b"not an encoder-decoder" in result.stderr
    assert not (tmp_path / "x.svg").exists()


# Every zoo network, in every graph style, folded and not (the uncollapsed U-Net too: a U whose levels run
# their innermost blocks' layers across the page, as the U-Net paper draws them).
ASPECT_CASES = [(name, style, options) for name in ZOO for style in STYLES for options in ({"collapse": True}, {})]


@pytest.mark.parametrize(
    "name, style, options",
    ASPECT_CASES,
    ids=[f"{n}-{s}" + "".join(f"-{k}={v}" for k, v in o.items()) for n, s, o in ASPECT_CASES],
)
def test_no_figure_is_much_longer_than_twice_its_width(name, style, options):
    """No zoo figure is more than 2:1 either way unless it is a plain chain, which is drawn whole up to a
    page (the inception module folded was 2.23:1 in the paper style, its branches' `params · MACs` lines
    side by side; the U-Net uncollapsed 3.32:1, its blocks drawn down the page)."""
    width, height = size(render(analysis(name), "svg", style=style, **options))
    if not _is_chain(name, options):
        assert max(width, height) / min(width, height) <= 2.0, (width, height)


def test_a_block_a_page_long_is_cut_into_columns_and_continued():
    """ViT-B/16's `encoder` block holds every layer: it is cut where one tensor alone goes on (between two
    encoder blocks), each part after the first titled as continued, so the figure is not a 1:17 column."""
    dot = to_dot(analysis("vit_b_16"))
    columns = len(re.findall(r"subgraph cluster_column_", dot))
    assert columns >= 3
    titles = re.findall(r'label="\s*(encoder: encoder\([^"]*?)\s*"', dot)
    assert titles[0] == "encoder: encoder(197, 768, 12, 3072, 12)"
    assert titles[1:] == ["encoder: encoder(197, 768, 12, 3072, 12) (continued)"] * (len(titles) - 1)
    assert len(titles) == columns - 1 or len(titles) == columns  # the stem's column may hold none of it
    width, height = size(render(analysis("vit_b_16"), "svg"))
    assert max(width, height) / min(width, height) <= 2


def test_the_unet_uncollapsed_is_a_u_of_levels():
    """Each level's double convolution runs across the page on one rank (as in the U-Net paper), the encoder
    on the left going down, the decoder on the right coming up."""
    svg = render(analysis("unet"), "svg")
    at = _boxes(svg)
    width, height = size(svg)
    assert max(width, height) / min(width, height) <= 2
    assert at["image"][0] < at["segmentation"][0]
    dot = to_dot(analysis("unet"))
    rows = [row for row in re.findall(r"\{ rank=same; ([^}]*)\}", dot) if len(row.split(";")) >= 4]
    assert len(rows) >= 9  # 5 encoder levels and 4 decoder ones, each a row of its double's layers


def test_resnet50_left_to_right_keeps_a_turned_page_in_even_rows():
    """`--direction LR` drew ResNet-50 4977 x 1234 pt (4:1) in seven uneven rows."""
    svg = render(analysis("resnet50"), "svg", direction="LR")
    width, height = size(svg)
    assert width / height <= 2 and width < 4000, (width, height)


def test_columns_are_never_cut_through_a_skip():
    """Where a drawing is cut into columns, one tensor alone goes on to the next column."""
    for name in ZOO:
        for options in ({}, {"direction": "LR"}):
            dot = to_dot(analysis(name), **options)
            columns = len(re.findall(r"subgraph cluster_column_", dot))
            leaving = set(re.findall(r"\n +(j\d+)a \[", dot))
            assert len(leaving) == max(0, columns - 1), (name, options)


# words ------------------------------------------------------------------------------------------------


def test_a_symbolic_networks_title_is_short():
    """The title of a network with a symbolic input size named its whole MAC expression
    (`1728*floor((H + 1)/2)*floor((W + 1)/2) + ... MACs`); it now says what the MACs depend on."""
    net = convdsl.loads(
        "input image: 3 x H x W\noutput y = image -> conv(64, 3, s=2, p=1) -> relu -> maxpool(2)"
        " -> conv(128, 3, p=1) -> adaptive_avgpool(1) -> flatten -> linear(10)\n",
        "sym.cdsl",
    )
    a = net.analyze()
    assert "floor" in str(a.macs)  # the expression is long
    for options in ({}, {"collapse": True}):
        dot = to_dot(a, **options)
        title = re.search(r'label="([^"]*)", labelloc="t"', dot).group(1)
        assert "MACs depend on H, W" in title and "floor" not in title
    short = convdsl.loads("input x: 3 x H x 8\noutput y = x -> conv(4, 1)\n", "short.cdsl").analyze()
    assert re.search(r"\d+\*H MACs", to_dot(short))  # a short expression is shown as it is


def test_a_crop_to_another_tensor_names_its_size_not_a_local_name():
    """U-Net's `skip -> center_crop(x)` drew `center_crop like x`, x being a name inside the block."""
    a = analysis("unet")
    headings = {box.heading for box in build(a).boxes}
    assert "center_crop like x" not in headings
    crop = a.layers["up1.center_crop1"]
    assert f"center_crop like {crop.input_shapes[1][0]}×{crop.input_shapes[1][1]}×{crop.input_shapes[1][2]}" in headings


@pytest.mark.parametrize(
    "last, is_u",
    [
        ("d = c -> add(b)\ne = d -> add(a)", True),
        ("d = c -> add(a)\ne = d -> add(b)", False),
        ("d = c -> add(b)\ne = d", False),
    ],
    ids=["nested", "crossing", "one-skip"],
)
def test_a_u_needs_two_skips_nested_like_brackets(last, is_u):
    from convdsl.render import LayoutUnavailable

    text = (
        "input x: 4 x 8 x 8\na = x -> conv(4, 1)\nb = a -> conv(4, 1)\nc = b -> conv(4, 1)\n"
        f"{last}\noutput y = e -> conv(2, 1)\n"
    )
    a = convdsl.loads(text, "u.cdsl").analyze()
    assert not a.has_errors
    if is_u:
        dot = to_dot(a, layout="unet")
        assert dot == to_dot(a) and 'dir="back"' in dot and "rank=same" in dot
    else:
        with pytest.raises(LayoutUnavailable):
            to_dot(a, layout="unet")
        assert 'dir="back"' not in to_dot(a)


FIXTURES = sorted((EXAMPLES.parent / "tests" / "fixtures").rglob("*.cdsl"))


def test_every_fixture_is_drawn_or_refused_in_every_layout():
    """Cycles, errors, symbolic sizes and syntax errors: each layout draws the network, or
    (unet) says it has no U; never a crash."""
    from convdsl.render import LayoutUnavailable

    for path in FIXTURES:
        a = convdsl.load(path).analyze()
        for layout in ("auto", "columns", "unet"):
            for direction in ("TB", "LR"):
                try:
                    dot = to_dot(a, layout=layout, direction=direction, collapse=layout == "columns")
                except LayoutUnavailable:
                    assert layout == "unet"
                    continue
                assert dot.startswith("digraph network {"), path
