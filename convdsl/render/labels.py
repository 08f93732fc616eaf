"""Label templates: what each box of a figure says, chosen by the author (`--label`).

    --label "{kind}\\n{out} · {macs}"

A template is text with fields in braces; `\\n` (a backslash and an n, as
typed in a shell) or a real line break starts a new line, `{{` and `}}` are
literal braces. It is parsed here, by a parser that knows only the names in
FIELDS: no attribute access, indexing, conversion or format spec, so a
template can never reach into Python objects the way str.format could. A line
whose fields are all empty (a ReLU has no parameters) is left out, and so are
the separators around an empty field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .diagram import Box, Diagram

FIELDS = {
    "kind": "the layer kind and its key hyper-parameters (`conv 3×3/2, 64`); a folded box's block call or repeat",
    "name": "the layer's full name (`layer2.0.conv1`), or the folded block's",
    "out": "the shape of its output tensor (`64×56×56`)",
    "in": "the shapes of its input tensors, joined by ` + `",
    "params": "its parameter count with the unit (`9.41K params`), empty when it has none",
    "macs": "its multiply-accumulates with the unit (`118M MACs`), empty when it has none",
}
MAX_LENGTH = 500  # a template is typed by a person; anything longer is a mistake


class TemplateError(ValueError):
    """A template that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Template:
    lines: tuple[tuple[tuple[str, str], ...], ...]  # each line: (literal, field) pieces; field "" for none

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(field for line in self.lines for _, field in line if field)


_SEPARATOR = re.compile(r"^[\s·,;:|/+\-–—]*$")  # what may stand between two fields and vanish with an empty one


def parse(text: str) -> Template:
    if len(text) > MAX_LENGTH:
        raise TemplateError(f"the label template is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    lines, pieces, literal, i = [], [], [], 0
    while i < len(text):
        c = text[i]
        if text.startswith("\\n", i) or c == "\n":
            pieces.append(("".join(literal), ""))
            lines.append(tuple(pieces))
            pieces, literal = [], []
            i += 1 if c == "\n" else 2
        elif text.startswith("{{", i) or text.startswith("}}", i):
            literal.append(c)
            i += 2
        elif c == "{":
            end = text.find("}", i)
            name = text[i + 1 : end] if end != -1 else None
            if name not in FIELDS:
                shown = text[i : end + 1] if end != -1 else text[i:]
                raise TemplateError(
                    f"unknown label field `{shown}`; the fields are "
                    + ", ".join("{" + f + "}" for f in FIELDS)
                    + " (write {{ for a brace)"
                )
            pieces.append(("".join(literal), name))
            literal = []
            i = end + 1
        elif c == "}":
            raise TemplateError("a `}` without its `{` in the label template (write }} for a brace)")
        else:
            literal.append(c)
            i += 1
    pieces.append(("".join(literal), ""))
    lines.append(tuple(pieces))
    if not any(field for line in lines for _, field in line):
        raise TemplateError(
            "the label template names no field; use some of " + ", ".join("{" + f + "}" for f in FIELDS)
        )
    return Template(tuple(lines))


def fill(template: Template, values: dict[str, str]) -> tuple[str, ...]:
    """The lines a box shows: fields replaced, empty fields and their separators dropped, empty lines left out."""
    out = []
    for line in template.lines:
        found = [values.get(field, "") if field else "" for _, field in line]
        if any(field for _, field in line) and not any(found):
            continue  # every field on the line is empty
        text, written = "", False
        for (literal, _), value in zip(line, found):
            # words are always written; a separator only between two values that are
            if literal and (not _SEPARATOR.match(literal) or (written and value)):
                text += literal
            if value:
                text += value
                written = True
        if text.strip():
            out.append(text.strip())
    return tuple(out)


def apply(diagram: Diagram, text: str) -> Diagram:
    """The diagram with every box but the inputs and outputs labelled by the template."""
    template = parse(text)
    boxes = []
    for box in diagram.boxes:
        if box.role in ("input", "output"):
            boxes.append(box)
            continue
        lines = fill(template, box_fields(box)) or (box.heading,)
        boxes.append(replace(box, heading=lines[0], lines=lines[1:]))
    return replace(diagram, boxes=tuple(boxes))


def box_fields(box: Box) -> dict[str, str]:
    from . import text

    return {
        "kind": box.heading,
        "name": box.name,
        "out": box.out,
        "in": " + ".join(box.ins),
        "params": f"{text.count(box.params)} params" if box.params else "",
        "macs": f"{text.count(box.macs)} MACs" if box.macs else "",
    }
