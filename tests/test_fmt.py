"""`convdsl fmt` and convdsl.fmt.format_text: the layout written out by hand, meaning and comments kept,
idempotence, and the command line (check, diff, standard input, atomic writes, files with errors)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import EXAMPLES, ROOT
from fuzz.generate import generate

import convdsl
from convdsl.fmt import FormatError, format_text
from convdsl.summary import to_json

FIXTURES = sorted((ROOT / "tests" / "fixtures").rglob("*.cdsl"))
# The VS Code grammar's test files too: like the fixtures they are test data whose columns matter, so
# they are not rewritten, but they are convdsl and the formatter must handle them.
FILES = sorted(EXAMPLES.glob("*.cdsl")) + FIXTURES + sorted((ROOT / "editors" / "vscode" / "tests").glob("*.cdsl"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


_LINE = re.compile(r"\blines? \d+")


def meaning(text: str, path: str) -> dict:
    """What a file means: the summary JSON and the diagnostics, without source positions."""
    network = convdsl.loads(text, path)
    analysis = network.analyze()
    summary = to_json(analysis)
    summary.pop("diagnostics", None)
    # "without source positions": a message may name a line (`the repeat at line 17`), which a reflow moves
    diagnostics = sorted(
        (d.code.code, _LINE.sub("line N", d.message), _LINE.sub("line N", d.help or "")) for d in analysis.diagnostics
    )
    graph = network.layer_graph
    edges = sorted(map(repr, graph.edges(data=True))) if hasattr(graph, "edges") else []
    nodes = {name: (data.get("kind"), repr(data.get("args"))) for name, data in graph.nodes.items()}
    return {"summary": summary, "diagnostics": diagnostics, "nodes": nodes, "edges": edges}


def comments_of(text: str) -> list[str]:
    """Every comment, by a character scan written for this test (strings hold no comments)."""
    found, index, quote = [], 0, None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            end = text.find("\n", index)
            end = len(text) if end == -1 else end
            found.append(text[index:end].rstrip())
            index = end
        index += 1
    return found


# ---------------------------------------------------------------------------------------------
# The style, case by case (expected layouts written by hand from README's "Formatting").

CASES = {
    "blocks without parameters, without parentheses": (
        "input x:3x8x8\nblock se=relu->sigmoid\nblock g{out=in->se}\ny=x->g->g()\n",
        "input x: 3 x 8 x 8\nblock se = relu -> sigmoid\n\nblock g {\n    out = in -> se\n}\n\ny = x -> g -> g()\n",
    ),
    "block arithmetic: shapes, constants and functions": (
        "input x:3x8x8\nblock b(e){const h=make_divisible( in . shape [ 1 ]*e,8)\nout=in->conv(max(h,in.shape[-1]),1)}\ny=x->b(2)\n",
        "input x: 3 x 8 x 8\n\nblock b(e) {\n    const h = make_divisible(in.shape[1] * e, 8)\n"
        "    out = in -> conv(max(h, in.shape[-1]), 1)\n}\n\ny = x -> b(2)\n",
    ),
    "a repeat index": (
        "input x:3x8x8\ny=x->(conv(3,3,p=i+1,d=i+1)*3  as  i)->relu*2 as j\n",
        "input x: 3 x 8 x 8\ny = x -> (conv(3, 3, p=i + 1, d=i + 1) * 3 as i) -> relu * 2 as j\n",
    ),
    "params: shape spaced as an input's, options as keyword arguments": (
        "input x:3x8x8\nparam cls:1x(2*4) , init = 0.5\nblock b(c){param g :c x 1x1\nout=in->mul(g)}\ny=x->b(3)\n",
        "input x: 3 x 8 x 8\nparam cls: 1 x (2 * 4), init=0.5\n\nblock b(c) {\n    param g: c x 1 x 1\n"
        "    out = in -> mul(g)\n}\n\ny = x -> b(3)\n",
    ),
    "declared output shapes": (
        "input x:3x8x8\noutput y:3x8x8=x->relu\nz=x->relu\noutput z :3x8x8\n",
        "input x: 3 x 8 x 8\noutput y: 3 x 8 x 8 = x -> relu\nz = x -> relu\noutput z: 3 x 8 x 8\n",
    ),
    "spacing": (
        "input x:3x32x32\ny=x->conv(8,3,s = 2,p=1)->relu\n",
        "input x: 3 x 32 x 32\ny = x -> conv(8, 3, s=2, p=1) -> relu\n",
    ),
    "expressions": (
        "const a=-1\nconst b=(a+2)*3//2%5\nconst c=a if not b==1 and a>=0 or true else - a\n",
        "const a = -1\nconst b = (a + 2) * 3 // 2 % 5\nconst c = a if not b == 1 and a >= 0 or true else -a\n",
    ),
    "per-axis values": (
        "input x: 3 x 32 x 32\ny = x -> conv(8, k = 3 x 1, s=(2,1)) -> maxpool(2x2)\n",
        "input x: 3 x 32 x 32\ny = x -> conv(8, k=3x1, s=(2, 1)) -> maxpool(2x2)\n",
    ),
    "blocks: defaults, annotated parameters, body, blank lines around": (
        "input x: 3 x 8 x 8\nblock b(skip:tensor,c=2,k : tensor=x){out=in->add(skip)}\ny=x->b(x)\n",
        "input x: 3 x 8 x 8\n\nblock b(skip: tensor, c=2, k: tensor = x) {\n    out = in -> add(skip)\n}\n\n"
        "y = x -> b(x)\n",
    ),
    "blank lines: at most one, none at the start, end or inside a body": (
        "\n\n\nnetwork n\n\n\n\ninput x: 3 x 8 x 8\nblock b() {\n\n    a = in\n\n\n    out = a\n\n}\n\n\n",
        "network n\n\ninput x: 3 x 8 x 8\n\nblock b() {\n    a = in\n\n    out = a\n}\n",
    ),
    "statements keep their own lines; backslash continuations are joined": (
        "input x: 3 x \\\n  8 x 8\noutput y, z\ny = x \\\n  -> relu\n",
        "input x: 3 x 8 x 8\noutput y, z\ny = x -> relu\n",
    ),
    "a chain breaks where the source broke it, always before the arrow": (
        "y = x ->\n  a -> b\n     -> c\n",
        "y = x\n    -> a -> b\n    -> c\n",
    ),
    "a long chain breaks before the arrow that would pass 100 columns": (
        "y = x -> " + " -> ".join(f"layer{i}: conv(64, 3, p=1)" for i in range(5)) + "\n",
        "y = x -> layer0: conv(64, 3, p=1) -> layer1: conv(64, 3, p=1) -> layer2: conv(64, 3, p=1)\n"
        "    -> layer3: conv(64, 3, p=1) -> layer4: conv(64, 3, p=1)\n",
    ),
    "a group that spans lines opens at the end of its line and closes on its own": (
        "y = x -> g: (a\n -> b) * 2 -> c\n",
        "y = x -> g: (\n    a\n    -> b\n) * 2 -> c\n",
    ),
    "nested groups, and a group after a break": (
        "y = x\n  -> outer: (a -> inner: (\nb -> c)\n  -> d)\n  -> e\n",
        "y = x\n    -> outer: (\n        a -> inner: (\n            b -> c\n        )\n        -> d\n    )\n    -> e\n",
    ),
    "a group too long for its line goes to a line of its own, and is spread": (
        "y = x -> g: (" + " -> ".join("conv(64, 3, p=1, bias=false)" for _ in range(4)) + ")\n",
        "y = x\n    -> g: (\n" + "        conv(64, 3, p=1, bias=false) -> conv(64, 3, p=1, bias=false)"
        " -> conv(64, 3, p=1, bias=false)\n        -> conv(64, 3, p=1, bias=false)\n    )\n",
    ),
    "comments: own lines keep their place, code comments align per paragraph": (
        "# head\n\n\n# about x\ninput x: 3 x 8 x 8 # shape\nconst a = 1    # one\n\nconst bb = 22 #two\n# end\n",
        "# head\n\n# about x\ninput x: 3 x 8 x 8  # shape\nconst a = 1         # one\n\nconst bb = 22  #two\n# end\n",
    ),
    "comments inside a chain, a group and arguments": (
        "y = x # a\n  # b\n  -> c ( 1, # d\n 2) -> # e\n  f\nz = (\n  # g\n  y -> h  # i\n  # j\n)\n",
        "y = x       # a\n    # b\n    -> c(\n        1,  # d\n        2\n    )\n    ->      # e\n    f\nz = (\n"
        "    # g\n    y -> h  # i\n    # j\n)\n",
    ),
    "long arguments: the ( ends its line, the arguments go one level deeper on one line, the ) on its own": (
        "y = x -> conv(64, 3, s=2, p=1, d=1, g=1, bias=false, padding_mode='zeros', dilation=1, groups=1, stride=2)\n",
        "y = x\n    -> conv(\n        64, 3, s=2, p=1, d=1, g=1, bias=false, padding_mode='zeros', dilation=1, groups=1, stride=2\n"
        "    )\n",
    ),
    "longer arguments: one per line, a tuple or a conditional kept whole, a trailing comma kept": (
        "block b(c) = conv(c * 1000000000, k=(3, 1), s=(2, 1), p=(1, 0), d=(1, 1), bias=true if c > 2 else false, "
        "padding_mode='zeros', dilation=(1, 1),)\n",
        "block b(c) = conv(\n    c * 1000000000,\n    k=(3, 1),\n    s=(2, 1),\n    p=(1, 0),\n    d=(1, 1),\n"
        "    bias=true if c > 2 else false,\n    padding_mode='zeros',\n    dilation=(1, 1),\n)\n",
    ),
    "long parameters of a block are laid out as arguments": (
        "block a_block_with_a_long_name(channels, kernel=3, stride=1, padding=1, dilation=1, groups=1, bias=false) {\n"
        "    out = in -> conv(channels, kernel)\n}\n",
        "block a_block_with_a_long_name(\n    channels, kernel=3, stride=1, padding=1, dilation=1, groups=1, bias=false\n"
        ") {\n    out = in -> conv(channels, kernel)\n}\n",
    ),
    "a comment among long arguments: one per line, the comment after its comma": (
        "y = x -> conv(64, 3,  # why 3\n  s=2, p=1) -> relu\n",
        "y = x -> conv(\n    64,\n    3,  # why 3\n    s=2,\n    p=1\n) -> relu\n",
    ),
    "arguments that fit are joined": (
        "y = x -> conv(\n    64,\n    3\n) -> relu\n",
        "y = x -> conv(64, 3) -> relu\n",
    ),
    "a comment between blocks goes after the blank line": (
        "block a() = relu\n# about b\nblock b() {\n    out = in\n}\n# after\nconst x = 1\n",
        "block a() = relu\n\n# about b\nblock b() {\n    out = in\n}\n\n# after\nconst x = 1\n",
    ),
    "comment text is kept, trailing blanks are not": (
        "#!no space   \n#   indented words\t\ninput x: 3 x 8 x 8\n",
        "#!no space\n#   indented words\ninput x: 3 x 8 x 8\n",
    ),
    "strings and their '#' are kept as written": (
        "y = x -> conv(8, 3, padding = \"same # not a comment\", p='a\\'b') # real\n",
        "y = x -> conv(8, 3, padding=\"same # not a comment\", p='a\\'b')  # real\n",
    ),
    "tabs and settings": (
        "set\tlayout=NHWC\n\tinput x:\t8 x 8 x 3\n",
        "set layout = NHWC\ninput x: 8 x 8 x 3\n",
    ),
    "empty and comment-only files": ("", ""),
    "only comments": ("  # a\n\n\n# b", "# a\n\n# b\n"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout(name):
    given, expected = CASES[name]
    assert format_text(given) == expected
    assert format_text(expected) == expected


def test_line_endings_and_byte_order_mark_are_kept():
    assert format_text("input x:3x8x8\r\ny=x->relu\r\n") == "input x: 3 x 8 x 8\r\ny = x -> relu\r\n"
    assert format_text("\ufeffinput x:3x8x8\n") == "\ufeffinput x: 3 x 8 x 8\n"
    assert format_text("input x:3x8x8") == "input x: 3 x 8 x 8\n"


def test_line_length_is_a_parameter():
    text = "y = x -> conv(64, 3) -> relu -> conv(64, 3) -> relu\n"
    assert format_text(text, line_length=30) == "y = x -> conv(64, 3) -> relu\n    -> conv(64, 3) -> relu\n"
    with pytest.raises(ValueError):
        format_text(text, line_length=5)


# ---------------------------------------------------------------------------------------------
# Meaning, comments and idempotence on every file the repository has, and on generated programs.


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_keeps_meaning_and_comments_and_is_idempotent(path):
    text = path.read_text(encoding="utf-8")
    try:
        formatted = format_text(text, path=str(path))
    except FormatError as err:
        assert "syntax_error" in path.name, err.diagnostics
        assert all(d.code.code == "E002" for d in err.diagnostics)
        return
    assert format_text(formatted, path=str(path)) == formatted
    assert comments_of(formatted) == comments_of(text)
    assert meaning(formatted, str(path)) == meaning(text, str(path))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.cdsl")), ids=_id)
def test_examples_are_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert format_text(text, path=str(path)) == text, f"run `convdsl fmt {_id(path)}`"


@pytest.mark.parametrize("seed", range(0, 160, 2))
def test_generated_programs(seed):
    for hostile in (False, True):
        text = generate(seed, hostile=hostile)
        formatted = format_text(text)
        assert format_text(formatted) == formatted
        assert comments_of(formatted) == comments_of(text.replace("\r\n", "\n").lstrip("\ufeff"))
        assert meaning(formatted, "<generated>") == meaning(text, "<generated>")
        assert "\t" not in formatted.replace("\\t", "")


def test_every_grammar_rule_has_a_layout():
    """A new rule in grammar/convdsl.lark must be given a place in convdsl/fmt/layout.py (RULES)."""
    from convdsl.fmt import cst
    from convdsl.fmt.layout import RULES

    names = set()
    for rule in cst.parser().rules:
        origin = str(rule.origin.name)
        if not origin.startswith("_"):
            names.add(origin)
        if rule.alias:
            names.add(str(rule.alias))
    assert names - RULES == set(), (
        "grammar rules convdsl/fmt/layout.py does not know: add each to STATEMENTS (a statement) or TOKEN_RUNS "
        "(laid out as its tokens with the spacing rules), or give it a method of its own, and add a case to CASES"
    )


# ---------------------------------------------------------------------------------------------
# Refusals and limits.


@pytest.mark.parametrize("text", ["y = x -> (\n", "input x 3 x 8\n", "y = x => relu\n", "y = x -> a ->\n"])
def test_syntax_errors_are_refused_with_the_diagnostic(text):
    with pytest.raises(FormatError) as caught:
        format_text(text, path="bad.cdsl")
    (first, *_) = caught.value.diagnostics
    assert first.code.code == "E002" and first.span.path == "bad.cdsl"


def test_hostile_depths_and_lengths():
    deep = "y = x -> " + "(" * 40 + "relu" + ")" * 40 + "\n"
    assert format_text(deep) == deep
    deepest = format_text("y = x -> " + "(" * 100 + "relu" + ")" * 100 + "\n")  # the limit: spread, one per line
    assert format_text(deepest) == deepest and deepest.count("\n") == 202
    with pytest.raises(FormatError) as caught:
        format_text("y = x -> " + "(" * 101 + "relu" + ")" * 101 + "\n")
    assert caught.value.diagnostics[0].code.code == "E019"
    long_sum = "const a = " + " + ".join(["1"] * 5_000) + "\n"
    assert format_text(long_sum) == long_sum  # expressions are laid out without recursion
    blocks = "".join(f"{'    ' * i}block b{i}() {{\n" for i in range(200)) + "".join(
        f"{'    ' * i}}}\n" for i in reversed(range(200))
    )
    with pytest.raises(FormatError) as caught:
        format_text(blocks)
    assert caught.value.diagnostics[0].code.code == "E019"
    many = "".join(f"t{i:04d} = x -> relu  # {i}\n" for i in range(5000))
    assert format_text(many) == many


# ---------------------------------------------------------------------------------------------
# The command line.


def run(*args, cwd=ROOT, stdin=None):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "convdsl", "fmt", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        input=stdin,
    )


UGLY = "input x:3x8x8\ny=x->relu # why\n"
PRETTY = "input x: 3 x 8 x 8\ny = x -> relu  # why\n"


def test_cli_formats_in_place_atomically(tmp_path):
    path = tmp_path / "a.cdsl"
    path.write_text(UGLY)
    path.chmod(0o640)
    (tmp_path / "b.cdsl").write_text(PRETTY)
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.read_text() == PRETTY
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.cdsl", "b.cdsl"]  # no temporary file left
    assert "1 file reformatted, 1 file left unchanged" in result.stderr


def test_cli_writes_through_a_symbolic_link(tmp_path):
    real = tmp_path / "real.cdsl"
    real.write_text(UGLY)
    link = tmp_path / "link.cdsl"
    link.symlink_to(real)
    assert run(link).returncode == 0
    assert link.is_symlink() and real.read_text() == PRETTY


def test_cli_check_and_diff_write_nothing(tmp_path):
    path = tmp_path / "a.cdsl"
    path.write_text(UGLY)
    result = run("--check", path)
    assert result.returncode == 1 and f"would reformat {path}" in result.stderr
    assert path.read_text() == UGLY
    result = run("--diff", path)
    assert result.returncode == 1 and path.read_text() == UGLY
    assert f"--- {path}\t(original)\n+++ {path}\t(formatted)\n" in result.stdout
    assert "\n-y=x->relu # why\n" in result.stdout and "\n+y = x -> relu  # why\n" in result.stdout
    path.write_text(PRETTY)
    assert run("--check", path).returncode == 0
    result = run("--diff", path)
    assert result.returncode == 0 and result.stdout == ""


def test_cli_standard_input():
    result = run("-", stdin=UGLY)
    assert result.returncode == 0 and result.stdout == PRETTY
    result = run("--check", "-", stdin=UGLY)
    assert result.returncode == 1 and result.stdout == ""
    result = run("--check", "-", stdin=PRETTY)
    assert result.returncode == 0


def test_cli_refuses_a_file_with_errors_and_leaves_it(tmp_path):
    path = tmp_path / "bad.cdsl"
    path.write_text("input x:3x8x8\ny = x -> (relu\n")
    before = path.stat().st_mtime_ns
    result = run(path)
    assert result.returncode == 1
    assert "error[E002]" in result.stderr and f"{path}:2:" in result.stderr
    assert "not formatted" in result.stderr
    assert path.stat().st_mtime_ns == before and path.read_text() == "input x:3x8x8\ny = x -> (relu\n"
    result = run("-", stdin="y = (\n")
    assert result.returncode == 1 and result.stdout == ""


def test_cli_unreadable_and_usage(tmp_path):
    assert run(tmp_path / "missing.cdsl").returncode == 2
    (tmp_path / "bin.cdsl").write_bytes(b"\x00\x01")
    assert run(tmp_path / "bin.cdsl").returncode == 2
    assert run("-", tmp_path / "bin.cdsl").returncode == 2
    assert run("--line-length", "10", "-", stdin=UGLY).returncode == 2


@pytest.mark.parametrize("case", range(40))
def test_comments_anywhere_a_line_may_end(case):
    """Comments added at the end of random lines, and on lines of their own between random lines, of
    the examples, fixtures and generated programs: kept, in order, with the meaning and idempotence."""
    import random

    rng = random.Random(case)
    sources = [p for p in FILES if "syntax_error" not in p.name]
    text = (
        rng.choice(sources).read_text(encoding="utf-8")
        if case % 2
        else generate(case, hostile=True).replace("\r\n", "\n").lstrip("\ufeff")
    )
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        after_continuation = index > 0 and lines[index - 1].rstrip().endswith("\\")
        if not after_continuation and rng.random() < 0.3:
            out.append(" " * rng.randint(0, 9) + f"# own {index}")
        if line.strip() and not line.rstrip().endswith("\\") and rng.random() < 0.4:
            line += " " * rng.randint(0, 3) + f"# after {index}"
        out.append(line)
    commented = "\n".join(out)
    formatted = format_text(commented)
    assert comments_of(formatted) == comments_of(commented)
    assert format_text(formatted) == formatted
    assert meaning(formatted, "<commented>") == meaning(commented, "<commented>")


# ---------------------------------------------------------------------------------------------
# Shapes with symbolic sizes: `3xHx33` is two axes, 3 and the name `Hx33` (a name takes letters,
# digits and `x`). The formatter writes `3 x Hx33`, which shows that; it must never write text that
# reads as other axes. The reference below is a tokeniser written for this test from the grammar's
# rules (`shape: _dim ("x" _dim)*`, `_dim: INT | NAME`, blanks ignored), as an LALR parser with a
# contextual lexer reads them: where a size is expected, `x...` is a name; after a size, `x` separates.

_INT = re.compile(r"[0-9][0-9_]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def reference_dims(shape: str) -> tuple | None:
    """The sizes a shape's text declares, or None if it is not a shape."""
    dims, index, want_size = [], 0, True
    while True:
        while index < len(shape) and shape[index] in " \t":
            index += 1
        if want_size:
            number, name = _INT.match(shape, index), _NAME.match(shape, index)
            if number:
                dims.append(int(number.group().replace("_", "")))
                index = number.end()
            elif name:
                dims.append(name.group())
                index = name.end()
            else:
                return None
            want_size = False
        elif index == len(shape):
            return tuple(dims)
        elif shape[index] == "x":
            index += 1
            want_size = True
        else:
            return None


_PIECES = ["3", "33", "224", "1_0", "H", "W", "Hx33", "x", "x3", "xH", "Hx", "W2x2", "_x1", "hx"]
_SEPARATORS = ["x", " x ", " x", "x ", " ", "  x  "]


@given(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5),
    st.lists(st.sampled_from(_SEPARATORS), min_size=4, max_size=4),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fmt_never_changes_the_axes_of_a_shape(pieces, separators):
    shape = pieces[0] + "".join(sep + piece for sep, piece in zip(separators, pieces[1:]))
    text = f"input a: {shape}\ny = a -> relu\noutput y\n"
    expected = reference_dims(shape)
    if expected is None:
        with pytest.raises(FormatError):
            format_text(text)
        return
    assert parsed_dims(text) == expected  # convdsl's parser agrees with the reference
    formatted = format_text(text)
    assert parsed_dims(formatted) == expected, formatted
    assert meaning(formatted, "<shape>") == meaning(text, "<shape>")
    assert format_text(formatted) == formatted
    # and the formatted text says it plainly: one blank on either side of each separating `x`
    written = formatted.splitlines()[0].removeprefix("input a: ")
    assert written == " x ".join(_sizes_as_written(shape))


def parsed_dims(text: str) -> tuple:
    """The sizes of the first statement (an input) as convdsl's parser reads them."""
    from convdsl.frontend import parse
    from convdsl.source import Source

    program, errors = parse(Source("<shape>", text))
    assert program is not None, errors
    return tuple(d.value for d in program.statements[0].dims)


def _sizes_as_written(shape: str) -> list[str]:
    """The sizes of a valid shape as written (`1_0` stays `1_0`), by the reference's rules."""
    out, index, want_size = [], 0, True
    while index < len(shape):
        if shape[index] in " \t":
            index += 1
            continue
        if want_size:
            match = _INT.match(shape, index) or _NAME.match(shape, index)
            out.append(match.group())
            index, want_size = match.end(), False
        else:
            index, want_size = index + 1, True  # the `x`
    return out


@pytest.mark.parametrize(
    ("shape", "expected"),
    [("3xHx33", (3, "Hx33")), ("3 x H x 33", (3, "H", 33)), ("3xH x33", (3, "H", 33)), ("3 x x3", (3, "x3"))],
)
def test_shape_tokens_by_hand(shape, expected):
    assert reference_dims(shape) == expected
    text = f"input a: {shape}\ny = a -> relu\noutput y\n"
    assert parsed_dims(format_text(text)) == expected


# ---------------------------------------------------------------------------------------------
# A `# convdsl: ignore[...]` comment silences codes on its own line (where a diagnostic's span
# starts). The formatter's line breaks must never move code away from it: on every shape of
# statement, what `check` reports (suppressions applied) is the same before and after, and the
# suppressed warning is really there without the comment (so each case tests something).

_LONG = " -> ".join(f"l{i}: conv(8, 3, p=1, bias=false)" for i in range(3))
_ARGS = "kernel_size=3, stride=1, padding=1, dilation=1, groups=1, in_channels=8"  # with out_channels
SUPPRESSED = {
    "long chain, the conv last": f"y = x -> {_LONG} -> conv(8, 3, p=1) -> bn  # convdsl: ignore[W101]\n",
    "long chain, the conv first": f"y = x -> conv(8, 3, p=1) -> bn -> {_LONG}  # convdsl: ignore[W101]\n",
    "long arguments": f"y = x -> conv(out_channels=8, {_ARGS}) -> bn -> relu  # convdsl: ignore[W101]\n",
    "arguments over two lines, the comment on the first": (
        f"y = x -> conv({_ARGS},  # convdsl: ignore[W101]\n    out_channels=8) -> bn\n"
    ),
    "a long group": f"y = x -> g: (conv(8, 3, p=1) -> bn -> {_LONG}) * 2  # convdsl: ignore[W101]\n",
    "a continuation line": f"y = x\n    -> {_LONG}\n    -> conv(out_channels=8, {_ARGS}) -> bn  # convdsl: ignore[W101]\n",
    "an unused tensor, a long statement": (
        f"unused = x -> {_LONG} -> {_LONG.replace('l', 'm')}  # convdsl: ignore[W001]\ny = x -> relu\n"
    ),
    "inside a block body": (
        f"block b(c) {{\n    out = in -> {_LONG} -> conv(c, 3, p=1) -> bn  # convdsl: ignore[W101]\n}}\ny = x -> b(8)\n"
    ),
    "a one-line block": f"block b(c) = {_LONG} -> conv(out_channels=c, {_ARGS}) -> bn  # convdsl: ignore[W101]\ny = x -> b(8)\n",
    "an output assignment": f"output z = x -> {_LONG} -> conv(out_channels=8, {_ARGS}) -> bn  # convdsl: ignore[W101]\n",
    "a repeat and a condition": (
        f"y = x -> (conv(8, 3, p=1) -> bn) * 2 if true -> {_LONG} -> {_LONG}  # convdsl: ignore[W101]\n"
    ),
    "labelled, with a comment between arguments on the next line": (
        f"y = x -> c1: conv(out_channels=8, {_ARGS}, round='floor') -> bn  # convdsl: ignore[W101]\n    -> conv(8,  # eight\n  3)\n"
    ),
}


def reported(text: str) -> list[tuple[str, str]]:
    """What `check` reports for a text: codes and messages, suppressions applied (lines change, so not them)."""
    from convdsl.suppress import apply

    network = convdsl.loads(text, "<suppressed>")
    found = apply(network.analyze().diagnostics, network.sources)
    return sorted((d.code.code, d.message) for d in found)


@pytest.mark.parametrize("name", sorted(SUPPRESSED))
def test_a_suppression_still_applies_after_fmt(name):
    body = SUPPRESSED[name]
    text = "input x: 8 x 32 x 32\n" + body + ("" if "output z" in body else "output y\n")
    code = body.split("ignore[")[1][:4]
    without = text.replace(f"  # convdsl: ignore[{code}]", "")
    assert code in {c for c, _ in reported(without)}, "the case must raise the warning it silences"
    assert code not in {c for c, _ in reported(text)}
    formatted = format_text(text)
    assert max(len(line) for line in formatted.splitlines()) > 100 or name.startswith("arguments over")
    assert reported(formatted) == reported(text), formatted
    assert format_text(formatted) == formatted
    # and the formatter did break what it may: a line without a suppression is within the width
    assert all(len(line) <= 100 for line in formatted.splitlines() if "convdsl: ignore" not in line), formatted
