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

import pytest

import convdsl
from convdsl.render import STYLES, measure, render, to_dot, wasm
from convdsl.render.diagram import build
from convdsl.render.fold import Folding

import font_reference as fonts
from conftest import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"
ZOO = sorted(p.stem for p in EXAMPLES.glob("*.cdsl") if p.stem != "resnet_blocks")
HAVE_FONTS = all(fonts.font_path(name) for name in fonts.FONTS)
needs_fonts = pytest.mark.skipif(not HAVE_FONTS and not os.environ.get("CONVDSL_REQUIRE_FONTS"),
                                 reason="DejaVu Sans and Serif are not installed (apt-get install fonts-dejavu-core)")
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
    every character it covers (CONVDSL_UPDATE_GOLDEN=1 regenerates it from the fonts)."""
    from pathlib import Path

    target = Path(measure.__file__).with_name("fontwidths.py")
    source = fonts.table_source()
    if os.environ.get("CONVDSL_UPDATE_GOLDEN"):
        target.write_text(source)
    assert target.read_text() == source
    for text in ("bottleneck(256, stride=2, down=true)", "conv 3×3/2, 64", "2048×7×7", "layer3.1–5 · ×5 → é"):
        for name in fonts.FONTS:
            assert measure.width(text, 10) >= fonts.width(text, 10, name) - 1e-9


def test_graphviz_reserves_what_the_model_says():
    """measure.estimate is what this Graphviz reserves for a label in a font list, read from xdot."""
    texts = ["bottleneck(256, stride=2, down=true)", "conv 3×3/2, 64 · 9.41K params", "a\\b \"q\" {x}", "layer3.1–5"]
    nodes = "; ".join(f"n{i} [label={quote}]" for i, quote in
                      enumerate('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in texts))
    xdot = wasm.render(f'digraph {{ node [fontname="Helvetica,Arial,sans-serif", fontsize=10]; {nodes} }}',
                       "xdot").decode()
    found = {int(n): float(w) for n, w in re.findall(r'\bn(\d+)\t\[_draw_="[^"]*",\s*_ldraw_="F [^"]*? T \S+ \S+ \S+ '
                                                      r'([\d.]+) ', xdot)}
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
            out.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * e
                             for a, b, c, e in zip(p0, p1, p2, p3)))
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
    lead = fonts.width(text[:len(text) - len(text.lstrip(" "))], font_size, font)
    trail = fonts.width(text[len(text.rstrip(" ")):], font_size, font)
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
                    found.append(f"{kind} {group.find(f'{SVG}title').text}: {''.join(element.itertext())!r} "
                                 f"spans {a:.1f}..{b:.1f} in a box {x0:.1f}..{x1:.1f}")
        elif kind == "edge" and texts:
            curve = _curve(next(group.iter(f"{SVG}path")).get("d"))
            for element in texts:
                a, b, top, bottom = _extent(element, font)
                hits = [(x, y) for x, y in curve if top <= y <= bottom and a - 1 <= x <= b + 1]
                if hits:
                    found.append(f"edge {group.find(f'{SVG}title').text}: its line crosses "
                                 f"{''.join(element.itertext())!r} at x={hits[0][0]:.1f}")
        elif kind == "graph":
            for element in texts:
                a, b, _, _ = _extent(element, font)
                if a < -1 or b > page_width + 1:
                    found.append(f"title {''.join(element.itertext())!r} spans {a:.1f}..{b:.1f}")
    return found


FIT_CASES = [(name, style, options) for name in ZOO for style in STYLES
             for options in ({}, {"collapse": True}, {"direction": "LR"})]


@needs_fonts
@pytest.mark.parametrize("name, style, options", FIT_CASES,
                         ids=[f"{n}-{s}" + "".join(f"-{k}={v}" for k, v in o.items()) for n, s, o in FIT_CASES])
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
