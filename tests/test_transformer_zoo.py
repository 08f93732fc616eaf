"""ViT, Swin and ConvNeXt in convdsl against plain-PyTorch definitions of torchvision's
models (torchvision itself cannot be installed beside the CPU torch here), and the other
sizes of torchvision's table.

The references follow torchvision 0.29's vision_transformer.py, swin_transformer.py and
convnext.py layer for layer (dropouts and stochastic depth left out: identity in eval, no
parameters). Their MACs are counted by forward hooks, torchvision's `_ops` convention:
convolutions (weight x output positions), linear layers (weight x leading positions) and
the two attention matmuls q·kᵀ and attn·v, counted where the reference computes them.
Published figures (shared/reference/README.md): torchvision `_meta` num_params and `_ops`.
"""

from __future__ import annotations

import math
import re

import pytest

import convdsl
from conftest import EXAMPLES, require

torch = require("torch")
nn = torch.nn
F = torch.nn.functional


class Counter:
    """MACs of conv and linear layers by hooks, plus matmuls the references report."""

    def __init__(self, model):
        self.macs = 0
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.register_forward_hook(self._hook)
            if hasattr(module, "counter"):
                module.counter = self

    def _hook(self, module, args, output):
        if isinstance(module, nn.Conv2d):
            self.macs += module.weight.numel() * math.prod(output.shape[2:]) * output.shape[0]
        else:
            self.macs += module.weight.numel() * math.prod(output.shape[:-1])


def matmul(counter, a, b):
    if counter is not None:
        counter.macs += math.prod(a.shape) * b.shape[-1]
    return a @ b


class Attention(nn.Module):
    """nn.MultiheadAttention's parameters, its computation written out so the matmuls are counted."""

    counter = None

    def __init__(self, dim, heads):
        super().__init__()
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.heads = heads

    def forward(self, x):
        n, length, d = x.shape
        q, k, v = F.linear(x, self.mha.in_proj_weight, self.mha.in_proj_bias).chunk(3, -1)
        self.counter.macs += self.mha.in_proj_weight.numel() * n * length
        split = lambda t: t.view(n, length, self.heads, -1).transpose(1, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        attn = matmul(self.counter, q, k.transpose(-2, -1)).softmax(-1)
        y = matmul(self.counter, attn, v).transpose(1, 2).reshape(n, length, d)
        return self.mha.out_proj(y)


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x):
        x = x + self.self_attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class ViT(nn.Module):
    def __init__(self, patch, layers, heads, dim, mlp, image=224):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.layers = nn.Sequential(*(EncoderBlock(dim, heads, mlp) for _ in range(layers)))
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 1000)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        return self.head(self.ln(self.layers(x))[:, 0])


class WindowAttention(nn.Module):
    counter = None

    def __init__(self, dim, heads, window=7):
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", torch.zeros(window**4, dtype=torch.long))

    def forward(self, x):  # shapes and counts of torchvision's shifted_window_attention (the shift moves no count)
        n, h, w, c = x.shape
        s = self.window
        x = x.view(n, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s * s, c)
        q, k, v = self.qkv(x).reshape(x.shape[0], s * s, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attn = matmul(self.counter, q, k.transpose(-2, -1)).softmax(-1)
        x = self.proj(matmul(self.counter, attn, v).transpose(1, 2).reshape(-1, s * s, c))
        return x.view(n, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)


class SwinBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction, self.norm = nn.Linear(4 * dim, 2 * dim, bias=False), nn.LayerNorm(4 * dim)

    def forward(self, x):
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class Swin(nn.Module):
    def __init__(self, embed, depths, heads):
        super().__init__()
        layers = [nn.Conv2d(3, embed, 4, stride=4)]
        self.stem_norm = nn.LayerNorm(embed)
        for i, (depth, h) in enumerate(zip(depths, heads)):
            layers += [SwinBlock(embed * 2**i, h) for _ in range(depth)]
            if i < len(depths) - 1:
                layers.append(PatchMerging(embed * 2**i))
        self.features = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(embed * 2 ** (len(depths) - 1))
        self.head = nn.Linear(embed * 2 ** (len(depths) - 1), 1000)

    def forward(self, x):
        x = self.stem_norm(self.features[0](x).permute(0, 2, 3, 1))
        for layer in self.features[1:]:
            x = layer(x)
        return self.head(self.norm(x).mean((1, 2)))


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

    def forward(self, x):
        y = self.mlp(self.norm(self.block(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


class ConvNeXt(nn.Module):
    def __init__(self, dims=(96, 192, 384, 768), depths=(3, 3, 9, 3)):
        super().__init__()
        layers = [nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6)]
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            if i:
                layers += [LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], dim, 2, stride=2)]
            layers += [CNBlock(dim) for _ in range(depth)]
        self.features = nn.Sequential(*layers)
        self.norm = LayerNorm2d(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], 1000)

    def forward(self, x):
        return self.head(self.norm(self.features(x).mean((2, 3), keepdim=True)).flatten(1))


def _reference(model):
    model.eval()
    counter = Counter(model)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
    assert tuple(out.shape) == (1, 1000)
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()), counter.macs


def _convdsl(source: str):
    analysis = convdsl.loads(source).analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    return analysis.params, analysis.buffers, analysis.macs


def _example(name):
    return (EXAMPLES / f"{name}.cdsl").read_text()


def test_vit_b_16_equals_the_reference():
    assert _convdsl(_example("vit_b_16")) == _reference(ViT(16, 12, 12, 768, 3072)) == (86_567_656, 0, 17_563_828_224)


def test_swin_t_equals_the_reference():
    # buffers: one relative-position index of 7^4 values per block, 12 blocks
    assert (
        _convdsl(_example("swin_t"))
        == _reference(Swin(96, (2, 2, 6, 2), (3, 6, 12, 24)))
        == (28_288_354, 12 * 7**4, 4_490_566_656)
    )


def test_convnext_tiny_equals_the_reference():
    assert _convdsl(_example("convnext_tiny")) == _reference(ConvNeXt()) == (28_589_128, 0, 4_455_531_264)


def vit_source(patch, layers, heads, dim, mlp):
    """examples/vit_b_16.cdsl with another size of torchvision's table."""
    text = _example("vit_b_16")
    tokens = (224 // patch) ** 2 + 1
    for a, b in (
        ("conv(768, 16, s=16)", f"conv({dim}, {patch}, s={patch})"),
        ("param class_token: 1 x 768", f"param class_token: 1 x {dim}"),
        ("encoder(197, 768, 12, 3072, 12)", f"encoder({tokens}, {dim}, {heads}, {mlp}, {layers})"),
    ):
        assert a in text
        text = text.replace(a, b)
    return text


def swin_source(embed, depths, heads):
    """examples/swin_t.cdsl with another size of torchvision's table (the drop schedule is left as it is)."""
    text = _example("swin_t")
    head = text.index("x = image")
    stages = []
    for i, (depth, h) in enumerate(zip(depths, heads)):
        dim = embed * 2**i
        blocks = " -> ".join(f"swin_block({dim}, {h}, {3 * (b % 2)}, 0)" for b in range(depth))
        stages.append(f"({blocks})")
    body = "\n        -> patch_merging\n        -> ".join(stages)
    last = embed * 2 ** (len(depths) - 1)
    return (
        text[:head] + f"x = image\n    -> features: (\n        (conv({embed}, 4, s=4) -> permute(0, 2, 3, 1) -> "
        f"layernorm({embed}))\n        -> {body}\n    )\noutput logits = x -> norm: layernorm({last}) -> "
        "permute(0, 3, 1, 2) -> avgpool: adaptive_avgpool(1) -> flatten -> head: linear(1000)\n"
    )


OTHER_SIZES = [
    # name, source, published params, published `_ops` (GMACs to 3 decimals)
    ("vit_b_32", lambda: vit_source(32, 12, 12, 768, 3072), 88_224_232, "4.409"),
    ("vit_l_16", lambda: vit_source(16, 24, 16, 1024, 4096), 304_326_632, "61.555"),
    ("swin_s", lambda: swin_source(96, (2, 2, 18, 2), (3, 6, 12, 24)), 49_606_258, "8.741"),
    ("swin_b", lambda: swin_source(128, (2, 2, 18, 2), (4, 8, 16, 32)), 87_768_224, "15.431"),
]


@pytest.mark.parametrize("name,source,params,gmacs", OTHER_SIZES, ids=[row[0] for row in OTHER_SIZES])
def test_other_sizes_match_torchvisions_table(name, source, params, gmacs):
    text = source()
    assert re.search(r"network \w+", text)
    got_params, _, macs = _convdsl(text)
    assert got_params == params
    assert f"{macs / 1e9:.3f}" == gmacs


def test_gmacs_of_the_examples_round_to_torchvisions_published_ops():
    for name, gmacs in (("vit_b_16", "17.564"), ("swin_t", "4.491"), ("convnext_tiny", "4.456")):
        assert f"{_convdsl(_example(name))[2] / 1e9:.3f}" == gmacs
