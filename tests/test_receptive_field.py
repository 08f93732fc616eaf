"""Receptive fields and effective strides against PyTorch's gradients.

Truth: the input positions with a non-zero gradient of one output element, with
every weight 1, no bias and a positive input, so that nothing cancels. Along one
axis, an output element whose field lies inside the input (not clipped at either
edge) sees exactly `receptive field` rows, and the next element's field starts
`effective stride` rows later; a field that reaches both edges for every element
means the output sees the whole input, which the receptive field must then cover.
Networks are generated at random (convolutions with stride, padding and dilation,
average pooling, residual adds, squeeze-and-excitation gates: broadcast merges).
"""

from __future__ import annotations

import random

import pytest

from conftest import require

torch = require("torch")
nn = torch.nn

import convdsl


class Gate(nn.Module):
    """x * mean(x) over the spatial axes: a squeeze-and-excitation gate without its layers."""

    def __init__(self, detach: bool):
        super().__init__()
        self.pool, self.detach = nn.AdaptiveAvgPool2d(1), detach

    def forward(self, x):
        s = self.pool(x)
        return x * (s.detach() if self.detach else s)


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def _ones(module):
    for p in module.parameters():
        torch.nn.init.ones_(p)
    return module


def generate(rng: random.Random):
    """(convdsl text, torch module, torch module with the gates' gradient cut, input size)."""
    size = rng.randint(12, 28)
    lines = [f"input x: 1 x {size} x {size}"]
    mods, plain = [], []
    current = "x"
    for i in range(rng.randint(1, 4)):
        choice = rng.choice(["conv", "conv", "pool", "gate", "residual"])
        name = f"t{i}"
        if choice == "conv":
            k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
            p = rng.randint(0, k // 2 * d)
            lines.append(f"{name} = {current} -> conv(1, {k}, s={s}, p={p}, d={d}, bias=false)")
            mods.append(_ones(nn.Conv2d(1, 1, k, s, p, d, bias=False)))
            plain.append(mods[-1])
        elif choice == "pool":
            k, s = rng.randint(1, 3), rng.randint(1, 3)
            p = rng.randint(0, k // 2)
            lines.append(f"{name} = {current} -> avgpool({k}, s={s}, p={p})")
            mods.append(nn.AvgPool2d(k, s, p))
            plain.append(mods[-1])
        elif choice == "gate":
            lines.append(f"{name}gate = {current} -> adaptive_avgpool(1)")
            lines.append(f"{name} = mul({current}, {name}gate)")
            mods.append(Gate(False))
            plain.append(Gate(True))
        else:
            lines.append(f"{name}b = {current} -> conv(1, 3, p=1, bias=false)")
            lines.append(f"{name} = add({current}, {name}b)")
            body = _ones(nn.Conv2d(1, 1, 3, 1, 1, bias=False))
            mods.append(Residual(body))
            plain.append(Residual(body))
        current = name
    lines.append(f"output y = {current} -> out: identity")
    return "\n".join(lines) + "\n", nn.Sequential(*mods), nn.Sequential(*plain), size


def _fields(model, size):
    """Per output row o (at the middle column): (first, last) input row with a non-zero gradient."""
    x = (torch.rand(1, 1, size, size, dtype=torch.float64) + 0.5).requires_grad_()
    model = model.double()
    y = model(x)
    rows = []
    col = y.shape[3] // 2
    for o in range(y.shape[2]):
        (grad,) = torch.autograd.grad(y[0, 0, o, col], x, retain_graph=True)
        hit = (grad[0, 0].abs() > 0).any(dim=1).nonzero().flatten().tolist()
        rows.append((hit[0], hit[-1]))
    return rows


def _sees_every_row(model, size) -> bool:
    """Whether every output element (at the middle column) has a non-zero gradient on every input row."""
    x = (torch.rand(1, 1, size, size, dtype=torch.float64) + 0.5).requires_grad_()
    y = model.double()(x)
    col = y.shape[3] // 2
    for o in range(y.shape[2]):
        (grad,) = torch.autograd.grad(y[0, 0, o, col], x, retain_graph=True)
        if not bool((grad[0, 0].abs() > 0).any(dim=1).all()):
            return False
    return True


def _check_bound(rows, size, rf):
    """At the declared size: no element sees more than the field; if all see everything, the field covers it."""
    for lo, hi in rows:
        assert hi - lo + 1 <= rf
    if all(lo == 0 and hi == size - 1 for lo, hi in rows):
        assert rf >= size


def _check_interior(rows, size, rf, stride, *, exact_field: bool):
    """On an input large enough that some elements' fields are a whole field away from both edges
    (so that neither padding nor a dilation's skipped rows at an edge can clip them)."""
    inside = [(o, lo, hi) for o, (lo, hi) in enumerate(rows) if lo >= rf and hi <= size - 1 - rf]
    assert len(inside) >= 2
    for o, lo, hi in inside:
        if exact_field:
            assert hi - lo + 1 == rf, (o, lo, hi, rf)
    for (o1, lo1, _), (o2, lo2, _) in zip(inside, inside[1:]):
        if o2 == o1 + 1:
            assert lo2 - lo1 == stride


def test_squeeze_and_excitation_keeps_the_main_branch_stride():
    # the case: conv 3x3/2 (pad 1), a global-pool gate, conv 3x3/1 (pad 1), on 8 x 32 x 32.
    # By hand: conv1 field 3, jump 2; the gate sees all of conv1's 16 positions: 3 + 15 * 2 = 33 rows,
    # the whole padded input; conv2 adds (3 - 1) * 2 = 4: field 37, jump 2 (the main branch's).
    text = (
        "input x: 1 x 32 x 32\na = x -> conv(1, 3, s=2, p=1, bias=false)\ns = a -> adaptive_avgpool(1)\n"
        "y = mul(a, s) -> c2: conv(1, 3, p=1, bias=false)\n"
    )
    analysis = convdsl.loads(text).analyze()
    info = analysis.layers["c2"]
    assert info.effective_stride == (2, 2)
    assert info.receptive_field == (37, 37)
    # the field counted with padding (37 on 32 rows) only suggests it; the gate makes it the whole input
    assert info.whole_input == (True, True)
    assert analysis.layers["conv1"].whole_input == (False, False)
    from convdsl.summary import table

    assert [line.split()[-1] for line in table(analysis).splitlines() if line.startswith(("conv1 ", "c2 "))] == [
        "3x3",
        "whole",
    ]
    conv1, conv2 = _ones(nn.Conv2d(1, 1, 3, 2, 1, bias=False)), _ones(nn.Conv2d(1, 1, 3, 1, 1, bias=False))
    # through the gate every output sees the whole input ...
    rows = _fields(nn.Sequential(conv1, Gate(False), conv2), 32)
    assert all(r == (0, 31) for r in rows)
    _check_bound(rows, 32, 37)
    # ... and through the main branch alone, the field moves 2 rows per output row (3 + 2 * 2 = 7 rows)
    main = _fields(nn.Sequential(conv1, Gate(True), conv2), 64)
    _check_interior(main, 64, 7, 2, exact_field=True)


@pytest.mark.parametrize("seed", range(100))
def test_generated_networks_match_gradients(seed):
    rng = random.Random(seed)
    while True:  # drawn again until the network fits its input
        text, model, plain, size = generate(rng)
        info = convdsl.loads(text).analyze().layers.get("out")
        if info is not None and info.receptive_field is not None:
            break
    rf, stride = info.receptive_field[0], info.effective_stride[0]
    try:
        rows = _fields(model, size)
    except RuntimeError:
        pytest.fail(f"torch refuses a network convdsl accepts:\n{text}")
    _check_bound(rows, size, rf)
    # "whole" (a global pool on the way, directly or through a gate) is only said where every output
    # element's gradient reaches both edges of the input
    sees_everything = _sees_every_row(model, size)
    if info.whole_input[0]:
        assert sees_everything, text
    # (the converse does not hold: a 1x1 stride-3 convolution after a 3x3 one still reads every input
    # row, while convdsl, judging layer by layer, then does not claim "whole")
    # fields and strides of windows do not depend on the input size: measured on a larger input,
    # through the branches that are not gates (a gate's field is the whole input, at any size)
    large = 3 * rf + 4 * stride + 8
    _check_interior(_fields(plain, large), large, rf, stride, exact_field="gate" not in text)


@pytest.mark.parametrize(
    "stem, whole",
    [
        ("conv(1, 3, s=2, p=1, bias=false)", True),  # 3x3/2 reads every row of 32
        ("conv(1, 1, s=2, bias=false)", False),  # a 1x1 kernel with stride 2 skips the odd rows
        ("conv(1, 3, s=3, bias=false)", False),  # on 32 rows the last window ends at row 29: 30, 31 unread
        ("maxpool(2)", True),
        ("conv(1, 2, s=2, d=2, bias=false)", False),  # taps at 0 and 2, windows every 2: odd rows unread
        ("conv_transpose(1, 2, s=2, bias=false)", True),
        ("crop(size=(30, 30))", False),  # two rows cut off
        # axes moved and moved back: every element kept, so every row still reaches the gate
        ("conv(1, 3, s=2, p=1, bias=false) -> permute(0, 2, 3, 1) -> permute(0, 3, 1, 2)", True),
        ("conv(1, 1, s=2, bias=false) -> transpose(1, 3) -> transpose(1, 3)", False),
    ],
)
def test_whole_input_is_claimed_only_where_every_row_reaches_the_gate(stem, whole):
    text = (
        f"input x: 1 x 32 x 32\na = x -> {stem}\ns = a -> adaptive_avgpool(1)\n"
        "output y = mul(a, s) -> out: conv(1, 3, p=1, bias=false)\n"
    )
    analysis = convdsl.loads(text).analyze()
    assert analysis.layers["out"].whole_input == (whole, whole)
    # the truth, by gradients: a model of the same stem
    stems = {
        "conv(1, 3, s=2, p=1, bias=false)": lambda: _ones(nn.Conv2d(1, 1, 3, 2, 1, bias=False)),
        "conv(1, 1, s=2, bias=false)": lambda: _ones(nn.Conv2d(1, 1, 1, 2, bias=False)),
        "conv(1, 3, s=3, bias=false)": lambda: _ones(nn.Conv2d(1, 1, 3, 3, bias=False)),
        "maxpool(2)": lambda: nn.AvgPool2d(2),  # the same windows; average so that every tap has a gradient
        "conv(1, 2, s=2, d=2, bias=false)": lambda: _ones(nn.Conv2d(1, 1, 2, 2, dilation=2, bias=False)),
        "conv_transpose(1, 2, s=2, bias=false)": lambda: _ones(nn.ConvTranspose2d(1, 1, 2, 2, bias=False)),
        "crop(size=(30, 30))": lambda: Crop30(),
        "conv(1, 3, s=2, p=1, bias=false) -> permute(0, 2, 3, 1) -> permute(0, 3, 1, 2)": lambda: nn.Sequential(
            _ones(nn.Conv2d(1, 1, 3, 2, 1, bias=False)), Permute((0, 2, 3, 1)), Permute((0, 3, 1, 2))
        ),
        "conv(1, 1, s=2, bias=false) -> transpose(1, 3) -> transpose(1, 3)": lambda: nn.Sequential(
            _ones(nn.Conv2d(1, 1, 1, 2, bias=False)), Permute((0, 3, 2, 1)), Permute((0, 3, 2, 1))
        ),
    }
    model = nn.Sequential(stems[stem](), Gate(False), _ones(nn.Conv2d(1, 1, 3, 1, 1, bias=False)))
    assert _sees_every_row(model, 32) == whole


class Permute(nn.Module):
    def __init__(self, order):
        super().__init__()
        self.order = order

    def forward(self, x):
        return x.permute(*self.order)


def test_a_swin_stage_then_a_global_pool_sees_the_whole_input():
    """Patch embedding, window attention and patch merging on H x W x C tokens read every row, so the global
    pool after them (the dims permuted back) sees the whole input; the truth by gradients through the export:
    every logit has a non-zero gradient on every input pixel."""
    from convdsl.export import export_pytorch

    text = (
        "input x: 3 x 32 x 32\n"
        "a = x -> conv(8, 4, s=4) -> permute(0, 2, 3, 1) -> window_attention(2, 4) -> patch_merging\n"
        "    -> window_attention(4, 2, shift=1) -> permute(0, 3, 1, 2)\n"
        "output y = a -> adaptive_avgpool(1) -> flatten -> head: linear(5)\n"
    )
    analysis = convdsl.loads(text).analyze()
    assert analysis.layers["head"].whole_input == (True, True)
    exported = export_pytorch(analysis)
    scope: dict = {}
    exec(compile(exported.source, "swin_stage.py", "exec"), scope)
    model = scope[exported.class_name]().double().eval()
    x = (torch.rand(1, 3, 32, 32, dtype=torch.float64) + 0.5).requires_grad_()
    y = model(x)
    for logit in range(5):
        (grad,) = torch.autograd.grad(y[0, logit], x, retain_graph=True)
        assert bool((grad[0].abs().sum(dim=0) > 0).all())  # every pixel of the input reaches the logit


class Crop30(nn.Module):
    def forward(self, x):  # convdsl's crop keeps the centre: rows 1..30
        return x[:, :, 1:31, 1:31]


@pytest.mark.parametrize("written", ["reshape(like=g)", "upsample(like=g)", "crop(like=g)"])
def test_a_like_tensor_gives_its_shape_not_its_field(written):
    """`reshape(like=g)` reads g's shape, not its values: a 9x9 convolution making g widens nothing. The field
    is the chained input's alone, as with the shape written out: for a reshape, taken to mix positions, the
    3x3 conv's 3 rows plus the rest of the 8-row axis at jump 1 (3 + 7 = 10); for upsample and crop to the
    same 8 x 8, the 3x3 conv's 3."""
    spelled = {
        "reshape(like=g)": "reshape((1, 8, 8))",
        "upsample(like=g)": "upsample(size=8)",
        "crop(like=g)": "crop(size=8)",
    }
    fields = []
    for step in (written, spelled[written]):
        text = (
            "input x: 1 x 8 x 8\ng = x -> wide: conv(1, 9, p=4)\n"
            f"y = x -> conv(1, 3, p=1) -> r: {step}\noutput z = add(y, g)\n"
        )
        fields.append(convdsl.loads(text).analyze().layers["r"].receptive_field)
    assert fields[0] == fields[1] == ((10, 10) if written.startswith("reshape") else (3, 3))


@pytest.mark.parametrize(
    "moved",
    ["permute(0, 1, 3, 2)", "transpose(2, 3)", "permute(0, 2, 3, 1) -> permute(0, 3, 2, 1)"],
)
def test_a_global_pool_after_a_permute_reads_each_axis_at_its_own_size(moved):
    """A global pool reads every position, in whatever order a permute left the axes: its field is the one it
    has without the permute, each input axis at its own size (H of 16 rows after the conv, W of 8), not zipped
    by position. By hand: the conv's 3 rows at jump 2, then 3 + (16 - 1) * 2 = 33 along H and
    3 + (8 - 1) * 2 = 17 along W. The truth for `whole` by gradients: every input pixel reaches the output."""
    fields = {}
    for step in (f"-> {moved} ", ""):
        text = f"input x: 1 x 32 x 16\ny = x -> conv(1, 3, s=2, p=1, bias=false) {step}-> g: global_avgpool\n"
        info = convdsl.loads(text).analyze().layers["g"]
        fields[step] = (info.receptive_field, info.effective_stride, info.whole_input)
    assert fields[""] == ((33, 17), (32, 16), (True, True))
    assert fields[f"-> {moved} "] == fields[""]
    conv = _ones(nn.Conv2d(1, 1, 3, 2, 1, bias=False))
    order = (0, 1, 3, 2)
    model = nn.Sequential(conv, Permute(order), nn.AdaptiveAvgPool2d(1)).double()
    x = (torch.rand(1, 1, 32, 16, dtype=torch.float64) + 0.5).requires_grad_()
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    assert bool((grad[0, 0] > 0).all())
