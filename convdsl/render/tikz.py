"""The writer of TikZ: `.tex`, a standalone LaTeX file that pdflatex compiles, and `.tikz`, just the
`tikzpicture`, to `\\input` into a paper so that the figure is set in the paper's own fonts.

Both styles are drawn from the same Figure of plain shapes (render/figure.py):
the blocks style from its own layout (render/blocks.py), the graph styles from
the positions Graphviz gives their DOT (render/graph_figure.py). Every string
from the network goes through quoting.latex_text(), which leaves no TeX
command, group or maths in it; the picture uses only TikZ's built-in arrow
tips and xcolor's HTML colours, so it needs nothing but `\\usepackage{tikz}`.
"""

from __future__ import annotations

from .diagram import Diagram
from .figure import Circle, Figure, Path, Polygon, Text
from .quoting import latex_text
from .registry import FormatUnavailable, Options, Style

TEX_LIMIT = 16000.0  # points: TeX's lengths end at 16383.99998 pt, and TikZ computes every coordinate as one

STANDALONE = "\\documentclass[border=4pt]{standalone}\n\\usepackage{tikz}\n\\begin{document}\n"


def available(fmt: str, style: Style) -> None:
    if style.figure == "graph":
        from . import graph_figure

        graph_figure.available()


def write(diagram: Diagram, fmt: str, options: Options) -> bytes:
    from . import styles

    if options.style == "blocks":
        from . import blocks

        figure, family = blocks.layout(diagram, custom_labels=options.label is not None), "\\sffamily"
    else:
        from . import graph_figure

        figure = graph_figure.layout(diagram, options)
        family = "\\rmfamily" if styles.STYLES[options.style].font == "Times" else "\\sffamily"
    if max(figure.width, figure.height) > TEX_LIMIT:
        raise FormatUnavailable(
            f"the figure is {figure.width:,.0f} x {figure.height:,.0f} pt, and TeX cannot draw "
            f"beyond {TEX_LIMIT:,.0f} pt (about 5.6 m); fold it with --collapse or --depth N, "
            "or write .svg"
        )
    picture = picture_text(figure, family)
    if fmt == "tex":
        return (STANDALONE + picture + "\\end{document}\n").encode("ascii")
    return picture.encode("ascii")


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pt(point) -> str:
    return f"({_n(point[0])},{_n(point[1])})"


class _Colours:
    """Colours named once each (`c0`, `c1`, ...), in the order they are first used."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def __call__(self, colour: str) -> str:
        if colour not in self.names:
            self.names[colour] = f"c{len(self.names)}"
        return self.names[colour]

    def definitions(self) -> list[str]:
        return [f"\\definecolor{{{name}}}{{HTML}}{{{colour[1:].upper()}}}" for colour, name in self.names.items()]


def picture_text(figure: Figure, family: str) -> str:
    colour = _Colours()
    body = []
    for shape in figure.shapes:
        body.append(_shape(shape, colour, family))
    head = [
        f"% {latex_text(figure.title)}",
        "% drawn by convdsl; needs \\usepackage{tikz}. Lengths are in points; text takes the document's fonts.",
        (
            "\\begin{tikzpicture}[x=1pt, y=-1pt, line join=round, line cap=round, "
            "every node/.style={inner sep=0pt, outer sep=0pt}]"
        ),
    ]
    # the picture's extent, so that the figure is as large as the SVG whatever is inside it
    corners = f"\\path[use as bounding box] (0,0) rectangle {_pt((figure.width, figure.height))};"
    return "\n".join(head + colour.definitions() + [corners] + body + ["\\end{tikzpicture}"]) + "\n"


def _shape(shape, colour: _Colours, family: str) -> str:
    if isinstance(shape, Polygon):
        options = [f"line width={_n(shape.width)}pt", f"draw={colour(shape.stroke)}"]
        if shape.fill:
            options.append(f"fill={colour(shape.fill)}")
        if shape.dashed:
            options.append("dashed")
        if shape.rounded:
            options.append(f"rounded corners={_n(shape.rounded)}pt")
        return f"\\path[{', '.join(options)}] " + " -- ".join(_pt(p) for p in shape.points) + " -- cycle;"
    if isinstance(shape, Path):
        options = [f"line width={_n(shape.width)}pt", f"draw={colour(shape.stroke)}"]
        if shape.arrow:
            options.append("-stealth")
        if shape.dashed:
            options.append("dashed")
        parts = [_pt(shape.start)]
        for piece in shape.pieces:
            if len(piece) == 1:
                parts.append(f"-- {_pt(piece[0])}")
            else:
                parts.append(f".. controls {_pt(piece[0])} and {_pt(piece[1])} .. {_pt(piece[2])}")
        return f"\\path[{', '.join(options)}] " + " ".join(parts) + ";"
    if isinstance(shape, Circle):
        return (
            f"\\path[line width={_n(shape.width)}pt, draw={colour(shape.stroke)}, fill={colour(shape.fill)}] "
            f"{_pt(shape.centre)} circle[radius={_n(shape.radius)}pt];"
        )
    if isinstance(shape, Text):
        anchor = {"start": "base west", "middle": "base", "end": "base east"}[shape.anchor]
        weight = "\\bfseries" if shape.bold else ""
        font = f"{family}\\fontsize{{{_n(shape.size)}}}{{{_n(shape.size * 1.2)}}}\\selectfont{weight}"
        x, y = shape.at
        nodes = []
        for index, line in enumerate(shape.lines):
            at = (x, y + index * shape.size * shape.line_gap)
            nodes.append(
                f"\\node[anchor={anchor}, text={colour(shape.colour)}, "
                f"font={{{font}}}] "
                f"at {_pt(at)} {{{latex_text(line)}}};"
            )
        return "\n".join(nodes)
    raise TypeError(f"no TikZ for {type(shape).__name__}")
