"""Every output `convdsl render` can make: its styles, its formats and the writer of each.

This is the one list. The CLI builds its choices and its help from it, the
README's format and style tables are checked against it, and the tests walk
it. It is plain data and imports nothing heavy, so that building the
command-line parser (for `check` too) stays fast: a writer module is named
here and imported only when a figure is drawn.

A writer module has two functions:

    available(fmt: str, style: Style) -> None   # raises FormatUnavailable, saying what to install
    write(diagram: Diagram, fmt: str, options: Options) -> bytes

and receives the format-neutral Diagram (render/diagram.py); whether it goes
through Graphviz, TikZ or its own SVG is its own business.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

DIRECTIONS = ("TB", "LR")
LAYOUTS = ("auto", "columns", "unet")  # how a graph style lays the figure out (render/wrap.py, render/ushape.py)


class RenderError(Exception):
    """A writer failed on a diagram convdsl made (a bug in convdsl)."""


class FormatUnavailable(Exception):
    """The format cannot be made on this machine, or not in this style; the message says why and what to do."""


class LayoutUnavailable(ValueError):
    """The layout asked for does not fit the network's shape; the message says why."""


@dataclass(frozen=True)
class Style:
    """A look of the figure. `figure` says which kind of drawing it is: `graph` (boxes and
    arrows, laid out as a graph) or `blocks` (3-D boxes sized by the tensors, left to right)."""

    name: str
    figure: str  # graph | blocks
    description: str


@dataclass(frozen=True)
class Format:
    """One output format: its name, file extensions and writer module."""

    name: str
    extensions: tuple[str, ...]  # the first is the one documented
    description: str
    needs: str  # what the machine needs beyond `pip install convdsl`, for the README
    writers: tuple[tuple[str, str], ...]  # (figure, writer module): which figures this format draws, and how
    binary: bool = False  # not for a terminal

    def writer_for(self, figure: str) -> str | None:
        return dict(self.writers).get(figure)

    @property
    def styles(self) -> tuple[str, ...]:
        """The names of the styles this format can draw."""
        return tuple(name for name, style in STYLES.items() if self.writer_for(style.figure))


@dataclass(frozen=True)
class Options:
    """What a figure shows, for every format. Validated by options()."""

    style: str = "default"
    direction: str = "TB"
    collapse: bool = False
    depth: int | None = None
    layout: str = "auto"  # auto | columns | unet: see LAYOUTS
    label: str | None = None  # a label template (render/labels.py); None: each style's own labels


STYLES = {
    style.name: style
    for style in (
        Style("default", "graph", "boxes and arrows, coloured by layer family"),
        Style("paper", "graph", "boxes and arrows, greyscale, serif and compact"),
        Style(
            "blocks",
            "blocks",
            "each layer or folded block a 3-D box sized by its output tensor, "
            "skip connections as arcs (the AlexNet, VGG and U-Net papers' figures)",
        ),
    )
}

_GRAPHVIZ = "convdsl.render.graphviz"
_INSTALL_GRAPHVIZ = "the Graphviz program `dot` (`apt-get install graphviz`, `brew install graphviz`)"

FORMATS = {
    fmt.name: fmt
    for fmt in (
        Format(
            "svg",
            (".svg",),
            "a vector image for the web, slides and most editors",
            "nothing (graph styles: Graphviz compiled to WebAssembly, run in-process; blocks: drawn by convdsl)",
            (("graph", _GRAPHVIZ), ("blocks", "convdsl.render.blocks_svg")),
        ),
        Format("pdf", (".pdf",), "a vector document", _INSTALL_GRAPHVIZ, (("graph", _GRAPHVIZ),), binary=True),
        Format("png", (".png",), "a bitmap at 144 dpi", _INSTALL_GRAPHVIZ, (("graph", _GRAPHVIZ),), binary=True),
        Format(
            "dot",
            (".dot", ".gv"),
            "the Graphviz source, to edit or lay out yourself",
            "nothing",
            (("graph", _GRAPHVIZ),),
        ),
        Format(
            "tex",
            (".tex",),
            "a standalone LaTeX document of one TikZ picture, for pdflatex",
            "nothing to write it (graph styles: Graphviz's layout, from the WebAssembly build or `dot`); "
            "TeX Live's latex-base, latex-extra and pictures to compile it",
            (("graph", "convdsl.render.tikz"), ("blocks", "convdsl.render.tikz")),
        ),
        Format(
            "tikz",
            (".tikz",),
            "just the tikzpicture, to \\input into a paper (needs \\usepackage{tikz}), set in the paper's own fonts",
            "as .tex",
            (("graph", "convdsl.render.tikz"), ("blocks", "convdsl.render.tikz")),
        ),
        Format(
            "mmd",
            (".mmd",),
            "a Mermaid flowchart, which GitHub, GitLab and documentation sites draw from a "
            "```mermaid block in Markdown",
            "nothing",
            (("graph", "convdsl.render.mermaid"),),
        ),
    )
}


def format_for_extension(suffix: str) -> str | None:
    """The format a file name's extension (`.svg`, any case) names, if any."""
    suffix = suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.extensions:
            return fmt.name
    return None


def options(**given) -> Options:
    """Options from keyword arguments, checked; raises ValueError saying what is wrong."""
    unknown = set(given) - set(Options.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown option{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}")
    chosen = Options(**given)
    if chosen.style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {chosen.style!r}")
    if chosen.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {chosen.direction!r}")
    if chosen.layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {chosen.layout!r}")
    depth = chosen.depth
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a whole number from 0, not {depth!r}")
    if chosen.label is not None and not isinstance(chosen.label, str):
        raise ValueError(f"label must be a template string, not {chosen.label!r}")
    return chosen


def writer(fmt: str, style: str):
    """The writer module for a format in a style; raises FormatUnavailable when there is none
    or this machine cannot run it."""
    found = FORMATS.get(fmt)
    if found is None:
        raise FormatUnavailable(f"unknown format `{fmt}`; use one of: {', '.join(FORMATS)}")
    module_name = found.writer_for(STYLES[style].figure)
    if module_name is None:
        raise FormatUnavailable(
            f"the {style} style cannot be written as {fmt.upper()}; "
            f"{fmt.upper()} is made in the styles {', '.join(found.styles)}, and the {style} "
            f"style as {', '.join(f.name for f in FORMATS.values() if style in f.styles)}"
        )
    module = importlib.import_module(module_name)
    module.available(fmt, STYLES[style])
    return module
