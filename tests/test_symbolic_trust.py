"""Symbolic sizes: a fixed axis beside a symbolic one, axes tied together, counts as compact polynomials.

Expectations are hand arithmetic, or PyTorch at sizes the rule accepts.
"""

from __future__ import annotations

import convdsl
from conftest import require


def test_a_symbolic_height_beside_a_fixed_odd_width():
    # conv 3x3 stride 2, no padding: (n - 3)/2 + 1 is whole exactly for odd n >= 3. The width 33 is odd;
    # the height is free: H = 2k + 1 (the issue: check said no H works, E113, as both axes were moved
    # together from 224 and 33, so never both odd).
    analysis = convdsl.loads("input x: 3 x H x 33\noutput y = x -> t: conv(8, 3, s=2)\n").analyze()
    codes = [d.code.code for d in analysis.diagnostics]
    assert codes == ["N001"]
    assert "2k + 1" in analysis.diagnostics[0].message
    shape = analysis.layers["t"].output_shape
    # 8 x (H - 1)/2 x 16: at H = 101, 50; MACs 8 * 3 * 3 * 3 = 216 weights at 50 * 16 positions
    assert shape[1].evaluate({"H": 101}) == 50 and shape[2] == 16
    assert analysis.layers["t"].macs.evaluate({"H": 101}) == 216 * 50 * 16
    assert str(analysis.layers["t"].macs) == "1728*(H - 1)"  # 216 * 16 * (H - 1)/2


def test_inception_like_height_with_a_fixed_299_width():
    torch = require("torch")
    # Inception-v3's stem on 299: conv 3x3/2 -> 149, conv 3x3 -> 147, maxpool 3/2 -> 73
    text = (
        "input x: 3 x H x 299\noutput y = x -> conv(32, 3, s=2) -> conv(32, 3) -> conv(64, 3, p=1)"
        " -> t: maxpool(3, s=2)\n"
    )
    analysis = convdsl.loads(text).analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, 2),
        torch.nn.Conv2d(32, 32, 3),
        torch.nn.Conv2d(32, 64, 3, padding=1),
        torch.nn.MaxPool2d(3, 2),
    )
    shape = analysis.layers["t"].output_shape
    for h in (299, 147, 75):
        expected = tuple(model(torch.zeros(1, 3, h, 299)).shape[1:])
        assert (shape[0], shape[1].evaluate({"H": h}), shape[2]) == expected


def test_axes_tied_by_a_reshape_say_so():
    # reshape to 50,176 values needs H * W = 50176 = 224 * 224 = 112 * 448: H alone is not "only 224"
    analysis = convdsl.loads("input x: 1 x H x W\noutput y = x -> reshape((50176,))\n").analyze()
    notes = {d.message for d in analysis.diagnostics if d.code.code == "N001"}
    assert "`H` may be only 224 when W = 224" in notes
    assert not convdsl.loads("input x: 1 x 112 x 448\noutput y = x -> reshape((50176,))\n").analyze().diagnostics


def test_unet_macs_are_a_polynomial_equal_to_the_published_total():
    text = open("examples/unet.cdsl").read().replace("1 x 572 x 572", "1 x H x W")
    analysis = convdsl.loads(text).analyze()
    total = analysis.macs
    # the paper's U-Net at 572 x 572: 150,428,424,448 MACs (shared/reference/README.md)
    assert total.evaluate({"H": 572, "W": 572}) == 150_428_424_448
    # and at the next accepted size, 588 (16k + 12), equal to the numeric inference there
    numeric = convdsl.loads(text.replace("1 x H x W", "1 x 588 x 588")).analyze()
    assert total.evaluate({"H": 588, "W": 588}) == numeric.macs
    assert len(str(total)) < 80  # compact: one polynomial, not a sum of 23 floor products
    assert "floor" not in str(analysis.layers["outc"].macs)
    # outc: 1x1 conv 64 -> 2: 128 weights at (H - 184) x (W - 184) positions
    assert str(analysis.layers["outc"].macs) == "128*(H - 184)*(W - 184)"


def test_chunk_of_a_symbolic_axis_has_torch_sizes():
    # torch.chunk: parts of ceil(n/2), the last one what is left; the parts are expressions of H and W
    torch = require("torch")
    text = "input x: 3 x H x W\nu, v = x -> flatten -> chunk(2)\noutput y = concat(u, v)\n"
    analysis = convdsl.loads(text).analyze()
    assert [d.code.code for d in analysis.diagnostics if d.code.code != "N001"] == []
    assert not analysis.partial
    first, second = analysis.layers["chunk1"].output_shapes
    for h, w in ((1, 1), (3, 5), (7, 2), (224, 224)):
        u, v = torch.zeros(1, 3 * h * w).chunk(2, dim=1)
        assert (first[0].evaluate({"H": h, "W": w}), second[0].evaluate({"H": h, "W": w})) == (u.shape[1], v.shape[1])


def test_a_shape_that_cannot_be_written_in_symbols_is_said_once_and_the_totals_say_why():
    # upsample by 1.5: floor(1.5 * H) has no exact form in the symbolic arithmetic; the layers after it
    # are unknown too, but only the first is named, and nothing claims there was an error
    text = "input x: 3 x H x W\noutput y = x -> upsample(scale=1.5) -> conv(8, 3)\n"
    analysis = convdsl.loads(text).analyze()
    unknown = [d for d in analysis.diagnostics if d.code.code == "N002"]
    assert len(unknown) == 1 and not analysis.has_errors
    assert unknown[0].span.line == 2
    assert analysis.partial
    assert analysis.partial_note == "partial: layers whose shape is unknown are not counted"
    from convdsl.summary import table

    assert "layers after an error" not in table(analysis)
    assert "layers whose shape is unknown" in table(analysis)
