"""The zoo: every example checks clean, and the classic networks match their published numbers.

Sources (shared/reference/README.md): torchvision 0.29 `_meta` (num_params, and _ops
in GMACs, whose exact integers these are) for AlexNet, VGG16, VGG16-BN, ResNet-18,
ResNet-50, MobileNetV2 and GoogLeNet; counted with PyTorch 2.13 on the networks as
their sources define them for LeNet (pytorch/tutorials neural_networks_tutorial.py),
U-Net (arXiv:1505.04597, Fig. 1) and the DCGAN generator (pytorch/examples dcgan/main.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import convdsl
from conftest import EXAMPLES, ROOT

PUBLISHED = [
    # file, params, MACs, output shape
    ("lenet", 61_706, 416_520, (10,)),
    ("alexnet", 61_100_840, 714_188_480, (1000,)),
    ("vgg16", 138_357_544, 15_470_264_320, (1000,)),
    ("vgg16_bn", 138_365_992, 15_470_264_320, (1000,)),
    ("resnet18", 11_689_512, 1_814_073_344, (1000,)),
    ("resnet50", 25_557_032, 4_089_184_256, (1000,)),
    ("mobilenet_v2", 3_504_872, 300_774_272, (1000,)),
    ("googlenet", 6_624_904, 1_498_376_192, (1000,)),
    ("unet", 31_030_658, 150_428_424_448, (2, 388, 388)),
    ("dcgan_generator", 3_576_704, 104_628_224, (3, 64, 64)),
    # torchvision 0.29 `_meta` (num_params; _ops in GMACs with the attention matmuls, torchvision's
    # convention): vit_b_16 17.564, swin_t 4.491, convnext_tiny 4.456; the exact integers are worked
    # out from the layer shapes in tests/test_transformer_zoo.py against plain-torch definitions.
    ("vit_b_16", 86_567_656, 17_563_828_224, (1000,)),
    ("swin_t", 28_288_354, 4_490_566_656, (1000,)),
    ("convnext_tiny", 28_589_128, 4_455_531_264, (1000,)),
]

ALL_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.cdsl"))


@pytest.mark.parametrize("name,params,macs,output", PUBLISHED, ids=[row[0] for row in PUBLISHED])
def test_published_numbers(name, params, macs, output):
    result = subprocess.run(
        [sys.executable, "-m", "convdsl", "summary", "--format", "json", str(EXAMPLES / f"{name}.cdsl")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["params"], data["macs"]) == (params, macs)
    (shape,) = data["outputs"].values()
    assert tuple(shape) == output


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_checks_clean(name):
    analysis = convdsl.load(EXAMPLES / name).analyze()
    assert analysis.diagnostics == (), [f"{d.code.code} {d.span}: {d.message}" for d in analysis.diagnostics]


def test_inception_module_by_hand():
    # Inception 3a (192 -> 64 + 128 + 32 + 32 = 256 channels at 28x28), torchvision BasicConv2d
    # (conv without bias, batch norm): conv weights 192*64 + 192*96 + 96*128*9 + 192*16 + 16*32*9
    # + 192*32 = 12,288 + 18,432 + 110,592 + 3,072 + 4,608 + 6,144 = 155,136; batch norm
    # 2 * (64 + 96 + 128 + 16 + 32 + 32) = 736; MACs 155,136 * 28 * 28 = 121,626,624.
    analysis = convdsl.load(EXAMPLES / "inception_module.cdsl").analyze()
    assert analysis.params == 155_136 + 736
    assert analysis.macs == 155_136 * 28 * 28
    (shape,) = analysis.output_shapes().values()
    assert shape == (256, 28, 28)


def test_resnets_share_the_block_library():
    for name in ("resnet18.cdsl", "resnet50.cdsl"):
        assert 'include "resnet_blocks.cdsl"' in (EXAMPLES / name).read_text()


def test_torchvision_parameter_names():
    # names follow the nesting the way torchvision's modules do
    layers = convdsl.load(EXAMPLES / "resnet50.cdsl").analyze().layers
    for name in ("conv1", "bn1", "layer1.0.conv1", "layer1.0.downsample.0", "layer4.2.bn3", "fc"):
        assert name in layers
    mobilenet = convdsl.load(EXAMPLES / "mobilenet_v2.cdsl").analyze().layers
    assert "features.0.0" in mobilenet and "features.1.conv.0.0" in mobilenet


def test_gpt2_small_by_hand():
    # Hugging Face GPT2LMHeadModel (n_layer 12, n_embd 768, n_head 12, n_positions 1024, vocab 50,257):
    # wte 50,257*768 + wpe 1,024*768, then per block ln_1 2*768, c_attn 768*2304 + 2304,
    # c_proj 768*768 + 768, ln_2 2*768, c_fc 768*3072 + 3072, mlp c_proj 3072*768 + 768, and ln_f 2*768;
    # lm_head shares wte's weight.
    block = 2 * 768 + 768 * 2304 + 2304 + 768 * 768 + 768 + 2 * 768 + 768 * 3072 + 3072 + 3072 * 768 + 768
    params = 50_257 * 768 + 1_024 * 768 + 12 * block + 2 * 768
    assert params == 124_439_808
    # MACs at a context of L = 1024 (torchvision's convention): per block the four attention
    # projections 4*L*768^2, q.k^T and attn.v 2*L^2*768, the MLP 2*L*768*3072; the head L*768*50,257.
    L = 1024
    macs = 12 * (4 * L * 768**2 + 2 * L * L * 768 + 2 * L * 768 * 3072) + L * 768 * 50_257
    analysis = convdsl.load(EXAMPLES / "gpt2_small.cdsl").analyze()
    assert (analysis.params, analysis.macs) == (params, macs)
    assert analysis.layers["lm_head"].params == 0  # tied: counted once, at wte
    (shape,) = analysis.output_shapes().values()
    assert shape == (1024, 50_257)
