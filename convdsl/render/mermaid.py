"""The writer of Mermaid flowcharts (`.mmd`): what GitHub, GitLab and documentation sites draw
from a ```mermaid block in Markdown.

Boxes are nodes, blocks and labelled groups are subgraphs, and every edge
carries its tensor's shape. Identifiers are generated (`n3`, `cluster_1`);
every label is a double-quoted string made by quoting.mermaid_text(), so a
name from the file cannot end the label, start a new statement, or be read
as HTML or Markdown.
"""

from __future__ import annotations

from .diagram import Box, Diagram
from .quoting import mermaid_text
from .registry import Options, Style
from .styles import STYLES as LOOKS


def available(fmt: str, style: Style) -> None:
    """Always: it is text."""


def _label(lines) -> str:
    return '"' + "<br>".join(mermaid_text(line) for line in lines if line) + '"'


def _node(box: Box) -> str:
    text = _label((box.heading, *box.lines, *box.errors))
    if box.role in ("input", "output"):
        return f"{box.id}([{text}])"  # a stadium
    if box.role in ("block", "group", "repeat"):
        return f"{box.id}[[{text}]]"  # a subroutine: a box with more inside
    return f"{box.id}({text})"  # rounded


def write(diagram: Diagram, fmt: str, options: Options) -> bytes:
    look = LOOKS[options.style]
    out = [f"%% {mermaid_text(diagram.name)}: {mermaid_text(diagram.totals)}", f"flowchart {options.direction}"]
    inside: dict[str | None, list] = {}
    for box in diagram.boxes:
        inside.setdefault(box.cluster, []).append(box)
    titles = {cluster.id: cluster for cluster in diagram.clusters}
    children: dict[str | None, list[str]] = {}
    for cluster in diagram.clusters:
        children.setdefault(cluster.parent, []).append(cluster.id)

    def emit(cluster: str | None, indent: str) -> None:
        for box in inside.get(cluster, ()):
            out.append(f"{indent}{_node(box)}")
        for child in children.get(cluster, ()):
            out.append(f"{indent}subgraph {child} [{_label((titles[child].title,))}]")
            out.append(f"{indent}  direction {options.direction}")
            emit(child, indent + "  ")
            out.append(f"{indent}end")

    if diagram.loose:
        out.append(f"  errors>{_label(diagram.loose)}]")
    emit(None, "  ")
    styles = []
    for index, link in enumerate(diagram.links):
        arrow = "-.->" if link.state == "unknown" else "-->"
        out.append(f"  {link.tail} {arrow}|{_label((link.label,))}| {link.head}")
        if link.state == "error":
            styles.append(f"  linkStyle {index} stroke:{look.error},stroke-width:2px,color:{look.error}")
    out += styles
    # colours by family, as the graph style draws them
    families = sorted({box.family for box in diagram.boxes})
    for family in families:
        fill = look.fills.get(family, look.fills["other"])
        colour = look.io_text if family == "io" else look.text
        out.append(f"  classDef {family} fill:{fill},stroke:{look.line},color:{colour}")
    out.append(f"  classDef failed fill:{look.error_fill},stroke:{look.error},stroke-width:2px,color:{look.text}")
    for family in families:
        members = [box.id for box in diagram.boxes if box.family == family and not box.errors]
        if members:
            out.append(f"  class {','.join(members)} {family}")
    failed = [box.id for box in diagram.boxes if box.errors] + (["errors"] if diagram.loose else [])
    if failed:
        out.append(f"  class {','.join(failed)} failed")
    for cluster in diagram.clusters:
        out.append(
            f"  style {cluster.id} fill:{look.cluster_fill},stroke:{look.cluster_line},color:{look.cluster_text}"
        )
    return ("\n".join(out) + "\n").encode("utf-8")
