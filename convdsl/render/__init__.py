"""Diagrams of a network, in every format and style of the registry (render/registry.py).

    from convdsl.render import render, to_dot
    svg = render(net.analyze(), "svg", style="paper", collapse=True)

Importing this package loads only the registry: no writer, no Graphviz and
no WebAssembly runtime; they are loaded by the first render that needs them.
"""

from __future__ import annotations

from .registry import (
    DIRECTIONS,
    LAYOUTS,
    FormatUnavailable,
    LayoutUnavailable,
    RenderError,
    options,
    writer,
)
from .registry import FORMATS as _FORMATS
from .registry import STYLES as _STYLES

FORMATS = tuple(_FORMATS)  # names, in the registry's order
STYLES = tuple(_STYLES)


def make_diagram(analysis, opts):
    """The format-neutral Diagram of an analysis, folded and labelled as the options say."""
    from ..walk import gc_paused
    from .diagram import build
    from .fold import Folding

    with gc_paused():  # many small objects and no cycles: see network.gc_paused
        made = build(analysis, Folding(collapse=bool(opts.collapse), depth=opts.depth))
    if opts.label is not None:
        from . import labels

        made = labels.apply(made, opts.label)
    return made


def to_dot(
    analysis,
    *,
    style: str = "default",
    direction: str = "TB",
    collapse: bool = False,
    depth: int | None = None,
    layout: str = "auto",
    label: str | None = None,
) -> str:
    """The diagram as DOT text: the same analysis always gives the same bytes.

    style: `default` (coloured by layer family) or `paper` (greyscale, serif,
    compact); direction: `TB` (top to bottom) or `LR`; collapse: draw each block
    instance and each repeat as one node; depth: open only this many levels of
    blocks and labelled groups, folding deeper ones; layout: `auto` (an encoder-decoder
    network as a U, a long one cut into columns), `columns` (never a U) or `unet` (a U,
    or LayoutUnavailable when the network has no such shape); label: a template of
    what each box says (render/labels.py: `"{kind}\\n{out}"`).

    Where a line would run through a cluster's title, the text places that title
    where none runs, as in the SVG: it is laid out (graphviz.source) to find them.
    """
    opts = options(style=style, direction=direction, collapse=collapse, depth=depth, layout=layout, label=label)
    if _STYLES[style].figure != "graph":
        raise ValueError(f"DOT draws the graph styles ({', '.join(_graph_styles())}), not {style!r}")
    from . import graphviz

    return graphviz.source(make_diagram(analysis, opts), opts)


def _graph_styles() -> list[str]:
    return [name for name, style in _STYLES.items() if style.figure == "graph"]


def render(analysis, fmt: str, **given) -> bytes:
    """The diagram in `fmt`, a name in FORMATS; options as for to_dot, and any style in STYLES
    that the format draws.

    Raises FormatUnavailable when this machine cannot make the format or the
    format has no such style (the message says what to do), RenderError when
    the writer fails (a bug in convdsl), ValueError for a bad option.
    """
    opts = options(**given)
    if opts.label is not None:
        from .labels import parse

        parse(opts.label)  # a bad template fails before the work (TemplateError is a ValueError)
    module = writer(fmt, opts.style)  # fail before the work when the format is impossible
    from ..walk import gc_paused

    made = make_diagram(analysis, opts)
    with gc_paused():
        return module.write(made, fmt, opts)


def render_svg(analysis, **given) -> str:
    """The diagram as SVG text (what Jupyter shows for a Network)."""
    return render(analysis, "svg", **given).decode("utf-8")


__all__ = [
    "DIRECTIONS",
    "FORMATS",
    "LAYOUTS",
    "STYLES",
    "FormatUnavailable",
    "LayoutUnavailable",
    "RenderError",
    "make_diagram",
    "render",
    "render_svg",
    "to_dot",
]
