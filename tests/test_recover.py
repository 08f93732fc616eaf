"""Error recovery for editors (recover.py): the syntax errors are check's, and the rest of the file is read."""

from __future__ import annotations

import pytest

from convdsl.frontend import parse
from convdsl.recover import parse_recovering
from convdsl.source import Source
from convdsl.syntax import Assign, BlockDef, Call, InputDecl, Labelled

HEAD = "input x: 3 x 32 x 32\n"


def _chains(program) -> dict[str, list[str]]:
    """Tensor -> the names of the calls of its chain, as written (groups opened)."""
    out = {}
    for stmt in program.statements:
        if isinstance(stmt, Assign):
            names = []
            pending = list(stmt.chain.elements)
            while pending:
                element = pending.pop(0)
                if isinstance(element, Call):
                    names.append(element.name.id)
                elif isinstance(element, Labelled):
                    pending.insert(0, element.element)
                elif hasattr(element, "chain"):
                    pending[0:0] = list(element.chain.elements)
                elif hasattr(element, "element"):
                    pending.insert(0, element.element)
            out[stmt.targets[0].id] = names
    return out


CASES = [
    # (text after the input, the chains expected to survive)
    ("y = x -> conv(8, 3) -> relu ->\nz = y -> relu\n", {"y": ["x", "conv", "relu"], "z": ["y", "relu"]}),
    ("y = x -> conv(8, 3) -> relu -> conv(4, \nz = y -> relu\n", {"y": ["x", "conv", "relu"], "z": ["y", "relu"]}),
    ("y = \nz = x -> relu\n", {"z": ["x", "relu"]}),
    ("y = x -> cönv(8)\nz = x -> relu\n", {"y": ["x"], "z": ["x", "relu"]}),
    (
        "y = x -> s: (conv(8, 3) -> relu -> \n   conv(4,3) -> ) -> relu\nz = y -> relu\n",
        {"y": ["x", "conv", "relu", "conv"], "z": ["y", "relu"]},
    ),
    ("y = x -> relu -> ", {"y": ["x", "relu"]}),
    ("y = x -> conv(8, 3, p=) -> relu\nz = y -> relu\n", {"y": ["x", "conv", "relu"], "z": ["y", "relu"]}),
    ("y = x -> conv(p=, 8, 3) -> relu\n", {"y": ["x", "conv", "relu"]}),
    ("y = x -> relu\nz = y -> => relu\nw = y -> relu\n", {"y": ["x", "relu"], "z": ["y"], "w": ["y", "relu"]}),
    # mid-typing: a '->' left at a line's end with a blank line or a comment after it
    ("y = x -> conv(8, 3) ->\n\nz = x -> relu\n", {"y": ["x", "conv"], "z": ["x", "relu"]}),
    ("y = x -> conv(8, 3) ->\n    # next: relu\nz = x -> relu\n", {"y": ["x", "conv"], "z": ["x", "relu"]}),
    # a '(' left open: the statements that start in column 1 after it are statements, not its arguments
    ("y = add(x,\nz = x -> relu\nw = z -> relu\n", {"z": ["x", "relu"], "w": ["z", "relu"]}),
    ("y = x -> relu -> conv(8, (3\nz = x -> relu\n", {"y": ["x", "relu"], "z": ["x", "relu"]}),
]


@pytest.mark.parametrize("body, chains", CASES, ids=[c[0].split("\n")[0][:30] for c in CASES])
def test_the_text_outside_the_broken_span_is_read(body, chains):
    source = Source("t.cdsl", HEAD + body)
    recovered = parse_recovering(source)
    program, found = parse(source)
    assert program is None and found
    assert [d.message for d in recovered.diagnostics] == [d.message for d in found]  # check's errors, unchanged
    assert recovered.program is not None and recovered.broken
    assert isinstance(recovered.program.statements[0], InputDecl)
    assert _chains(recovered.program) == chains


def test_a_broken_line_in_a_block_keeps_the_block_and_what_follows():
    text = HEAD + "block b(c) {\n  a = in -> conv(c, 3 -> relu\n  out = in -> relu\n}\ny = x -> b(3)\n"
    recovered = parse_recovering(Source("t.cdsl", text))
    kinds = [type(s).__name__ for s in recovered.program.statements]
    assert kinds == ["InputDecl", "BlockDef", "Assign"]
    block = recovered.program.statements[1]
    assert isinstance(block, BlockDef) and [s.targets[0].id for s in block.body] == ["a", "out"]


def test_spans_keep_their_places():
    text = HEAD + "y = x -> relu ->\nz = y -> conv(8, 3)\n"
    recovered = parse_recovering(Source("t.cdsl", text))
    z = recovered.program.statements[-1]
    assert (z.span.line, z.span.column) == (3, 1)
    conv = z.chain.elements[1]
    assert (conv.span.line, conv.span.column, conv.span.end_column) == (3, 10, 20)


def test_a_valid_file_is_parsed_as_check_parses_it():
    source = Source("t.cdsl", HEAD + "y = x -> relu\n")
    recovered = parse_recovering(source)
    assert not recovered.diagnostics and not recovered.broken
    assert _chains(recovered.program) == {"y": ["x", "relu"]}


def test_repairs_are_bounded_on_a_file_of_errors():
    text = HEAD + "".join(f"y{i} = x -> conv(\n" for i in range(2000))
    recovered = parse_recovering(Source("t.cdsl", text))
    assert len(recovered.broken) <= 40  # MAX_REPAIRS: a file of errors costs a bounded number of parses


def test_a_block_being_typed_leaves_the_statements_after_it():
    """`block q(c) {` typed above the rest of the file, its '}' not yet: the block's unfinished text is left
    out, and the statements that start in column 1 after it are read."""
    for typed in ("block q(c) {\n", "block q(c) {\n    out = in -> relu\n"):
        text = HEAD + typed + "z = x -> relu\nw = z -> conv(8, 3)\n"
        recovered = parse_recovering(Source("t.cdsl", text))
        assert _chains(recovered.program) == {"z": ["x", "relu"], "w": ["z", "conv"]}
