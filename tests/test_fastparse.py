"""The fast parser (convdsl/fastparse.py) builds the very tree Lark's parse and ToSyntax build, spans and all."""

from __future__ import annotations

import pytest
from conftest import ROOT

from convdsl import frontend, grammar
from convdsl.loading import decode
from convdsl.source import Source
from fuzz.generate import generate

FILES = sorted(
    {*ROOT.glob("examples/*.cdsl"), *ROOT.glob("tests/fixtures/**/*.cdsl"), *ROOT.glob("tests/golden/*.cdsl")}, key=str
)


def _text(source: Source) -> str:
    return frontend.prepared_text(source)


def _by_lark(source: Source):
    """The tree as Lark's parse makes it: Lark's tree through ToSyntax; None on an error."""
    try:
        return grammar.to_syntax(grammar.parser().parse(_text(source)), source.path)
    except Exception:
        return None


def _by_fast(source: Source):
    """The fast parser's tree; None where it gives up (frontend.parse then asks Lark, whatever the exception)."""
    try:
        return frontend.fast_parser().parse(_text(source), source.path)
    except Exception:
        return None


def _sources():
    for path in FILES:
        source = decode(str(path), path.read_bytes())
        if isinstance(source, Source):
            yield path.relative_to(ROOT).as_posix(), source
    for seed in range(300):
        yield f"generated:{seed}", Source("generated.cdsl", generate(seed, hostile=seed % 3 == 0))


CASES = list(_sources())


@pytest.mark.parametrize("name, source", CASES, ids=[name for name, _ in CASES])
def test_same_tree_as_lark(name, source):
    expected = _by_lark(source)
    found = _by_fast(source)
    if expected is None:
        assert found is None  # a file with a syntax error is Lark's to report
    else:
        assert repr(found) == repr(expected)


def test_the_fast_parser_is_used():
    """Without this, a fast parser that always gave up would pass every other test, only slowly."""
    assert frontend.fast_parser() is not None
    source = decode(str(ROOT / "examples" / "resnet50.cdsl"), (ROOT / "examples" / "resnet50.cdsl").read_bytes())
    assert _by_fast(source) is not None


@pytest.mark.parametrize(
    "text",
    [
        "input x: 3 x 8 x 8\ny = x -> conv(4, 3\n",  # a '(' never closed
        "input x: 3 x 8 x 8\ny = x -> relu ->\n",  # a chain ending with '->'
        "input x: 3 x 8 x 8\ny = x -> conv(" + "(" * 200 + "1" + ")" * 200 + ")\n",  # nested too deeply
        "input x: 3 x 8 x 8\ny = x -> conv(1" + "0" * 2000 + ")\n",  # a number too long
        "input x: 3 x 8 x 8\ny = x -> relu; z = y\n",  # an unexpected character
    ],
)
def test_errors_are_left_to_lark(text):
    source = Source("bad.cdsl", text)
    with pytest.raises(Exception):  # noqa: B017 - _GiveUp, or the error ToSyntax raises (a number too long)
        frontend.fast_parser().parse(_text(source), source.path)
    program, found = frontend.parse(source)
    assert program is None and found
