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
