"""Writes a Diagram as DOT text, in the same bytes for the same diagram.

Identifiers are generated (`n3`, `cluster_1`, `j2a`), never taken from the
file; every attribute value goes through quoting.quote(); no attribute that
makes Graphviz read a file (`image`, `shapefile`, `fontpath`, `imagepath`)
is ever written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import measure, styles
from .diagram import Box, Cluster, Diagram, Link
from .quoting import attrs, label
from .registry import DIRECTIONS
from .styles import Style
from .wrap import Wrapping


@dataclass
class _Part:
    """What one column draws inside a group: unit ids and the parts of nested groups, in order."""

    items: list = field(default_factory=list)
    parts: dict = field(default_factory=dict)  # group id -> _Part, also listed in items


def write(
    diagram: Diagram,
    style: Style,
    wrapping: Wrapping,
    *,
    direction: str = "TB",
    room: dict | None = None,
    places: dict | None = None,
    ports: dict | None = None,
) -> str:
    """For the titles a line ran through in an earlier layout (titles.py finds them, graphviz.laid_out
    chooses): places: cluster (DOT name) -> the corner its title goes in, `tl` (Graphviz's own), `tr`, `bl`
    or `br`; room: cluster -> (the box beside which its title needs room of its own, or None for the
    cluster's first box; the side, `l` or `r`; a factor on the room's width); ports: cluster -> (the box
    inside it that the crossing line goes into, the side of the title): the lines into that box end at its
    top corner away from the title, and the box is made wider than the title, so no line reaches the band
    the title is drawn in above the box's other end."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    return _Writer(diagram, style, wrapping, room or {}, places or {}, ports or {}).write(direction)


class _Writer:
    def __init__(
        self,
        diagram: Diagram,
        style: Style,
        wrapping: Wrapping,
        room: dict | None = None,
        places: dict | None = None,
        ports: dict | None = None,
    ):
        self.diagram, self.style, self.wrapping, self.room = diagram, style, wrapping, room or {}
        self.places = places or {}
        self.first_columns: dict[str, int] = {}
        self.spacers: dict[tuple, tuple[int, float]] = {}  # (box, side) -> (its spacer's line, its width)
        self.boxes = {box.id: box for box in diagram.boxes}
        self.clusters = {cluster.id: cluster for cluster in diagram.clusters}
        self.inside: dict[str | None, list[str]] = {}  # cluster -> its boxes, then its clusters, in order
        for box in diagram.boxes:
            self.inside.setdefault(box.cluster, []).append(box.id)
        for cluster in diagram.clusters:
            self.inside.setdefault(cluster.parent, []).append(cluster.id)
        self.beside: dict[str, list[str]] = {}  # box -> connector nodes drawn next to it
        self.ported = set(ports or ())  # clusters whose titles are on two lines, to make their boxes less wide
        self.port_of = self._ports(ports or {})  # box -> (the compass point lines end at, its least width)
        self.out: list[str] = []

    def write(self, direction: str) -> str:
        style, out = self.style, self.out
        graph = dict(
            rankdir=direction,
            newrank="true",
            fontname=style.fonts,
            fontsize=float(style.font_size + 2),
            fontcolor=style.text,
            nodesep=style.nodesep,
            ranksep=style.ranksep,
            bgcolor="white",
            pad="0.2",
        )
        if style.title:
            title = (self.diagram.name, self.diagram.totals)
            graph.update(
                label=label([measure.centred(line, style.font_size + 2) for line in title]), labelloc="t", labeljust="c"
            )
        out.append("digraph network {")
        out.append(f"  graph {attrs(**graph)};")
        out.append(
            "  node "
            + attrs(
                shape="box",
                style="rounded,filled",
                fontname=style.fonts,
                fontsize=float(style.font_size),
                fontcolor=style.text,
                color=style.line,
                penwidth=0.8,
                margin=style.margin,
                height=0.3,
                width=0.4,
            )
            + ";"
        )
        out.append(
            "  edge "
            + attrs(
                fontname=style.fonts,
                fontsize=float(style.edge_font_size),
                fontcolor=style.edge_text,
                color=style.edge,
                arrowsize=0.6,
                penwidth=0.8,
            )
            + ";"
        )
        if self.diagram.loose:
            out.append(
                "  errors "
                + attrs(
                    shape="note",
                    style="filled",
                    fillcolor=style.error_fill,
                    color=style.error,
                    fontcolor=style.error,
                    width=self._width(self.diagram.loose, 0.3),
                    label=label(self.diagram.loose),
                )
                + ";"
            )
        edges = self._edges()
        cut = len(self.wrapping.columns) > 1
        columns = list(enumerate(self.wrapping.columns))
        if direction == "LR":
            columns.reverse()  # Graphviz turns written-first-is-left into written-first-is-bottom
        for index, column in columns:
            if cut:
                # Graphviz keeps top-level clusters in the order they are written:
                # a borderless one per column puts the columns left to right
                out.append(f"  subgraph cluster_column_{index} {{")
                out.append('    graph [label="", peripheries=0, margin="4"];')
            self._part(self._column(column), index, "    " if cut else "  ")
            if cut:
                out.append("  }")
        if cut:  # the columns start on one rank
            out.append("  { rank=same; " + " ".join(self.wrapping.tops) + " }")
        if self.wrapping.ushape is not None:  # each skip runs straight across the U
            out += ["  { rank=same; " + "; ".join(row) + " }" for row in self.wrapping.ushape.rows if len(row) > 1]
        out += [f"  {edge};" for edge in edges]
        out.append("}")
        return "\n".join(out) + "\n"

    # nodes ------------------------------------------------------------------
    def _column(self, units) -> _Part:
        """A column's units inside the parts of the groups they belong to."""
        top = _Part()
        for unit in units:
            groups, at = [], (self.boxes[unit].cluster if unit in self.boxes else self.clusters[unit].parent)
            while at is not None:
                groups.append(at)
                at = self.clusters[at].parent
            part = top
            for group in reversed(groups):
                if group not in part.parts:
                    part.parts[group] = _Part()
                    part.items.append(group)
                part = part.parts[group]
            part.items.append(unit)
        return top

    def _part(self, part: _Part, column: int, indent: str) -> None:
        for item in part.items:
            if item in part.parts:
                # a group (or a long block) cut by columns is drawn in parts, one in each column it reaches,
                # each after the first titled as continued
                self._cluster(
                    self.clusters[item],
                    f"{item}_{column}",
                    indent,
                    lambda inner: self._part(part.parts[item], column, inner),
                    continued=column > self._first_column(item),
                )
            elif item in self.boxes:
                self._box(item, indent)
            else:
                self._whole(item, indent)

    def _whole(self, cluster_id: str, indent: str) -> None:
        def body(inner):
            for item in self.inside.get(cluster_id, ()):
                self._box(item, inner) if item in self.boxes else self._whole(item, inner)

        self._cluster(self.clusters[cluster_id], cluster_id, indent, body)

    def _ports(self, ports: dict) -> dict[str, tuple[str, float]]:
        """For each box whose lines go to a corner (see write()): the corner, and the least width in inches
        that puts it clear of every such title: a title starts a cluster margin (8 pt) inside its cluster,
        and each cluster nested between it and the box adds one more."""
        clusters = {c.id: c for c in self.diagram.clusters}
        found: dict[str, tuple[str, float]] = {}
        for name, (box, side) in ports.items():
            cluster_id = name.rsplit("_", 1)[0] if name not in clusters and name.count("_") > 1 else name
            if box not in self.boxes or cluster_id not in clusters:
                continue
            depth, at = 0, self.boxes[box].cluster
            while at is not None and at != cluster_id:
                depth, at = depth + 1, clusters[at].parent
            size = self.style.font_size
            # the widest line in a wide font, and no narrower than 0.62 em a letter (titles.py measures so)
            title = max(
                max(measure.width(line, size), 0.62 * size * len(line)) for line in _lines(clusters[cluster_id].title)
            )
            need = title + 8.0 * depth + 20.0
            corner, had = found.get(box, ("ne" if side == "l" else "nw", 0.0))
            found[box] = (corner, max(had, need / 72))
        return found

    def _first_column(self, cluster_id: str) -> int:
        """The first column that draws a part of the cluster."""
        if cluster_id not in self.first_columns:
            column = self.wrapping.column_of
            self.first_columns.update(
                {c.id: min((column[b] for b in self._boxes_in(c.id)), default=0) for c in self.diagram.clusters}
            )
        return self.first_columns[cluster_id]

    def _boxes_in(self, cluster_id: str):
        for item in self.inside.get(cluster_id, ()):
            yield from (item,) if item in self.boxes else self._boxes_in(item)

    def _cluster(self, cluster: Cluster, name: str, indent: str, body, continued: bool = False) -> None:
        style = self.style
        self.out.append(f"{indent}subgraph {name} {{")
        # centred in the room it needs in a wide font, which Graphviz puts at the cluster's left; a long title
        # that needs room of its own (see _title_room) on two lines, to need less
        text = f"{cluster.title} (continued)" if continued else cluster.title
        lines = _lines(text) if name in self.room or name in self.ported else (text,)
        title = label([measure.centred(line, style.font_size) for line in lines])
        self.out.append(
            f"{indent}  graph "
            + attrs(
                label=title,
                style="rounded,filled",
                color=style.cluster_line,
                fillcolor=style.cluster_fill,
                fontcolor=style.cluster_text,
                fontsize=float(style.font_size),
                labelloc="b" if self.places.get(name, "tl")[0] == "b" else None,
                labeljust=self.places.get(name, "tl")[1],
                penwidth=0.8,
                peripheries=1,
                margin=8.0,
            )
            + ";"
        )
        start = len(self.out)
        body(indent + "  ")
        if name in self.room:
            self._title_room(name, max(lines, key=len), start, indent + "  ")
        self.out.append(f"{indent}}}")

    def _title_room(self, name: str, title: str, start: int, indent: str) -> None:
        """Room for a cluster's title that lines would cross (titles.py): an invisible box as wide as the
        title, left of the cluster's first box and in its rank. Graphviz routes lines round boxes, so none
        runs through the band above it, where the title is drawn; no rank is added."""
        written = [
            word
            for word in (line.strip().split(" ", 1)[0] for line in self.out[start:])
            if word not in ("subgraph", "graph", "}", "{", "") and not word.startswith("room_")
        ]
        first, side, scale = self.room[name]
        if first not in written:  # the box the crossing line goes into, if it is drawn in this part
            first = written[0] if written else None
        if first is None:
            return
        # The line into the first box arrives near its middle: the title must end left of that, so the spacer
        # is the title's width less half of a quarter of that box (the line may come in off its centre) and the
        # gap Graphviz leaves between boxes of a rank.
        box = self.boxes.get(first)
        half = self._width((box.heading, *box.lines, *box.errors)) / 4 if box is not None else 0.0
        width = scale * max(
            0.1, measure.width(title, self.style.font_size) / 72 + 0.1 - half - float(self.style.nodesep)
        )
        if (first, side) in self.spacers:  # an inner cluster starts at the same box: its spacer, widened, serves
            at, had = self.spacers[(first, side)]
            width = max(had, width - 8 / 72)  # this title starts a cluster margin further out
            self.out[at] = self.out[at].split(" [", 1)[0] + " " + self._spacer(width) + ";"
            self.spacers[(first, side)] = (at, width)
            return
        spacer = f"room_{name}"
        self.spacers[(first, side)] = (len(self.out), width)
        self.out.append(f"{indent}{spacer} {self._spacer(width)};")
        self.out.append(f"{indent}{{ rank=same; {spacer}; {first}; }}")
        # a flat edge puts its tail left of its head: the spacer on the title's side
        self.out.append(
            f"{indent}{spacer} -> {first} [style=invis];"
            if side == "l"
            else f"{indent}{first} -> {spacer} [style=invis];"
        )

    @staticmethod
    def _spacer(width: float) -> str:
        return attrs(label="", style="invis", shape="box", width=round(width, 3), height=0.01, fixedsize="true")

    def _box(self, box_id: str, indent: str) -> None:
        box: Box = self.boxes[box_id]
        style = self.style
        lines = self._split_totals((box.heading, *box.lines)) + tuple(box.errors)
        values = dict(
            label=label(lines),
            width=max(self._width(lines), round(self.port_of.get(box_id, ("", 0.0))[1], 3)),
            fillcolor=style.fills.get(box.family, style.fills["other"]),
            tooltip=box.tooltip,
        )
        if box.role in ("input", "output"):
            values.update(fontcolor=style.io_text, penwidth=1.4)
        elif box.role in ("block", "group", "repeat"):
            values.update(peripheries=2 if box.role == "repeat" else None, penwidth=1.2)
        if box.errors:
            values.update(color=style.error, fillcolor=style.error_fill, fontcolor=style.text, penwidth=2.0)
        self.out.append(f"{indent}{box_id} {attrs(**values)};")
        self.out += [f"{indent}{node};" for node in self.beside.get(box_id, ())]

    def _split_totals(self, lines: tuple[str, ...]) -> tuple[str, ...]:
        """A folded box's `params · MACs` line as two lines where it is more than twice as wide as the box's
        other lines (the inception module's `basic(96)`): boxes side by side stay narrow, and a figure of
        branches is not three times as wide as tall. Not in a U, whose levels are as tall as their boxes."""
        if self.wrapping.ushape is not None or len(lines) < 2:
            return lines
        last = lines[-1]
        params, dot, macs = last.partition(" · ")
        if not (dot and params.endswith(" params") and "MACs" in macs):
            return lines
        if len(last) <= 2 * max(len(line) for line in lines[:-1]):
            return lines
        return (*lines[:-1], params, macs)

    def _width(self, lines, margin: float | None = None) -> float:
        """A box's least width in inches: its widest line in a wide font, and its margins."""
        margins = styles.margins(self.style) if margin is None else (margin, margin)
        return round(measure.box(lines, self.style.font_size, margins)[0] / 72, 3)

    # edges ------------------------------------------------------------------
    def _edges(self) -> list[str]:
        """Links as DOT edges. A link from one column to another ends at a numbered
        connector under its tail and starts again from the same number above its
        head, as a flowchart continues on another page, instead of a line across the drawing."""
        column = self.wrapping.column_of
        cut = len(self.wrapping.columns) > 1
        jumps: dict[tuple, str] = {}  # (tail, shape) -> connector number: one per tensor
        entries: dict[tuple, str] = {}  # (number, column) -> where the tensor comes back in that column
        inputs: dict[str, int] = {}
        for link in self.diagram.links:
            inputs[link.head] = inputs.get(link.head, 0) + 1
        edges = []
        ushape = self.wrapping.ushape
        for link in self.diagram.links:
            if not cut or column[link.tail] == column[link.head]:
                # a layer with one input sits right under it, not halfway down to the merge it feeds
                weight = 2 if inputs[link.head] == 1 else None
                port = self.port_of.get(link.head, (None,))[0]
                if ushape is not None and ushape.reversed(link):
                    # up the decoder: ranked as if it went down, drawn with its arrow at the head
                    edges.append(f"{link.head} -> {link.tail} {self._link(link, weight=weight, back=True)}")
                elif ushape is not None and ushape.across(link):
                    # a skip between blocks drawn in full: with only its two ends on their rank, Graphviz puts
                    # its label on the line itself, so it is placed beside the line once that is drawn. In a
                    # row of a block's layers (TB) it has none: a labelled line within a rank is bent up round
                    # its label, and the tensor's size is on the line from the same layer down the encoder
                    if len(ushape.rows) == len(ushape.skips):
                        edges.append(f"{link.tail} -> {link.head} {self._link(link, weight=weight, beside=True)}")
                    else:
                        edges.append(f"{link.tail} -> {link.head} {self._link(link, weight=weight, shape=False)}")
                else:
                    edges.append(f"{link.tail} -> {link.head} {self._link(link, weight=weight, port=port)}")
                continue
            key = (link.tail, link.label)
            if key not in jumps:
                jumps[key] = number = str(len(jumps) + 1)
                self.beside.setdefault(link.tail, []).append(f"j{number}a {self._connector(number)}")
                edges.append(f"{link.tail} -> j{number}a {self._link(link)}")
            number = jumps[key]
            place = (number, column[link.head])
            if place not in entries:
                entries[place] = f"j{number}b{column[link.head]}"
                self.beside.setdefault(link.head, []).append(f"{entries[place]} {self._connector(number)}")
            port = self.port_of.get(link.head, (None,))[0]
            edges.append(f"{entries[place]} -> {link.head} {self._link(link, shape=False, port=port)}".rstrip())
        return edges

    def _connector(self, number: str) -> str:
        style = self.style
        return attrs(
            label=number,
            shape="circle",
            style="filled",
            fillcolor="white",
            width=0.28,
            height=0.28,
            fixedsize="true",
            margin="0",
            fontsize=float(style.edge_font_size),
            fontcolor=style.edge_text,
            color=style.edge,
        )

    def _link(
        self,
        link: Link,
        *,
        shape: bool = True,
        weight: int | None = None,
        back: bool = False,
        beside: bool = False,
        port: str | None = None,
    ) -> str:
        style = self.style
        # spaced so that the line beside it clears the text in a wide font
        text = measure.centred(link.label, style.edge_font_size, gap=2.0) if shape else None
        values = dict(
            label=None if beside else text,
            xlabel=text if beside else None,
            weight=weight,
            dir="back" if back else None,
            headport=port,
        )
        if link.state == "error":
            values.update(color=style.error, fontcolor=style.error, penwidth=1.6)
        elif link.state == "unknown":
            values.update(style="dashed", color=style.cluster_line, fontcolor=style.cluster_line)
        return attrs(**values) if any(v is not None for v in values.values()) else ""


def _lines(title: str, shortest: int = 22) -> tuple[str, ...]:
    """A title longer than `shortest` letters on two lines of about even length (more when a piece between
    commas is long), broken after a `,` (or at a blank when it has none); a short one as it is."""
    if len(title) <= shortest:
        return (title,)
    width = max(18, (len(title) + 1) // 2 + 2)
    mark = "," if "," in title else " "
    parts, current = [], ""
    pieces = [p + "," for p in title.split(",")[:-1]] + [title.split(",")[-1]] if mark == "," else title.split(" ")
    for piece in pieces:
        joined = (current + (" " if mark == " " else "") + piece) if current else piece.lstrip()
        if current and len(joined) > width:
            parts.append(current.rstrip())
            current = piece.lstrip()
        else:
            current = joined
    parts.append(current.strip())
    return tuple(p for p in parts if p)
