"""A Figure (render/figure.py) as SVG text, drawn in-process: no Graphviz, no fonts needed.

Every string from the network goes through quoting.xml_text(); attribute
values are numbers and colours made here. Numbers are written with two
decimals, so the same figure is the same bytes everywhere.
"""

from __future__ import annotations

from .figure import Circle, Figure, Path, Polygon, Text
from .quoting import xml_text


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pt(point) -> str:
    return f"{_n(point[0])},{_n(point[1])}"


def write(figure: Figure) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(figure.width)}pt" '
            f'height="{_n(figure.height)}pt" viewBox="0 0 {_n(figure.width)} {_n(figure.height)}">'
        ),
        f"<title>{xml_text(figure.title)}</title>",
        "<defs>" + "".join(_marker(colour) for colour in _arrow_colours(figure)) + "</defs>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<g font-family="{xml_text(figure.font)}" stroke-linejoin="round">',
    ]
    for shape in figure.shapes:
        out.append(_shape(shape))
    out += ["</g>", "</svg>"]
    return ("\n".join(out) + "\n").encode("utf-8")


def _arrow_colours(figure: Figure) -> list[str]:
    return sorted({shape.stroke for shape in figure.shapes if isinstance(shape, Path) and shape.arrow})


def _marker(colour: str) -> str:
    # one marker per colour: SVG 1.1 viewers cannot colour a marker by the line that uses it
    return (
        f'<marker id="arrow{colour[1:]}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,1 L10,5 L0,9 z" fill="{colour}"/></marker>'
    )


def _shape(shape) -> str:
    if isinstance(shape, Polygon):
        dash = ' stroke-dasharray="3,2"' if shape.dashed else ""
        fill = shape.fill or "none"
        points = " ".join(_pt(p) for p in shape.points)
        return (
            f'<polygon points="{points}" fill="{fill}" stroke="{shape.stroke}" stroke-width="{_n(shape.width)}"{dash}/>'
        )
    if isinstance(shape, Path):
        d = [f"M{_pt(shape.start)}"]
        for piece in shape.pieces:
            d.append(("L" if len(piece) == 1 else "C") + " ".join(_pt(p) for p in piece))
        dash = ' stroke-dasharray="4,3"' if shape.dashed else ""
        arrow = f' marker-end="url(#arrow{shape.stroke[1:]})"' if shape.arrow else ""
        return (
            f'<path d="{" ".join(d)}" fill="none" stroke="{shape.stroke}" '
            f'stroke-width="{_n(shape.width)}"{dash}{arrow}/>'
        )
    if isinstance(shape, Circle):
        return (
            f'<circle cx="{_n(shape.centre[0])}" cy="{_n(shape.centre[1])}" r="{_n(shape.radius)}" '
            f'fill="{shape.fill}" stroke="{shape.stroke}" stroke-width="{_n(shape.width)}"/>'
        )
    if isinstance(shape, Text):
        weight = ' font-weight="bold"' if shape.bold else ""
        x, y = shape.at
        lines = []
        for index, line in enumerate(shape.lines):
            lines.append(
                f'<tspan x="{_n(x)}" y="{_n(y + index * shape.size * shape.line_gap)}">{xml_text(line)}</tspan>'
            )
        return (
            f'<text text-anchor="{shape.anchor}" font-size="{_n(shape.size)}" fill="{shape.colour}"{weight}>'
            + "".join(lines)
            + "</text>"
        )
    raise TypeError(f"no SVG for {type(shape).__name__}")
