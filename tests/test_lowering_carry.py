"""Block instances and repeat copies stamped from the lowering of the text before (lower/carrying.py) give
exactly what lowering the new text afresh gives.

The reference is lowering with stamping switched off (every copy expanded element by element), compared on
everything lowering leaves behind (test_lowering_stamp._state: the graph, the diagnostics, the block
instances and their tensors, what each label made, the counters, the analysis). The edits are every file's
numbers (a sample: constants, block arguments, repeat counts, sizes in block bodies and in included files'
texts alike), written cases for each thing a template depends on, and texts unchanged (every template taken).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_lowering_stamp import CASES, FILES, ROOT, _state

from convdsl.frontend import parse
from convdsl.loading import decode, lower_program, read_included
from convdsl.model import Limits

NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")


def _carry(text: str, path: str, reader=read_included):
    source = decode(path, text.encode())
    program, _ = parse(source)
    if program is None:
        return None, None
    _, lowering = lower_program(source, program, Limits(), reader, carrying=True)
    return lowering.carry(), lowering


def _compare(before: str, after: str, path: str, monkeypatch, label: str = "") -> None:
    carried, _ = _carry(before, path)
    fresh = _state(after, path, False, monkeypatch)
    stamped = _state(after, path, True, monkeypatch, carried=carried)
    assert fresh.keys() == stamped.keys()
    for part in fresh:
        assert stamped[part] == fresh[part], f"{label or path}: {part} differs"


def _stamped(before: str, after: str, path: str = "case.cdsl") -> int:
    """Copies stamped lowering `after` with what lowering `before` left."""
    carried, _ = _carry(before, path)
    source = decode(path, after.encode())
    program, _ = parse(source)
    _, lowering = lower_program(source, program, Limits(), read_included, carried=carried, carrying=True)
    return lowering.stamped


def _number_edits(text: str, every: int):
    for index, match in enumerate(NUMBER.finditer(text)):
        if index % every == 0:
            yield text[: match.start()] + str(int(match.group()) + 1) + text[match.end() :]


@pytest.mark.parametrize("name", FILES)
def test_every_file_lowers_the_same_from_the_lowering_before(name, monkeypatch):
    path = str(ROOT / name)
    text = Path(path).read_text()
    _compare(text, text, path, monkeypatch)
    for after in _number_edits(text, every=7):
        _compare(text, after, path, monkeypatch, f"{name}: {after}")


ARROW = re.compile(r" *-> *")
CONTINUED = re.compile(r"\n[ \t]*(?=->)")


def _line_edits(text: str, every: int):
    """Edits that move what follows them, whole: a line broken before an arrow, a continued line joined to
    the one before, spaces typed before an element on its line, a line put in at the start and after a line."""
    for index, match in enumerate(ARROW.finditer(text)):
        if index % every == 0:
            yield text[: match.start()] + "\n    -> " + text[match.end() :]
            yield text[: match.end()] + "   " + text[match.end() :]
    for index, match in enumerate(CONTINUED.finditer(text)):
        if index % every == 0:
            yield text[: match.start()] + " " + text[match.end() :]
    yield "# a line put in before\n" + text
    lines = text.split("\n")
    for index in range(0, len(lines), every * 3):
        yield "\n".join([*lines[: index + 1], "", *lines[index + 1 :]])


@pytest.mark.parametrize("name", FILES)
def test_every_file_lowers_the_same_after_lines_broken_joined_and_put_in(name, monkeypatch):
    """Templates are found by their text wherever it moved, and every place in them moves with it: a block
    call on a line broken before it (the Enter key), a block definition below a line put in."""
    path = str(ROOT / name)
    text = Path(path).read_text()
    for after in _line_edits(text, every=5):
        _compare(text, after, path, monkeypatch, f"{name}: {after}")


# texts whose templates hold places the edits of _line_edits move in every way
MOVED = {
    # a layer's call ending on the line after the repeat begins: spaces before the repeat move its start only
    "a call over two lines": "input x: 3 x 8 x 8\ny = x -> (conv(4,\n    1) -> relu) * 3\n",
    # a tensor read before it is made, in a block defined after a line put in
    "a name read before it is made, in a block": """\
block b(c) {
    out = t -> relu
    t = in -> conv(c, 1)
}
input x: 3 x 8 x 8
y = x -> b(4) -> b(4) * 2
""",
}


@pytest.mark.parametrize("case", sorted(CASES) + sorted(MOVED))
def test_the_stamping_cases_lower_the_same_after_lines_broken_and_put_in(case, monkeypatch):
    text = CASES.get(case) or MOVED[case]
    for after in _line_edits(text, every=1):
        _compare(text, after, "case.cdsl", monkeypatch, f"{case}: {after}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_stamping_cases_lower_the_same_from_the_lowering_before(case, monkeypatch):
    text = CASES[case]
    _compare(text, text, "case.cdsl", monkeypatch)
    for after in _number_edits(text, every=1):
        _compare(text, after, "case.cdsl", monkeypatch, f"{case}: {after}")


BLOCKS = """\
const k = 3
block b(c) = conv(c, k, p=1) -> relu
input x: 3 x 8 x 8
y = x -> b(4) -> b(4) * 3 -> relu
"""

# (the text before, the text after): each changes what a template was made with; lowering afresh must win
CHANGED = {
    "a constant a block call's arguments read": (
        "const c = 4\n" + BLOCKS.replace("b(4) -> b(4) * 3", "b(c) -> b(c) * 3"),
        "const c = 5\n" + BLOCKS.replace("b(4) -> b(4) * 3", "b(c) -> b(c) * 3"),
    ),
    "a block's body": (BLOCKS, BLOCKS.replace("-> relu\n", "-> gelu\n", 1)),
    "a constant a block's body reads": (BLOCKS, BLOCKS.replace("const k = 3", "const k = 5")),
    "a block's parameter's default": (
        BLOCKS.replace("block b(c)", "block b(c, d=1)"),
        BLOCKS.replace("block b(c)", "block b(c, d=2)"),
    ),
    # 1 == True, but a boolean argument given 1 is an error
    "a constant of another type, equal to the one before": (
        "const f = true\n"
        + BLOCKS.replace("block b(c)", "block b(c, on=true)")
        .replace("p=1)", "p=1, bias=on)")
        .replace("b(4) * 3", "b(4, on=f) * 3"),
        "const f = 1\n"
        + BLOCKS.replace("block b(c)", "block b(c, on=true)")
        .replace("p=1)", "p=1, bias=on)")
        .replace("b(4) * 3", "b(4, on=f) * 3"),
    ),
    # `same` is a word (padding "same") until a constant of that name is defined, after it: the places of
    # what comes before do not move
    "a constant defined after the element, named as a word it uses": (
        "input x: 3 x 8 x 8\ny = x -> (conv(4, 3, p=same) -> relu) * 3\n",
        "input x: 3 x 8 x 8\ny = x -> (conv(4, 3, p=same) -> relu) * 3\nconst same = 0\n",
    ),
    "a repeat count": (BLOCKS, BLOCKS.replace("* 3", "* 2")),
    "a block call's argument": (BLOCKS, BLOCKS.replace("b(4) * 3", "b(5) * 3")),
    "a line put in before (every place moves)": (BLOCKS, "# a comment\n" + BLOCKS),
    "a layer put in before the calls, on their line": (BLOCKS, BLOCKS.replace("y = x ->", "y = x -> relu ->")),
    "a label claimed where the copies' names were": (
        BLOCKS,
        BLOCKS.replace("y = x -> b(4)", "y = x -> b2: relu -> b(4)"),
    ),
}


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_what_a_template_was_made_with_changed(name, monkeypatch):
    before, after = CHANGED[name]
    _compare(before, after, "case.cdsl", monkeypatch, name)


def test_templates_are_taken_where_the_lowering_before_left_them():
    """Not a vacuous comparison: an unchanged text stamps the block call and the repeat's first copy too (4
    instances: 1 + 3 copies, 3 more than without), an edit after them on their line changes none of them
    (only the places after it), and a changed constant they read, none at all."""
    assert _stamped(BLOCKS, BLOCKS) == 4
    after = BLOCKS.replace("* 3 -> relu", "* 3 -> gelu")
    assert _stamped(BLOCKS, after) == 4
    assert _stamped(BLOCKS, BLOCKS.replace("const k = 3", "const k = 5")) == 2  # the repeat's own copies only
    path = ROOT / "benchmarks" / "resnet152.cdsl"
    text = path.read_text()
    edited = text.replace("-> relu ->", "-> gelu ->", 1)
    # all 50 bottleneck instances, against 42 stamped by a lowering of its own
    assert _stamped(text, edited, str(path)) == 50


def test_templates_are_taken_wherever_their_text_moved():
    """Not vacuous either: the Enter key before the calls, a line put in above the blocks, and spaces before
    a call on its line leave every template in use; a text written at two places is stamped at each."""
    broken = BLOCKS.replace("y = x -> b(4)", "y = x\n    -> b(4)")
    assert _stamped(BLOCKS, broken) == 4
    assert _stamped(broken, BLOCKS) == 4
    assert _stamped(BLOCKS, "# a comment\n\n" + BLOCKS) == 4
    assert _stamped(BLOCKS, BLOCKS.replace("-> b(4) ->", "->    b(4) ->")) == 4
    twice = BLOCKS + "z = y -> b(4) -> b(4) * 3\n"
    assert _stamped(twice, "\n" + twice) == 8
    path = ROOT / "benchmarks" / "resnet152.cdsl"
    text = path.read_text()
    enter = text.replace("-> relu -> maxpool", "-> relu\n    -> maxpool", 1)
    assert enter != text
    assert _stamped(text, enter, str(path)) == 50
    assert _stamped(enter, text, str(path)) == 50


def test_a_template_moved_with_the_definitions_it_was_made_from(tmp_path, monkeypatch):
    """The blocks in an included file, a line put in above them: the places in the template that lie in the
    definitions move with them (an unused tensor's warning is said once per definition, by its place)."""
    main = tmp_path / "main.cdsl"
    lib = tmp_path / "lib.cdsl"
    text = 'include "lib.cdsl"\ninput x: 3 x 8 x 8\ny = x -> b(4) -> b(4) * 3\n'
    main.write_text(text)
    definitions = "const k = 3\nblock b(c) {\n    t = in -> conv(c, k, p=1)\n    out = t -> relu\n}\n"
    lib.write_text(definitions)
    carried, _ = _carry(text, str(main))
    lib.write_text("\n# moved\n" + definitions)
    fresh = _state(text, str(main), False, monkeypatch)
    stamped = _state(text, str(main), True, monkeypatch, carried=carried)
    for part in fresh:
        assert stamped[part] == fresh[part], part
    source = decode(str(main), text.encode())
    program, _ = parse(source)
    network, lowering = lower_program(source, program, Limits(), read_included, carried=carried, carrying=True)
    assert lowering.stamped == 4
    spans = {data.span.line for data in network.layer_graph.nodes.values() if data.span.path == str(lib)}
    assert spans == {5, 6}  # `t = in -> conv(...)` and `out = t -> relu`, two lines down


def test_a_template_is_not_stamped_nested_deeper_than_it_was_made():
    """One text at the top level and in a group: the group's is a level deeper, and under --max-depth 1 its
    block's body is too deep, which lowering afresh reports. The template of the top level's must not stamp it."""
    before = "block b(c) = conv(c, 1) -> relu\ninput x: 3 x 8 x 8\ny = x -> b(4)\n"
    after = before + "z = x -> g: (b(4))\n"
    limits = Limits(max_depth=1)
    found = {}
    for name in ("fresh", "carried"):
        given = None
        if name == "carried":
            source = decode("case.cdsl", before.encode())
            program, _ = parse(source)
            given = lower_program(source, program, limits, read_included, carrying=True)[1].carry()
        source = decode("case.cdsl", after.encode())
        program, _ = parse(source)
        network, _ = lower_program(source, program, limits, read_included, carried=given, carrying=True)
        found[name] = [(d.code, d.span) for d in network.diagnostics]
    assert found["fresh"] and found["carried"] == found["fresh"]


def test_one_text_at_many_places_is_found_within_a_budget(monkeypatch):
    """Three hundred calls with one text, every one moved a line down: each is stamped, from a template of
    its own place or of one of the few tried besides it, and lowers as afresh."""
    text = "block b(c) = conv(c, 1) -> relu\ninput x: 3 x 8 x 8\n" + "".join(f"y{i} = x -> b(4)\n" for i in range(300))
    after = text.replace("input x", "\ninput x")
    assert _stamped(text, after) == 300
    _compare(text, after, "case.cdsl", monkeypatch)


def test_a_template_does_not_keep_the_lowering_it_came_from():
    """The carry is handed from version to version (an editor's): it must not hold every lowering before it
    (each block instance's `in.shape` reader holds its lowering). After three versions, the first lowering is
    freed once its own instances' readers are dropped, as Snapshot.release does."""
    import gc
    import weakref

    from convdsl.evaluate import SHAPES

    carried, first = _carry(BLOCKS, "case.cdsl")
    ref = weakref.ref(first)
    for site in first.sites:
        site.env.pop(SHAPES, None)
    del first
    for _ in range(3):
        source = decode("case.cdsl", BLOCKS.encode())
        program, _ = parse(source)
        _, lowering = lower_program(source, program, Limits(), read_included, carried=carried, carrying=True)
        carried = lowering.carry()
        for site in lowering.sites:
            site.env.pop(SHAPES, None)
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("category", ["generated", "near_valid"])
def test_fuzz_programs_lower_the_same_from_the_lowering_before(category, monkeypatch):
    """The fuzzer's programs (tests/fuzz), full of blocks, repeats, labels and reuses: each from itself, and
    from the same with a number changed."""
    from fuzz.cases import ids, make

    for case_id in ids(category, 0, 25):
        case = make(case_id)
        try:
            text = case.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        _compare(text, text, case.path, monkeypatch, case_id)
        for after in _number_edits(text, every=5):
            _compare(text, after, case.path, monkeypatch, f"{case_id}: {after}")


def test_a_constant_of_an_included_file_its_block_reads(tmp_path, monkeypatch):
    """The including file is unchanged, and so is the block's text: the block's own constants (its file's) are
    what changed."""
    main = tmp_path / "main.cdsl"
    lib = tmp_path / "lib.cdsl"
    text = 'include "lib.cdsl"\ninput x: 3 x 8 x 8\ny = x -> b(4) -> b(4) * 3\n'
    main.write_text(text)
    lib.write_text("const k = 3\nblock b(c) = conv(c, k, p=1) -> relu\n")
    carried, _ = _carry(text, str(main))
    lib.write_text("const k = 1\nblock b(c) = conv(c, k, p=1) -> relu\n")
    fresh = _state(text, str(main), False, monkeypatch)
    stamped = _state(text, str(main), True, monkeypatch, carried=carried)
    for part in fresh:
        assert stamped[part] == fresh[part], part


def test_a_template_is_not_stamped_under_other_limits(monkeypatch):
    """Nested two blocks deep: under a limit of one, lowering afresh reports it; a template made without the
    limit must not stamp the instance past it."""
    text = "block a(c) = conv(c, 1)\nblock b(c) = a(c) -> relu\ninput x: 3 x 8 x 8\ny = x -> b(4) * 2\n"
    carried, _ = _carry(text, "case.cdsl")
    found = {}
    for name, given in (("fresh", None), ("carried", carried)):
        source = decode("case.cdsl", text.encode())
        program, _ = parse(source)
        network, _ = lower_program(source, program, Limits(max_depth=1), read_included, carried=given)
        found[name] = [d.message for d in network.diagnostics]
    assert found["fresh"] and found["carried"] == found["fresh"]
