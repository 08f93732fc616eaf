"""End-to-end smoke tests on networks whose numbers are published."""

import convdsl
from conftest import EXAMPLES


def test_lenet_inline_matches_pytorch_tutorial():
    # pytorch/tutorials beginner_source/blitz/neural_networks_tutorial.py: 61,706 params;
    # MACs by hand: conv1 6*1*25*28*28 = 117,600; conv2 16*6*25*10*10 = 240,000;
    # fc 400*120 + 120*84 + 84*10 = 48,000 + 10,080 + 840 = 58,920; total 416,520.
    net = convdsl.loads(
        "input x: 1 x 32 x 32\n"
        "y = x -> conv(6, 5) -> relu -> maxpool(2) -> conv(16, 5) -> relu -> maxpool(2)\n"
        "   -> flatten -> fc(120) -> relu -> fc(84) -> relu -> fc(10)\n"
    )
    analysis = net.analyze()
    assert not analysis.diagnostics
    assert analysis.params == 61_706
    assert analysis.macs == 416_520
    assert analysis.output_shapes() == {"y": (10,)}


def test_resnet50_matches_torchvision():
    # torchvision 0.29 resnet50 _meta: num_params 25,557,032; _ops 4.089 GMACs.
    analysis = convdsl.load(EXAMPLES / "resnet50.cdsl").analyze()
    assert not analysis.diagnostics
    assert (analysis.params, analysis.macs) == (25_557_032, 4_089_184_256)
    assert analysis.output_shapes() == {"logits": (1000,)}
    assert "layer1.0.conv1" in analysis.layers and "fc" in analysis.layers


def test_merge_mismatch_traces_where_branches_diverged():
    # 51 rows pooled by 2 (floor stated) give 25, upsampled x2 give 50; the skip still has 51.
    net = convdsl.loads(
        "input x: 8 x 51 x 51\ndown = x -> maxpool(2, round=floor)\nup = down -> upsample(2)\ny = add(up, x)\n"
    )
    (diag,) = net.analyze().diagnostics
    assert diag.code.code == "E107" and diag.span.line == 4
    assert diag.notes == (
        "input 1 height: 51 at `x` -> 25 at `maxpool1` ((51 + 0 - 2)/2 + 1 = 25.5 -> 25) -> 50 at `upsample1`",
        "input 2 height: 51 at `x`",
    )
