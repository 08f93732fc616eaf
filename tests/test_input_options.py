"""Input options `layout=tokens` and `dtype=long` (docs/design/transformers.md, 2.1): which axes are
sequence axes (symbolic and swept by `sizes`), which must be numbers, and that only `embedding`
reads ids."""

from __future__ import annotations

import pytest
from conftest import require

import convdsl
from convdsl.sizes import variables


def _analysis(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not [d for d in analysis.diagnostics if d.is_error], [d.message for d in analysis.diagnostics]
    return analysis


def _errors(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    return [(d.code.code, d.span.line, d.span.column, d.message, d.help) for d in analysis.diagnostics if d.is_error]


def test_tokens_may_have_a_symbolic_length_and_sizes_sweeps_it():
    analysis = _analysis("input t: L x 64, layout=tokens\ny = t -> layernorm(64) -> attention(4)\n")
    spec = analysis.network.inputs["t"]
    assert (spec.layout, spec.axes) == ("tokens", ("L", "D"))
    assert [v.name for v in variables(analysis.network)] == ["L"]
    # the same tensor as channels: 64 would be the swept axis, and L the channels (refused)
    assert _errors("input t: L x 64\ny = t -> relu\n")[0][:3] == ("E014", 1, 10)


def test_a_grid_of_tokens_names_its_axes():
    spec = _analysis("input t: 56 x 56 x 96, layout=tokens\ny = t -> relu\n").network.inputs["t"]
    assert spec.axes == ("H", "W", "D") and list(spec.spatial_indices()) == [0, 1]


def test_ids_are_read_by_embeddings_only():
    analysis = _analysis("input ids: T, dtype=long\ny = ids -> embedding(1000, 32) -> layernorm(32)\n")
    assert analysis.network.inputs["ids"].axes == ("T",)
    assert analysis.params == 1000 * 32 + 64
    errors = _errors("input ids: 16, dtype=long\ny = ids -> linear(4)\n")
    assert errors[0][:3] == ("E008", 2, 12) and "only `embedding`" in errors[0][3]
    errors = _errors("input x: 3 x 8 x 8\ny = x -> conv(4, 1) -> embedding(10, 4)\n")
    assert errors[0][:3] == ("E008", 2, 24) and "computed by a layer" in errors[0][3]


def test_an_old_file_without_dtype_keeps_working():
    analysis = _analysis("input ids: 1024\ny = ids -> embedding(50257, 768)\n")
    assert analysis.output_shapes()["y"] == (1024, 768)


@pytest.mark.parametrize(
    "text, code, column, words",
    [
        ("input t: 8 x D, layout=tokens\ny = t -> relu\n", "E014", 14, "a token's width"),
        ("input t: 8 x 4, layout=rows\ny = t -> relu\n", "E014", 24, "`layout` is one of"),
        ("input t: 8 x 4, dtype=int8\ny = t -> relu\n", "E014", 23, "`dtype` is one of"),
        ("input t: 8 x 4, colour=red\ny = t -> relu\n", "E006", 17, "unknown input option"),
    ],
    ids=["symbolic width", "layout", "dtype", "option"],
)
def test_misuse_is_a_diagnostic_at_its_place(text, code, column, words):
    errors = _errors(text)
    assert errors[0][:3] == (code, 1, column), errors
    assert words in errors[0][3] and errors[0][4]


def test_ids_verify_with_random_ids():
    require("torch")
    from convdsl.export.verify import verify

    analysis = _analysis("input ids: 12, dtype=long\ny = ids -> embedding(100, 8) -> layernorm(8)\n")
    assert verify(analysis, batch=2).ok
