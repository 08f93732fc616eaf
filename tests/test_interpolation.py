"""Interpolated position embeddings: a learned grid resized to the patch grid with `upsample(like=)`
(timm's and torchvision's interpolate_embeddings), and what `convdsl sizes` answers for ViT with a fixed
grid (only the size it was made for) and with interpolation (multiples of the patch)."""

from __future__ import annotations

import pytest

import convdsl
from conftest import EXAMPLES, ROOT, require
from convdsl.sizes import analyze_sizes

torch = require("torch")
F = torch.nn.functional

SMALL = (ROOT / "tests" / "fixtures" / "features" / "vit_interpolated.cdsl").read_text()


def _valid(text, axis="H"):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    report = analyze_sizes(analysis.network, limit=256)
    assert report.problem is None, report.problem
    (found,) = [a for a in report.axes if a.variable.name == axis]
    return list(found.valid)


def test_upsample_like_resizes_to_the_other_tensors_grid():
    text = "input a: 8 x 4 x 4\ninput b: 3 x 7 x 5\ny = a -> t: upsample(like=b, mode=bicubic)\n"
    analysis = convdsl.loads(text).analyze()
    expected = F.interpolate(torch.zeros(1, 8, 4, 4), size=torch.zeros(1, 3, 7, 5).shape[2:], mode="bicubic")
    assert analysis.layers["t"].output_shapes == (tuple(expected.shape[1:]),)


@pytest.mark.parametrize(
    "line, code",
    [
        ("y = a -> upsample(2, like=b)", "E008"),
        ("y = a -> upsample(like=c)", "E111"),
    ],
    ids=["with a scale", "rank"],
)
def test_upsample_like_misuse(line, code):
    text = f"input a: 8 x 4 x 4\ninput b: 3 x 7 x 5\ninput c: 3 x 7\n{line}\n"
    codes = [d.code.code for d in convdsl.loads(text).analyze().diagnostics if d.is_error]
    assert codes and codes[0] == code, codes


def test_a_small_vit_with_an_interpolated_grid_takes_multiples_of_its_patch():
    valid = _valid(SMALL)
    assert valid[:4] == [8, 16, 24, 32] and all(v % 8 == 0 for v in valid)
    fixed = SMALL.replace("param pos_grid: 32 x 4 x 4", "param pos_grid: 32 x 4 x 4").replace(
        "upsample(like=g, mode=bicubic)", "identity"
    )
    assert _valid(fixed) == [32]  # a fixed 4 x 4 grid: only 32 x 32 images


def test_vit_b_16_fixed_takes_only_224_and_interpolated_multiples_of_16():
    text = (EXAMPLES / "vit_b_16.cdsl").read_text()
    assert _valid(text) == [224]
    # the fixed 197 x 768 positions become the class token's own and a 14 x 14 grid resized to the
    # patches: as many learned values (1 + 14 * 14 = 197 positions of 768), any multiple of 16
    parts = (
        ("    param pos_embedding: length x dim\n", ""),
        ("    out = in -> add(pos_embedding) -> dropout(0.0)", "    out = in -> dropout(0.0)"),
        (
            "param class_token: 1 x 768\np = image -> conv_proj: conv(768, 16, s=16) -> flatten(2) -> transpose(1, 2)\n"
            "x = concat(class_token, p, dim=1)",
            "param class_token: 1 x 768\nparam cls_pos: 1 x 768\nparam pos_grid: 768 x 14 x 14\n"
            "g = image -> conv_proj: conv(768, 16, s=16)\n"
            "q = pos_grid -> upsample(like=g, mode=bicubic) -> flatten(2) -> transpose(1, 2)\n"
            "p = g -> flatten(2) -> transpose(1, 2) -> add(q)\n"
            "c = add(class_token, cls_pos)\n"
            "x = concat(c, p, dim=1)",
        ),
    )
    interpolated = text
    for a, b in parts:
        assert a in interpolated, a
        interpolated = interpolated.replace(a, b)
    analysis = convdsl.loads(interpolated).analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    assert analysis.params == 86_567_656
    valid = _valid(interpolated)
    assert valid[:3] == [16, 32, 48] and all(v % 16 == 0 for v in valid)
