"""A label as DOT holds it, back to its lines: read by the figures laid out by Graphviz (graph_figure.py)
and by the search for cluster titles a line crosses (titles.py)."""

from __future__ import annotations


def dot_lines(text: str) -> tuple[str, ...]:
    """A label as DOT holds it (`\\n` between lines, `\\\\` for a backslash, `&amp;`) back to its lines,
    without the spaces the graph style pads labels with to make Graphviz reserve room (TeX centres
    the text itself, and would draw them)."""
    lines, current, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following in "nlr":
                lines.append("".join(current))
                current = []
            else:
                current.append(following)
            i += 2
            continue
        current.append(c)
        i += 1
    lines.append("".join(current))
    return tuple(line.replace("&amp;", "&").strip(" ") for line in lines)
