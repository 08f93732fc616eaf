"""Models written in plain PyTorch, as people write them, for `convdsl import` to read (tests/test_import_torch.py).

Each factory takes no arguments. They are written independently of convdsl's export: torchvision's ResNet
block (one ReLU module called twice), a squeeze-and-excitation network (x.mean, F.relu, torch.sigmoid, x * s),
a U-Net (torch.cat, transposed convolutions, F.max_pool2d), a small ViT (nn.MultiheadAttention, a class token
and a position embedding as parameters, x[:, 0]), and models with something convdsl has no kind for.
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers=(2, 2, 2, 2), num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18():
    return ResNet()


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduction=4):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class SEBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout)

    def forward(self, x):
        return self.se(F.relu(self.bn(self.conv(x))))


class SENet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.blocks = nn.Sequential(SEBlock(32, 64, 2), SEBlock(64, 64, 1), SEBlock(64, 128, 2))
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean((2, 3)))


def senet():
    return SENet()


class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.conv(x)


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    def __init__(self, channels=3, classes=2, width=16):
        super().__init__()
        w = width
        self.inc = DoubleConv(channels, w)
        self.down1 = DoubleConv(w, 2 * w)
        self.down2 = DoubleConv(2 * w, 4 * w)
        self.up1 = Up(4 * w, 2 * w)
        self.up2 = Up(2 * w, w)
        self.outc = nn.Conv2d(w, classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(F.max_pool2d(x1, 2))
        x3 = self.down2(F.max_pool2d(x2, 2))
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def unet():
    return UNet()


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class ViT(nn.Module):
    def __init__(self, image=32, patch=8, dim=64, depth=3, heads=4, classes=10):
        super().__init__()
        tokens = (image // patch) ** 2
        self.conv_proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.layers = nn.Sequential(*[EncoderBlock(dim, heads, 2 * dim) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embedding
        x = self.ln(self.layers(x))
        return self.head(x[:, 0])


def vit():
    return ViT()


class Encoder(nn.Module):
    """torchvision's vision_transformer.Encoder: the position embedding a parameter of the encoder, its layers
    an nn.Sequential of an OrderedDict (`layers.encoder_layer_0`)."""

    def __init__(self, length, depth, dim, heads, mlp_dim):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, length, dim).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        layers = OrderedDict()
        for i in range(depth):
            layers[f"encoder_layer_{i}"] = EncoderBlock(dim, heads, mlp_dim)
        self.layers = nn.Sequential(layers)
        self.ln = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        x = x + self.pos_embedding
        return self.ln(self.layers(self.dropout(x)))


class TorchvisionViT(nn.Module):
    """torchvision's VisionTransformer (its key names: class_token, encoder.pos_embedding, heads.head), small."""

    def __init__(self, image=32, patch=8, dim=64, depth=2, heads=4, classes=10):
        super().__init__()
        self.patch, self.dim = patch, dim
        self.conv_proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder = Encoder((image // patch) ** 2 + 1, depth, dim, heads, 2 * dim)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(dim, classes)))

    def forward(self, x):
        n, _, h, w = x.shape
        x = self.conv_proj(x)
        x = x.reshape(n, self.dim, (h // self.patch) * (w // self.patch))
        x = x.permute(0, 2, 1)
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = torch.cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


def torchvision_vit():
    return TorchvisionViT()


class ConvNeXtBlock(nn.Module):
    """The ConvNeXt paper's block (facebookresearch/ConvNeXt): channels last, gamma of shape (dim,)."""

    def __init__(self, dim, layer_scale_init_value=1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim))

    def forward(self, x):
        shortcut = x
        x = self.dwconv(x).permute(0, 2, 3, 1)
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        x = self.gamma * x
        return shortcut + x.permute(0, 3, 1, 2)


class CNBlockScaled(nn.Module):
    """torchvision's CNBlock's layer scale: a (dim, 1, 1) parameter on channels-first features."""

    def __init__(self, dim):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

    def forward(self, x):
        return x + self.layer_scale * F.gelu(self.conv(x))


class TinyConvNeXt(nn.Module):
    def __init__(self, dim=32, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, stride=4)
        self.stages = nn.Sequential(ConvNeXtBlock(dim), ConvNeXtBlock(dim), CNBlockScaled(dim))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.head(self.norm(x.mean((2, 3))))


def convnext():
    return TinyConvNeXt()


class WithPReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.PReLU(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean((2, 3)))


def with_prelu():
    return WithPReLU()


class WithSort(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return torch.cumsum(self.conv(x), dim=2)


def with_cumsum():
    return WithSort()


def broken():
    raise RuntimeError("the checkpoint is missing")


def not_a_module():
    return 42


# -- the oracle: torch's own counts ---------------------------------------------------------------------------


def figures(model, shape, batch=2):
    """Parameters, MACs (hooks: conv, transposed conv, linear, self-attention, GRU, LSTM) and output shape, per sample.
    `parameters()` counts a shared module once; the hooks fire at every call, so its MACs count per use."""
    macs = []

    def conv(module, inputs, output):
        kernel = 1
        for k in module.kernel_size:
            kernel *= k
        macs.append(output[0].numel() * module.in_channels // module.groups * kernel)

    def conv_transpose(module, inputs, output):
        kernel = 1
        for k in module.kernel_size:
            kernel *= k
        macs.append(inputs[0][0].numel() * module.out_channels // module.groups * kernel)

    def linear(module, inputs, output):
        macs.append(output[0].numel() * module.in_features)

    def attention(module, args, kwargs, output):
        # the projections of the queries (Lq x D), of keys and values (Lk x kdim each), the output projection,
        # and q.k^T and attn.v (torchvision's convention)
        named = dict(zip(("query", "key", "value"), args)) | kwargs
        lq, lk = named["query"].shape[1], named["key"].shape[1]
        dim, kdim = module.embed_dim, module.kdim
        macs.append(lq * dim * dim + 2 * lk * kdim * dim + lq * dim * dim + 2 * lq * lk * dim)

    def recurrent(module, inputs, output):
        # nn.GRU's equations: the gates r, z, n each W_i x + W_h h per step (3 matrices; nn.LSTM's i, f, g, o:
        # 4), of the layer's input (the input size, or the directions' outputs below) and its hidden size
        gates = 3 if isinstance(module, torch.nn.GRU) else 4
        steps = inputs[0].shape[1] if module.batch_first else inputs[0].shape[0]
        hidden, directions = module.hidden_size, 2 if module.bidirectional else 1
        for layer in range(module.num_layers):
            width = module.input_size if layer == 0 else hidden * directions
            macs.append(directions * steps * gates * hidden * (width + hidden))

    for m in model.modules():
        if isinstance(m, (torch.nn.GRU, torch.nn.LSTM)):
            m.register_forward_hook(recurrent)
        elif isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            m.register_forward_hook(conv)
        elif isinstance(m, (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)):
            m.register_forward_hook(conv_transpose)
        elif isinstance(m, torch.nn.Linear) and not isinstance(
            m, torch.nn.modules.linear.NonDynamicallyQuantizableLinear
        ):
            m.register_forward_hook(linear)
        elif isinstance(m, torch.nn.MultiheadAttention):
            m.register_forward_hook(attention, with_kwargs=True)
    model.eval()
    shapes = shape if isinstance(shape, list) else [shape]  # one shape per input of forward
    with torch.no_grad():
        out = model(*(torch.randn(batch, *s) for s in shapes))
    return sum(p.numel() for p in model.parameters()), sum(macs), tuple(out.shape[1:])


# -- shared weights: one module called more than once -------------------------------------------------------


class Siamese(nn.Module):
    """One tower for both images (its weights shared), the two embeddings compared by a head."""

    def __init__(self):
        super().__init__()
        self.tower = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.head = nn.Linear(32, 1)

    def forward(self, a, b):
        return self.head(torch.cat([self.tower(a), self.tower(b)], dim=1))


def siamese():
    return Siamese()


class SharedHead(nn.Module):
    """A detection head shared across two FPN levels (RetinaNet's), and one convolution applied twice."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.down = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.refine = nn.Conv2d(16, 16, 3, padding=1)
        self.head = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 4, 1))

    def forward(self, x):
        p3 = self.refine(self.refine(self.stem(x)))
        p4 = self.down(p3)
        return torch.cat([self.head(p3).flatten(2), self.head(p4).flatten(2)], dim=2)


def shared_head():
    return SharedHead()


class SharedAcross(nn.Module):
    """One module object in two parents: shared weights across modules, not within one forward."""

    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(8, 8, 3, padding=1)
        self.a = nn.Sequential(nn.Conv2d(3, 8, 1), conv)
        self.b = nn.Sequential(nn.ReLU(), conv)

    def forward(self, x):
        return self.b(self.a(x))


def shared_across():
    return SharedAcross()


class SharedInSequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        conv = nn.Conv2d(8, 8, 3, padding=1)
        self.body = nn.Sequential(conv, nn.ReLU(), conv)

    def forward(self, x):
        return self.body(self.stem(x))


def shared_in_sequential():
    return SharedInSequential()


# -- attention beyond self-attention: cross-attention, causal masks ---------------------------------------


class CrossAttention(nn.Module):
    """A decoder's cross-attention: queries from the tokens, keys and values from a memory of another width."""

    def __init__(self, dim=32, memory_dim=48, heads=4):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.cross = nn.MultiheadAttention(dim, heads, kdim=memory_dim, vdim=memory_dim, batch_first=True)
        self.same = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.proj = nn.Linear(memory_dim, dim)

    def forward(self, x, memory):
        y, _ = self.cross(self.ln(x), memory, memory, need_weights=False)
        x = x + y
        m = self.proj(memory)
        z, _ = self.same(query=x, key=m, value=m, need_weights=False)
        return x + z


def cross_attention():
    return CrossAttention()


class WeightsUnpacked(nn.Module):
    """`y, _ = attn(x, x, x)` with need_weights left at True: the weights are unpacked and thrown away."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.fc = nn.Linear(dim, 2 * dim)

    def forward(self, x):
        y = self.ln(x)
        y, _ = self.attn(y, y, y)
        return self.fc(x + y)


def weights_unpacked():
    return WeightsUnpacked()


class WeightsReturned(WeightsUnpacked):
    """The attention weights are returned: a second output convdsl's attention does not give."""

    def forward(self, x):
        y = self.ln(x)
        y, weights = self.attn(y, y, y)
        return self.fc(x + y), weights


def weights_returned():
    return WeightsReturned()


class CausalBool(nn.Module):
    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        n = x.shape[1]
        mask = torch.triu(torch.ones((n, n), dtype=torch.bool, device=x.device), diagonal=1)
        y, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        return y


def causal_bool():
    return CausalBool()


class CausalSquare(CausalBool):
    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], device=x.device)
        return self.attn(x, x, x, attn_mask=mask, need_weights=False, is_causal=True)[0]


def causal_square():
    return CausalSquare()


class LowerMask(CausalBool):
    """tril: True where a query may NOT look is every earlier key: not a causal mask (each sees the future)."""

    def forward(self, x):
        n = x.shape[1]
        mask = torch.tril(torch.ones((n, n), dtype=torch.bool, device=x.device), diagonal=-1)
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]


def lower_mask():
    return LowerMask()


class PaddingMask(CausalBool):
    def forward(self, x):
        pad = x[:, :, 0] > 0
        return self.attn(x, x, x, key_padding_mask=pad, need_weights=False)[0]


def padding_mask():
    return PaddingMask()


# -- forwards torch.fx cannot follow (control flow on sizes): read through torch.export -----------------------


class Refine(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x)) + x


class SizeDependent(nn.Module):
    """A branch on the input's width and a loop over a size: fx stops at both; torch.export decides them."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.blocks = nn.ModuleList([Refine(8) for _ in range(2)])
        self.gamma = nn.Parameter(torch.ones(1, 8, 1, 1))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        if x.shape[-1] > 10:
            x = F.max_pool2d(x, 2)
        for i in range(x.shape[1] // 4):
            x = self.blocks[i](x)
        x = x * self.gamma
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def size_dependent():
    return SizeDependent()


class MaskFromSizes(nn.Module):
    """`torch.ones(n, n)` of sizes read from the input: fx cannot call it with traced sizes; a causal mask."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        n = x.shape[1]
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool, device=x.device), diagonal=1)
        return self.head(self.attn(x, x, x, attn_mask=mask, need_weights=False)[0])


def mask_from_sizes():
    return MaskFromSizes()


class NeitherTraces(nn.Module):
    """A branch on a tensor's values: neither fx nor torch.export (without torch.cond) can follow it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return self.conv(-x)


def neither_traces():
    return NeitherTraces()


class SpareHead(nn.Module):
    """A head built but never called (an auxiliary classifier used only in training), and an unused ReLU."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.ModuleList([nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1)])
        self.aux = nn.Sequential(nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4))
        self.unused_act = nn.ReLU()

    def forward(self, x):
        return self.blocks[0](self.conv(x))


def spare_head():
    return SpareHead()


class ResidualTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(x)))


class SiameseBlocks(nn.Module):
    """Both branches through one stem and one residual tower (a block), the second branch's result used first."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.tower = ResidualTower(8)
        self.scale = nn.Parameter(torch.zeros(1, 8, 1, 1))

    def forward(self, a, b):
        return self.tower(self.stem(a)) + self.tower(self.stem(b)) * self.scale


def siamese_blocks():
    return SiameseBlocks()


# -- an input's layout: L x D tokens or C x L channels, as the first layer that reads it takes it ----------


class TokensThroughChild(nn.Module):
    """Dropout, then a child module whose first layer is a LayerNorm over the last axis: L x D tokens."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.1)
        self.block = nn.Sequential(nn.LayerNorm(24), nn.Linear(24, 48), nn.GELU(), nn.Linear(48, 24))
        self.head = nn.Linear(24, 5)

    def forward(self, x):
        return self.head(self.block(self.drop(x)))


def tokens_through_child():
    return TokensThroughChild()


class RecurrentTagger(nn.Module):
    """A GRU over L x D features (batch_first), then a per-step classifier: tokens."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.tag = nn.Linear(32, 7)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.tag(y)


def recurrent_tagger():
    return RecurrentTagger()


class Conv1dClassifier(nn.Module):
    """Conv1d over C x L signals: channels first, as convdsl reads an input by default."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def conv1d_classifier():
    return Conv1dClassifier()


class StackedRecurrent(nn.Module):
    """nn.GRU, then a bidirectional two-layer nn.LSTM ((y, (h, c)), nested), each read by `[0]`."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.lstm = nn.LSTM(32, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.tag = nn.Linear(16, 7)

    def forward(self, x):
        y = self.gru(x)[0]
        z = self.lstm(y)[0]
        return self.tag(z)


def stacked_recurrent():
    return StackedRecurrent()


class ReadsHidden(nn.Module):
    """The GRU's last hidden state read: (layers, batch, hidden), batch-second."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32, batch_first=True)

    def forward(self, x):
        _, h = self.gru(x)
        return h[-1]


def reads_hidden():
    return ReadsHidden()


# -- torch's own transformer modules: nn.TransformerEncoderLayer, nn.TransformerEncoder -------------------


class EncoderClassifier(nn.Module):
    """A post-norm encoder (ReLU, the defaults) of two layers with a final norm, read at its first token."""

    def __init__(self, dim=64, heads=4, ff=128, layers=2):
        super().__init__()
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ff, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        return self.head(self.encoder(x)[:, 0])


def encoder_classifier():
    return EncoderClassifier()


class PreNormLayers(nn.Module):
    """Two pre-norm layers called one by one: GELU as a string (F.gelu) and as a module (nn.GELU())."""

    def __init__(self, dim=48, heads=3):
        super().__init__()
        self.a = nn.TransformerEncoderLayer(dim, heads, 96, activation="gelu", batch_first=True, norm_first=True)
        self.b = nn.TransformerEncoderLayer(dim, heads, 64, activation=nn.GELU(), batch_first=True, norm_first=True)

    def forward(self, x):
        return self.b(self.a(x))


def pre_norm_layers():
    return PreNormLayers()


class CausalDecoderOnly(nn.Module):
    """A GPT-style decoder written with nn.TransformerEncoder and a causal mask."""

    def __init__(self, vocab=100, dim=32, heads=2, length=12):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, length, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        mask = nn.Transformer.generate_square_subsequent_mask(ids.shape[1])
        return self.lm_head(self.blocks(self.embed(ids) + self.pos, mask=mask, is_causal=True))


def causal_decoder_only():
    return CausalDecoderOnly()


class PaddedEncoder(EncoderClassifier):
    """A key padding mask, per sample: convdsl's attention masks nothing per sample."""

    def forward(self, x):
        pad = x[:, :, 0] > 100.0  # batch x L booleans, per sample
        return self.head(self.encoder(x, src_key_padding_mask=pad)[:, 0])


def padded_encoder():
    return PaddedEncoder()


class EncoderDecoder(nn.Module):
    """nn.TransformerEncoder over a source, two nn.TransformerDecoderLayers over a target with a causal mask."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(dim, heads, 64, batch_first=True), 1)
        self.first = nn.TransformerDecoderLayer(dim, heads, 64, batch_first=True)
        self.second = nn.TransformerDecoderLayer(dim, heads, 48, batch_first=True, norm_first=True)
        self.out = nn.Linear(dim, 50)

    def forward(self, src, tgt):
        memory = self.encoder(src)
        n = tgt.shape[1]
        mask = torch.triu(torch.ones((n, n), dtype=torch.bool, device=tgt.device), diagonal=1)
        y = self.first(tgt, memory, tgt_mask=mask)
        return self.out(self.second(y, memory, tgt_mask=mask, tgt_is_causal=True))


def encoder_decoder():
    return EncoderDecoder()


class StackedDecoder(nn.Module):
    """nn.TransformerDecoder: a ModuleList of layers that each read the memory."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(dim, heads, 64, batch_first=True), 2)

    def forward(self, tgt, memory):
        return self.decoder(tgt, memory)


def stacked_decoder():
    return StackedDecoder()


class MeanPooled(EncoderClassifier):
    """The encoder's tokens averaged (mean over the sequence, dim 1), as many classifiers read it."""

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


def mean_pooled():
    return MeanPooled()


class MeanKept(EncoderClassifier):
    """The mean over the sequence kept as one token (keepdim=True): B x 1 x D."""

    def forward(self, x):
        return self.head(torch.mean(self.encoder(x), 1, keepdim=True))


def mean_kept():
    return MeanKept()
