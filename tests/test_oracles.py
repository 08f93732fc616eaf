"""Numbers checked against sources that share no code with convdsl (issue 18).

- receptive fields and effective strides: PyTorch's gradients (the input positions with a
  non-zero gradient of one output element, every weight 1 on a positive input, so nothing
  cancels), and values derived by hand for the zoo, the arithmetic written out below;
- the lint's lost rows: an enumeration of every window's taps, not the formula the code uses;
- `sizes`: the layers themselves, run by PyTorch on zero tensors at every size of a range;
- `verify`: an export broken on purpose in each way it checks, each reported.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convdsl
from conftest import EXAMPLES, require

torch = require("torch")
nn = torch.nn
F = torch.nn.functional


# -- receptive fields of the zoo, by hand ------------------------------------------------------
#
# A window of k taps with stride s after a field r with jump j: r + (k - 1) * j, jump j * s.
# ResNet-18 (torchvision): conv1 7/2: 7, jump 2; maxpool 3/2: 7 + 2*2 = 11, jump 4;
# layer1, four 3x3 convs at jump 4: 11 + 4*2*4 = 43;
# layer2: conv 3/2 at jump 4: 43 + 2*4 = 51, jump 8; three more 3x3: 51 + 3*2*8 = 99 (the
#   1x1 downsample is narrower, the residual add keeps the widest);
# layer3: 99 + 2*8 = 115, jump 16; 115 + 3*2*16 = 211;
# layer4: 211 + 2*16 = 243, jump 32; 243 + 3*2*32 = 435.
# VGG-16: five stages of 2, 2, 3, 3, 3 convs 3x3 and a 2x2/2 pool:
#   1 + 2*2 = 5, pool 6 (jump 2); 6 + 2*2*2 = 14, 16 (4); 16 + 3*2*4 = 40, 44 (8);
#   44 + 3*2*8 = 92, 100 (16); 100 + 3*2*16 = 196 (conv5_3), pool5 196 + 16 = 212 (32).
#   (The classic figures: conv5_3 196, pool5 212.)
# AlexNet (torchvision): conv 11/4: 11 (4); pool 3/2: 19 (8); conv 5: 51; pool: 67 (16);
#   3 convs 3x3: 67 + 3*2*16 = 163; pool 3/2: 195 (32). (Araujo et al., Distill 2019: 195.)
# ResNet-50 (torchvision, stride on the 3x3): conv1 + maxpool: 11 (4); layer1: 3 blocks of one
#   3x3: 11 + 3*2*4 = 35; layer2: 35 + 2*4 = 43 (8), then 3 blocks: 43 + 3*2*8 = 91;
#   layer3: 91 + 2*8 = 107 (16), 5 more: 107 + 5*2*16 = 267; layer4: 267 + 2*16 = 299 (32),
#   2 more: 299 + 2*2*32 = 427.
ZOO = [
    ("resnet18", "layer4.1.relu2", 435, 32),
    ("resnet18", "layer1.1.relu2", 43, 4),
    ("resnet18", "layer2.0.relu2", 67, 8),  # 51 + 2*8
    ("resnet18", "layer2.1.relu2", 99, 8),
    ("resnet18", "layer4.0.downsample.0", 211, 32),
    ("vgg16", "features.29", 196, 16),
    ("vgg16", "features.30", 212, 32),
    ("alexnet", "features.12", 195, 32),
    ("resnet50", "layer4.2.relu3", 427, 32),
]


@pytest.mark.parametrize("example,layer,field,stride", ZOO, ids=[f"{z[0]}-{z[1]}" for z in ZOO])
def test_zoo_receptive_fields_by_hand(example, layer, field, stride):
    info = convdsl.load(EXAMPLES / f"{example}.cdsl").analyze().layers[layer]
    assert info.receptive_field == (field, field)
    assert info.effective_stride == (stride, stride)


def test_a_global_pool_sees_the_whole_input():
    # ResNet-18's avgpool after layer4 (7 x 7 at jump 32, field 435): 435 + 6 * 32 = 627, jump 7 * 32 = 224
    info = convdsl.load(EXAMPLES / "resnet18.cdsl").analyze().layers["avgpool"]
    assert info.receptive_field == (627, 627) and info.effective_stride == (224, 224)


# -- receptive fields against gradients, 1-D chains ----------------------------------------------


def _ones(module):
    for p in module.parameters():
        nn.init.ones_(p)
    return module


class Up(nn.Module):
    def __init__(self, factor, mode):
        super().__init__()
        self.factor, self.mode = factor, mode

    def forward(self, x):
        extra = {} if self.mode == "nearest" else {"align_corners": False}
        return F.interpolate(x, scale_factor=self.factor, mode=self.mode, **extra)


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class Concat(nn.Module):
    """Two branches of equal length side by side, mixed back to one channel by a 1x1 convolution."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b, self.mix = a, b, _ones(nn.Conv1d(2, 1, 1, bias=False))

    def forward(self, x):
        return self.mix(torch.cat([self.a(x), self.b(x)], dim=1))


class Gate(nn.Module):
    """x * mean(x): a squeeze-and-excitation gate without its layers; detach cuts the gate's gradient."""

    def __init__(self, detach=False):
        super().__init__()
        self.detach = detach

    def forward(self, x):
        s = x.mean(dim=2, keepdim=True)
        return x * (s.detach() if self.detach else s)


def _step(rng, name, current, lines):
    """One random layer: (torch module, same module with gates cut, whether its jump can be fractional)."""
    choice = rng.choice(["conv", "conv", "maxpool", "avgpool", "tconv", "up", "up", "residual", "concat", "gate"])
    if choice == "conv":
        k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
        p = rng.randint(0, (k - 1) * d // 2)
        lines.append(f"{name} = {current} -> conv(1, {k}, s={s}, p={p}, d={d}, bias=false)")
        m = _ones(nn.Conv1d(1, 1, k, s, p, d, bias=False))
        return m, m, False
    if choice in ("maxpool", "avgpool"):
        k, s = rng.randint(1, 3), rng.randint(1, 3)
        p = rng.randint(0, k // 2)
        lines.append(f"{name} = {current} -> {choice}({k}, s={s}, p={p})")
        # the gradient of a max reaches one position only: its window is what an average pool reads
        m = nn.AvgPool1d(k, s, p)
        return m, m, False
    if choice == "tconv":
        k, s = rng.randint(1, 4), rng.randint(1, 3)
        p = rng.randint(0, (k - 1) // 2)
        lines.append(f"{name} = {current} -> conv_transpose(1, {k}, s={s}, p={p}, bias=false)")
        m = _ones(nn.ConvTranspose1d(1, 1, k, s, p, bias=False))
        return m, m, True
    if choice == "up":
        factor, mode = rng.choice([2, 3]), rng.choice(["nearest", "linear"])
        lines.append(f"{name} = {current} -> upsample({factor}, mode={mode})")
        m = Up(factor, mode)
        return m, m, True
    if choice == "residual":
        k = rng.choice([1, 3, 5])
        lines.append(f"{name}b = {current} -> conv(1, {k}, p={k // 2}, bias=false)")
        lines.append(f"{name} = add({current}, {name}b)")
        m = Residual(_ones(nn.Conv1d(1, 1, k, 1, k // 2, bias=False)))
        return m, m, False
    if choice == "concat":
        ka, kb = rng.choice([1, 3]), rng.choice([3, 5, 7])
        lines.append(f"{name}a = {current} -> conv(1, {ka}, p={ka // 2}, bias=false)")
        lines.append(f"{name}b = {current} -> conv(1, {kb}, p={kb // 2}, bias=false)")
        lines.append(f"{name} = concat({name}a, {name}b) -> conv(1, 1, bias=false)")
        m = Concat(
            _ones(nn.Conv1d(1, 1, ka, 1, ka // 2, bias=False)), _ones(nn.Conv1d(1, 1, kb, 1, kb // 2, bias=False))
        )
        return m, m, False
    lines.append(f"{name}g = {current} -> adaptive_avgpool(1)")
    lines.append(f"{name} = mul({current}, {name}g)")
    return Gate(), Gate(detach=True), False


def generate_chain(seed: int):
    """(text, torch model, model with the gates' gradients cut, input length, fractional, gated),
    drawn again until convdsl accepts it without an error."""
    rng = random.Random(seed)
    while True:
        length = rng.randint(8, 30)
        lines = [f"input x: 1 x {length}"]
        mods, plain, fractional, gated = [], [], False, False
        current = "x"
        for i in range(rng.randint(1, 4)):
            m, p, frac = _step(rng, f"t{i}", current, lines)
            mods.append(m)
            plain.append(p)
            fractional |= frac
            gated |= isinstance(m, Gate)
            current = f"t{i}"
        lines.append(f"output y = {current} -> out: identity")
        text = "\n".join(lines) + "\n"
        analysis = convdsl.loads(text).analyze()
        if not analysis.has_errors and analysis.layers["out"].receptive_field is not None:
            model = nn.Sequential(*mods).double()
            return text, analysis, model, nn.Sequential(*plain).double(), length, fractional, gated


def fields(model, length):
    """Per output position: (first, last) input position with a non-zero gradient; None if it reads none."""
    x = (torch.rand(1, 1, length, dtype=torch.float64) + 0.5).requires_grad_()
    y = model(x)
    rows = []
    for o in range(y.shape[2]):
        (grad,) = torch.autograd.grad(y[0, 0, o], x, retain_graph=True)
        hit = (grad[0, 0].abs() > 0).nonzero().flatten().tolist()
        rows.append((hit[0], hit[-1]) if hit else None)
    return rows


@pytest.mark.parametrize("seed", range(80))
def test_chains_with_transposed_convolutions_upsampling_and_merges_match_gradients(seed):
    text, analysis, model, plain, length, fractional, gated = generate_chain(seed)
    info = analysis.layers["out"]
    (rf,), (jump,) = info.receptive_field, info.effective_stride
    # no output position reads more than the field, at the declared size
    for row in fields(model, length):
        if row is not None:
            assert row[1] - row[0] + 1 <= rf, text
    # far from the edges (on a longer input, through the branches that are not gates)
    large = int(4 * rf + 8 * max(jump, 1) + 16)
    rows = fields(plain, large)
    inside = [(o, r) for o, r in enumerate(rows) if r is not None and r[0] >= rf and r[1] <= large - 1 - rf]
    assert len(inside) >= 2, text
    widest = max(hi - lo + 1 for _, (lo, hi) in inside)
    if gated:
        assert widest <= rf, text
    elif fractional:
        # a field is rounded up where upsampling makes it fractional: a bound, within one row of the widest
        assert widest <= rf, text
    else:
        assert widest == rf, text
    (o1, (lo1, _)), (o2, (lo2, _)) = inside[0], inside[-1]
    if not fractional:
        for (a, (la, _)), (b, (lb, _)) in zip(inside, inside[1:]):
            if b == a + 1:
                assert lb - la == jump, text
    else:  # the fields' starts move `jump` per output position on average
        assert abs((lo2 - lo1) - (o2 - o1) * Fraction(jump)) <= rf, text


UPSAMPLING = {
    # each output interpolates its two nearest inputs
    "upsample(2, mode=linear)": (2, lambda: Up(2, "linear")),
    "upsample(3, mode=linear)": (2, lambda: Up(3, "linear")),
    "upsample(2)": (1, lambda: Up(2, "nearest")),
    # 4 taps at stride 2: 2 inputs per output; 3 taps: 2 inputs at even outputs, 1 at odd ones
    "conv_transpose(1, 4, s=2, p=1, bias=false)": (2, lambda: nn.ConvTranspose1d(1, 1, 4, 2, 1, bias=False)),
    "conv_transpose(1, 3, s=2, bias=false)": (2, lambda: nn.ConvTranspose1d(1, 1, 3, 2, bias=False)),
}


@pytest.mark.parametrize("layer", sorted(UPSAMPLING))
def test_upsampling_layers_read_what_torch_reads(layer):
    field, build = UPSAMPLING[layer]
    info = convdsl.loads(f"input x: 1 x 40\ny = x -> t: {layer}\n").analyze().layers["t"]
    rows = [r for r in fields(_ones(build()).double(), 40)[4:-4] if r is not None]
    assert max(hi - lo + 1 for lo, hi in rows) == field
    assert info.receptive_field == (field,)


def test_linear_upsampling_then_a_convolution_by_hand():
    # 3 neighbouring outputs of a x2 linear upsampling interpolate inputs k-1..k+1 (o = 2k) or k..k+2
    # (o = 2k + 1): 3 inputs; convdsl: 2 + (3 - 1) * 1/2 = 3, jump 1/2
    text = "input x: 1 x 40\ny = x -> u: upsample(2, mode=linear) -> c: conv(1, 3, p=1, bias=false)\n"
    info = convdsl.loads(text).analyze().layers["c"]
    assert info.receptive_field == (3,) and info.effective_stride == (Fraction(1, 2),)
    model = nn.Sequential(Up(2, "linear"), _ones(nn.Conv1d(1, 1, 3, 1, 1, bias=False))).double()
    rows = fields(model, 40)[6:-6]
    assert {hi - lo + 1 for lo, hi in rows} == {3}


# -- the lint's lost rows, by enumerating windows ----------------------------------------------------


def windows_read(size, k, s, p, d, count=None):
    """The real rows (0..size-1) read by the first `count` windows (all that fit, if None) of a layer
    padded by p on both sides: window o reads padded row o*s + t*d for t < k, that is real row
    o*s + t*d - p. `count=None`: as many windows as start anywhere (the rows more windows could read)."""
    read = set()
    o = 0
    while count is None or o < count:
        start = o * s - p
        if start > size - 1 + p:  # no tap of this or a later window reaches a real row... or padding only
            break
        for t in range(k):
            r = start + t * d
            if 0 <= r < size:
                read.add(r)
        o += 1
    return read


def torch_windows(size, k, s, p, d):
    """How many windows PyTorch's documented formula gives: floor((I + 2p - d(k-1) - 1)/s) + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


LINT = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)


@LINT
@given(
    size=st.integers(1, 40),
    k=st.integers(1, 6),
    s=st.integers(1, 5),
    d=st.integers(1, 3),
    p=st.integers(0, 3),
    kind=st.sampled_from(["conv", "maxpool", "avgpool"]),
)
def test_lost_rows_by_enumeration(size, k, s, d, p, kind):
    """E101 (rows dropped) exactly when some real row is read by a window that would exist on a longer
    input but not by the windows there are; its label says how many rows."""
    if kind != "conv":
        d = 1
        p = min(p, k // 2)  # PyTorch: pooling pads at most half the kernel
    count = torch_windows(size, k, s, p, d)
    if count < 1:
        return  # the input is smaller than the window: another error
    lost = windows_read(size, k, s, p, d) - windows_read(size, k, s, p, d, count)
    layer = {
        "conv": f"conv(1, {k}, s={s}, p={p}, d={d})",
        "maxpool": f"maxpool({k}, s={s}, p={p})",
        "avgpool": f"avgpool({k}, s={s}, p={p})",
    }[kind]
    analysis = convdsl.loads(f"input x: 1 x {size}\ny = x -> t: {layer}\n").analyze()
    e101 = [dg for dg in analysis.diagnostics if dg.code.code == "E101"]
    if (size + 2 * p - d * (k - 1) - 1) % s == 0:
        # no rounding, no E101 (the lint is about rounding): the last window ends on the padded end, yet
        # a dilated window may still skip a row there (1 row, k=2, d=2, p=1 reads only padding)
        assert not e101, (size, layer)
        return
    assert bool(e101) == bool(lost), (size, layer, sorted(lost))
    if lost:
        assert e101[0].label.startswith(f"{len(lost)} input row{'s' if len(lost) != 1 else ''} of {size}")


def test_lost_rows_the_issue_case(tmp_path):
    """conv(8, 3, s=4, p=1) on 16 rows: 4 windows read padded rows 0-2, 4-6, 8-10, 12-14, so real
    rows (padded minus 1) 0-1, 3-5, 7-9, 11-13; a fifth window would read padded 16, real row 15:
    one row lost (real row 14, padded 15, falls between two windows' taps at any length)."""
    assert windows_read(16, 3, 4, 1, 1) - windows_read(16, 3, 4, 1, 1, 4) == {15}
    path = tmp_path / "lost.cdsl"
    path.write_text("input x: 3 x 16 x 16\ny = x -> c: conv(8, 3, s=4, p=1)\n")
    from convdsl import cli

    assert cli.main(["check", str(path)]) == 1
    analysis = convdsl.load(path).analyze()
    (e101,) = [dg for dg in analysis.diagnostics if dg.code.code == "E101"]
    assert e101.label == "1 input row of 16 never covered"


# -- sizes against PyTorch -------------------------------------------------------------------------

# Networks written twice, in convdsl and in PyTorch by hand. A size is accepted by convdsl exactly when
# PyTorch runs the network on it and no strided window drops a real row (checked by gradients: every
# row of the input then reaches the output, as none of these networks skips rows on purpose).
SIZED = {
    "lenet": (
        "input x: 1 x {n} x 32\ny = x -> conv(6, 5) -> relu -> avgpool(2) -> conv(16, 5) -> relu -> avgpool(2)\n",
        lambda: nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2)
        ),
        80,
    ),
    "strided": (
        "input x: 1 x {n} x 32\ny = x -> conv(4, 3, s=2, p=1) -> conv(4, 3, s=2, p=1) -> conv(4, 5, s=3)\n",
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1), nn.Conv2d(4, 4, 5, 3)),
        90,
    ),
}


class EncoderDecoder(nn.Module):
    """conv 3/2 down, transposed conv 2/2 up, added to the input: only even sizes come back whole."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(1, 4, 3, 2, 1)
        self.up = nn.ConvTranspose2d(4, 1, 2, 2)

    def forward(self, x):
        return x + self.up(self.down(x))


SIZED["encoder_decoder"] = (
    "input x: 1 x {n} x 16\nd = x -> conv(4, 3, s=2, p=1) -> conv_transpose(1, 2, s=2)\ny = add(x, d)\n",
    EncoderDecoder,
    60,
)


def _torch_accepts(model, n, width):
    """PyTorch runs the model at height n and every real row reaches the output."""
    x = (torch.rand(1, 1, n, width, dtype=torch.float64) + 0.5).requires_grad_()
    try:
        y = model(x)
    except RuntimeError:
        return False
    if y.numel() == 0:
        return False
    y.abs().sum().backward()
    return bool((x.grad.abs().sum(dim=(0, 1, 3)) > 0).all())


@pytest.mark.parametrize("name", sorted(SIZED))
def test_sizes_agree_with_torch(name):
    from convdsl.sizes import analyze_sizes

    text, build, upto = SIZED[name]
    width = int(text.split(" x ")[2].split("\n")[0])
    torch.manual_seed(0)
    model = build().double()
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.ones_(m.weight)  # positive weights on a positive input: no gradient cancels
    expected = [n for n in range(1, upto + 1) if _torch_accepts(model, n, width)]
    assert expected, "the network runs at no size"
    report = analyze_sizes(convdsl.loads(text.format(n=upto)), limit=upto)
    (height,) = [axis for axis in report.axes if axis.variable.members[0][1] == 1]
    assert height.valid == expected


# -- verify reports each kind of disagreement ------------------------------------------------------

SMALL = """\
input x: 3 x 16 x 16
a = x -> conv1: conv(8, 3, p=1, bias=false) -> bn1: bn -> relu
b = x -> side: conv(4, 1)
y = concat(a, b) -> conv2: conv(8, 3, p=1)
output out = add(y, a) -> pool: adaptive_avgpool(1) -> flatten -> fc: linear(10)
"""


def _verify_with(monkeypatch, edit):
    from convdsl.export import model, verify

    analysis = convdsl.loads(SMALL).analyze()
    assert not analysis.has_errors
    real = model.export

    def broken(analysis, **options):
        exported = real(analysis, **options)
        changed = edit(exported.source)
        assert changed != exported.source, "the edit did not apply"
        object.__setattr__(exported, "source", changed)
        return exported

    monkeypatch.setattr(verify, "export", broken)
    return verify.verify(analysis)


def test_verify_agrees_with_the_unbroken_export():
    from convdsl.export import verify

    result = verify.verify(convdsl.loads(SMALL).analyze())
    assert result.ok, result.report()
    # 3*8*9 + 2*8 (bn) + 3*4 + 4 + 12*8*9 + 8 + 8*10 + 10
    assert result.params == 216 + 16 + 16 + 872 + 90


BREAKS = {
    # a wrong shape: the classifier gives 11 logits
    "shape": (
        lambda s: s.replace("nn.Linear(8, 10)", "nn.Linear(8, 11)"),
        ["fc: output shape: torch 11, convdsl 10", "output out: shape: torch 11, convdsl 10"],
    ),
    "parameters": (
        lambda s: s.replace("nn.Conv2d(3, 8, 3, padding=1, bias=False)", "nn.Conv2d(3, 8, 3, padding=1)"),
        ["conv1: parameters: torch 224, convdsl 216", "model: parameters: torch 1,218, convdsl 1,210"],
    ),
    "buffer": (
        lambda s: s.replace("nn.BatchNorm2d(8)", "nn.BatchNorm2d(8, track_running_stats=False)"),
        ["bn1: buffers: torch 0, convdsl 17", "model: buffers: torch 0, convdsl 17"],
    ),
    "state_dict key": (
        lambda s: s.replace("self.side = ", "self.side_conv = ").replace("self.side(", "self.side_conv("),
        ["side: module: torch missing", "side_conv: state_dict: torch has weights"],
    ),
    "extra weights": (
        lambda s: s.replace(
            "self.fc = nn.Linear(8, 10)", "self.fc = nn.Linear(8, 10)\n        self.scale = nn.Parameter(torch.ones(1))"
        ),
        ["scale: state_dict: torch has weights, convdsl no layer of that name with weights"],
    ),
    "forward expression": (
        lambda s: s.replace("out = y + a\n", "out = (y + a)[:, :, 1:]\n"),
        ["pool: input 1 shape: torch 8 x 15 x 16, convdsl 8 x 16 x 16"],
    ),
    "forward calls a layer twice": (
        lambda s: s.replace("b = self.side(x)", "b = self.side(x)\n        b = b + self.side(x)"),
        ["side: calls: torch 2, convdsl 1"],
    ),
}


@pytest.mark.parametrize("what", sorted(BREAKS))
def test_verify_reports_each_broken_check(monkeypatch, what):
    edit, expected = BREAKS[what]
    result = _verify_with(monkeypatch, edit)
    assert not result.ok
    text = result.report()
    for line in expected:
        assert line in text, text


def test_verify_reports_a_forward_that_fails():
    """A broken forward (channels that do not fit) is an error with the exception, not a pass."""
    from convdsl.export import model, verify

    analysis = convdsl.loads(SMALL).analyze()
    real = model.export

    def broken(analysis, **options):
        exported = real(analysis, **options)
        object.__setattr__(exported, "source", exported.source.replace("torch.cat([a, b]", "torch.cat([a, a]"))
        return exported

    mp = pytest.MonkeyPatch()
    mp.setattr(verify, "export", broken)
    try:
        result = verify.verify(analysis)
    finally:
        mp.undo()
    assert not result.ok and result.error is not None and result.error.startswith("forward: RuntimeError")


# -- export: names PyTorch would mangle --------------------------------------------------------------


def test_a_private_looking_layer_name_keeps_its_state_dict_key():
    """`self.__stem = ...` inside a class is stored as `_ClassName__stem` (Python's name mangling,
    the language reference's "private name mangling"): the export must add the module another way so
    that the state_dict key is the layer's own name, `__stem.weight`."""
    from convdsl.export import verify

    text = "input x: 3 x 8 x 8\ny = x -> __stem: conv(4, 3, p=1) -> _x: conv(4, 1) -> __tail_: conv(2, 1)\n"
    analysis = convdsl.loads(text).analyze()
    result = verify.verify(analysis)
    assert result.ok, result.report()
    namespace = {}
    exec(compile(result.export.source, "<export>", "exec"), namespace)
    keys = set(namespace[result.export.class_name]().state_dict())
    assert keys == {f"{n}.{w}" for n in ("__stem", "_x", "__tail_") for w in ("weight", "bias")}
