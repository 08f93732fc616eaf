"""No line of a figure runs through a cluster's title (`basic(64)`, `layer1`): checked on the SVG Graphviz drew.

The check reads only the SVG, with a reference of its own: each cluster title's
text box from its position, anchor and font size (0.62 em a letter, wider than
the average letter of Helvetica, Arial or DejaVu Sans; from 0.8 em above the
baseline to 0.25 em below), and each edge's path as the cubic Bézier curves the
SVG gives, sampled at 40 points a curve. It does not use convdsl's own title
geometry (render/titles.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from conftest import EXAMPLES

import convdsl
from convdsl.render import render
from convdsl.render.backends import backend_for
from convdsl.render.registry import FormatUnavailable

SVG = "{http://www.w3.org/2000/svg}"

try:
    backend_for("svg")
except FormatUnavailable:  # pragma: no cover - the SVG backend is a dependency
    pytest.skip("no SVG backend", allow_module_level=True)


def title_boxes(root) -> list[tuple[str, float, float, float, float]]:
    """(text, left, top, right, bottom) of every text drawn in a cluster (its title, one per line)."""
    out = []
    for group in root.iter(SVG + "g"):
        if group.get("class") != "cluster":
            continue
        for text in group.findall(SVG + "text"):
            words = "".join(text.itertext()).strip()
            if not words:
                continue
            x, y, size = float(text.get("x")), float(text.get("y")), float(text.get("font-size"))
            width = 0.62 * size * len(words)
            anchor = text.get("text-anchor", "start")
            left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
            out.append((words, left, y - 0.8 * size, left + width, y + 0.25 * size))
    return out


def curve_points(d: str) -> list[tuple[float, float]]:
    """Points along an SVG path of the form Graphviz writes for edges: `M x,y C x,y x,y x,y ...`."""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    points = list(zip(numbers[0::2], numbers[1::2]))
    out = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i : i + 4]
        for k in range(41):
            t = k / 40
            a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
            out.append((a * x0 + b * x1 + c * x2 + e * x3, a * y0 + b * y1 + c * y2 + e * y3))
    return out


def crossings(svg: bytes) -> list[tuple[str, str]]:
    """(edge, title) for each edge whose line runs through a cluster title's text."""
    root = ET.fromstring(svg)
    boxes = title_boxes(root)
    found = []
    for group in root.iter(SVG + "g"):
        if group.get("class") != "edge":
            continue
        name = group.findtext(SVG + "title", default="")
        for path in group.findall(SVG + "path"):
            points = curve_points(path.get("d", ""))
            hit = next(
                (b[0] for b in boxes for x, y in points if b[1] <= x <= b[3] and b[2] <= y <= b[4]),
                None,
            )
            if hit is not None:
                found.append((name, hit))
    return found


def test_the_reference_sees_a_crossing():
    """The check itself: a line drawn through a title is found, one beside it is not."""
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><g class="cluster"><text text-anchor="start" x="10" y="20" '
        b'font-size="10">basic(64)</text></g><g class="edge"><title>a-&gt;b</title>'
        b'<path d="M30,0C30,10 30,30 30,40"/></g><g class="edge"><title>c-&gt;d</title>'
        b'<path d="M80,0C80,10 80,30 80,40"/></g></svg>'
    )
    assert crossings(svg) == [("a->b", "basic(64)")]


def _figure(name: str, style: str, collapse: bool) -> bytes:
    network = convdsl.load(EXAMPLES / f"{name}.cdsl")
    return render(network.analyze(), "svg", style=style, collapse=collapse)


QUICK = {"resnet18", "unet", "vgg16_bn", "gpt2_small", "googlenet", "inception_module"}
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.cdsl") if p.stem != "resnet_blocks")
CASES = [
    pytest.param(
        name,
        style,
        collapse,
        id=f"{name}-{style}{'-collapsed' if collapse else ''}",
        marks=[] if name in QUICK else [pytest.mark.slow],
    )
    for name in NAMES
    for style in ("default", "paper")
    for collapse in (False, True)
]


@pytest.mark.parametrize(("name", "style", "collapse"), CASES)
def test_no_line_runs_through_a_cluster_title(name, style, collapse):
    assert crossings(_figure(name, style, collapse)) == []


def test_the_dot_text_has_the_room_the_svg_is_drawn_with():
    """`--format dot` is the text the SVG is drawn from, titles moved and room given included: Graphviz
    draws the same figure from it."""
    from convdsl.render import to_dot, wasm

    for name in ("inception_module", "mobilenet_v2"):
        a = convdsl.load(EXAMPLES / f"{name}.cdsl").analyze()
        dot = to_dot(a)
        assert render(a, "dot").decode() == dot
        assert wasm.render(dot, "svg") == render(a, "svg")
    assert 'labelloc="b"' in dot or 'labeljust="r"' in dot or "room_" in dot  # MobileNetV2's titles are moved
