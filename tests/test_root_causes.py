"""One mistake, one error, with a help that works: the cases the trust review found."""

from __future__ import annotations

import re

import convdsl
from conftest import require


def _codes(text: str) -> list[tuple[int, str]]:
    return [(d.span.line if d.span else 0, d.code.code) for d in convdsl.loads(text).analyze().diagnostics]


def test_reshape_help_is_a_working_call():
    text = "input x: 32 x 8 x 8\nv = x -> global_avgpool -> flatten\ny = mul(x, v)\n"
    (diag,) = convdsl.loads(text).analyze().diagnostics
    assert diag.code.code == "E107"
    call = re.search(r"`-> (reshape\(.*\))`", diag.help).group(1)
    # the flattened gate has 32 values; (32, 1, 1) broadcasts against 32 x 8 x 8
    assert call == "reshape((32, 1, 1))"
    fixed = convdsl.loads(text.replace("-> flatten", f"-> flatten -> {call}")).analyze()
    assert not fixed.diagnostics
    assert fixed.output_shapes()["y"] == (32, 8, 8)


def test_an_unknown_layer_written_as_a_merge_is_unknown():
    # (`matmul` became a kind of its own; `einsum` is none)
    text = "input a: 4 x 8\ninput b: 4 x 8\ny = einsum(a, b)\n"
    assert _codes(text) == [(3, "E005")]  # not E018 "a chain must start from a tensor", not W001 for a and b


def test_a_block_constant_works_and_a_failed_one_is_reported_once():
    # `const` in a block body (issue 17): local to each instance, it reads the block's parameters
    text = "block b(c) {\n    const w = c * 2\n    out = in -> conv(w, 3)\n}\ninput x: 3 x 8 x 8\ny = x -> b(4)\n"
    analysis = convdsl.loads(text).analyze()
    assert not analysis.diagnostics and analysis.output_shapes()["y"] == (8, 6, 6)
    failed = text.replace("c * 2", "c // 0")
    diags = convdsl.loads(failed).analyze().diagnostics
    assert [(d.span.line, d.code.code) for d in diags] == [(2, "E013")]  # no E003 for `w` on line 3


def test_a_failed_constant_does_not_fail_every_later_one():
    text = "const a = 1 // 0\nconst b = a * 2\nconst c = b * 2\ninput x: 3 x 8 x 8\ny = x -> conv(c, 3)\n"
    assert _codes(text) == [(1, "E013")]


def test_a_failed_input_is_not_also_a_missing_input():
    text = "input x: 3 x 0 x 8\ny = x -> conv(4, 3)\n"
    assert _codes(text) == [(1, "E014")]  # not E020 "the network declares no input"


def _fixed(text: str, code: str):
    from convdsl.fixes import apply
    from convdsl.loading import rebuild

    network = convdsl.loads(text, "t.cdsl")
    (diag,) = [d for d in network.analyze().diagnostics if d.code.code == code]
    (fix,) = diag.fixes
    return rebuild(network, apply(network.sources, fix.edits)).analyze()


def test_pytorch_conv_order_is_recognised_and_its_fix_is_pytorchs_layer():

    torch = require("torch")
    text = "input x: 3 x 32 x 32\ny = x -> conv2d(3, 16, 3)\n"
    after = _fixed(text, "W105")
    assert not after.diagnostics
    expected = torch.nn.Conv2d(3, 16, 3)
    assert after.output_shapes()["y"] == tuple(expected(torch.zeros(1, 3, 32, 32)).shape[1:])
    assert after.params == sum(p.numel() for p in expected.parameters())


def test_pytorch_linear_order_is_recognised_and_its_fix_is_pytorchs_layer():

    torch = require("torch")
    text = "input x: 100\ny = x -> linear(100, 10)\n"
    diags = convdsl.loads(text).analyze().diagnostics
    assert [d.code.code for d in diags] == ["E008"] and "PyTorch's order" in diags[0].message
    after = _fixed(text, "E008")
    expected = torch.nn.Linear(100, 10)
    assert not after.diagnostics
    assert after.output_shapes()["y"] == (10,)
    assert after.params == sum(p.numel() for p in expected.parameters())


def test_bare_layernorm_says_what_it_normalises():

    torch = require("torch")
    text = "input x: 4 x 256 x 256\ny = x -> t: layernorm\n"
    analysis = convdsl.loads(text).analyze()
    (diag,) = analysis.diagnostics
    assert diag.code.code == "W106"
    # what it is: torch's LayerNorm over (4, 256, 256), 2 x 262,144 parameters
    assert analysis.params == sum(p.numel() for p in torch.nn.LayerNorm((4, 256, 256)).parameters()) == 524_288
    assert not _fixed(text, "W106").diagnostics


AUTOENCODER = """input img: 3 x 64 x 64
z = img -> conv(16, 3, s=2, p=1) -> relu -> conv(32, 3, s=2, p=1) -> relu
output recon: 3 x 64 x 64 = z -> conv_transpose(16, 3, s=2, p=1) -> relu -> conv_transpose(3, 3, s=2, p=1)
"""


def test_a_declared_output_shape_is_checked_and_output_padding_fixes_it():

    torch = require("torch")
    nn = torch.nn
    encoder = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU())
    z = encoder(torch.zeros(1, 3, 64, 64))
    plain = nn.Sequential(nn.ConvTranspose2d(32, 16, 3, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 3, 3, 2, 1))
    padded = nn.Sequential(
        nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 3, 3, 2, 1, output_padding=1),
    )
    assert tuple(plain(z).shape[1:]) == (3, 61, 61) and tuple(padded(z).shape[1:]) == (3, 64, 64)
    analysis = convdsl.loads(AUTOENCODER, "ae.cdsl").analyze()
    (diag,) = analysis.diagnostics
    assert diag.code.code == "E115" and "3 x 61 x 61" in diag.message
    words = [f.description for f in diag.fixes]
    assert "use `output_padding=1` on each transposed convolution" in words
    after = _apply(AUTOENCODER, diag.fixes[words.index("use `output_padding=1` on each transposed convolution")])
    assert not after.diagnostics and after.output_shapes()["recon"] == (3, 64, 64)


def test_old_output_forms_still_work_and_a_wrong_channel_count_is_caught():
    text = "input x: 3 x 8 x 8\ny = x -> conv(4, 3)\noutput y: 5 x 6 x 6\n"
    (diag,) = convdsl.loads(text).analyze().diagnostics
    assert diag.code.code == "E115"  # conv(4, 3) on 8 x 8: 4 x 6 x 6
    assert [f.description for f in diag.fixes] == ["declare `y` as 4 x 6 x 6"]
    assert not convdsl.loads("input x: 3 x 8 x 8\noutput y = x -> conv(4, 3)\n").analyze().diagnostics
    assert not convdsl.loads("input x: 3 x 8 x 8\ny = x -> conv(4, 3)\noutput y\n").analyze().diagnostics


def _apply(text, fix):
    from convdsl.fixes import apply
    from convdsl.loading import rebuild

    network = convdsl.loads(text, "ae.cdsl")
    return rebuild(network, apply(network.sources, fix.edits)).analyze()
