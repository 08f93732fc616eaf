"""`convdsl sizes` and symbolic input sizes, checked against brute force.

The reference for "which sizes are valid" is the full inference (`analyze`)
run at every size: a size is valid when it reports no error. The sweep under
test uses the lighter Probe, and the rule is derived from the sweep; both must
agree with brute force everywhere they are compared. The U-Net and LeNet rules
are also derived by hand below.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

import convdsl
from convdsl import cli
from convdsl.infer import analyze
from convdsl.sizes import analyze_sizes, derive_rule
from convdsl.symbolic import Expr

from conftest import EXAMPLES


def brute_force(network, name, index, upto, strict=False):
    """Sizes 1..upto of one input dimension at which the full inference reports no error."""
    node = network.layer_graph.nodes[name]
    spec = network.inputs[name]
    valid = []
    for n in range(1, upto + 1):
        dims = list(spec.dims)
        dims[index] = n
        old = node["args"]
        node["args"] = {**old, "shape": tuple(dims)}
        network.inputs[name] = replace(spec, dims=tuple(dims))
        try:
            if not analyze(network, strict=strict, size_hints=False).has_errors:
                valid.append(n)
        finally:
            node["args"] = old
            network.inputs[name] = spec
    return valid


# (example, how far to brute-force): the full range where inference is cheap.
CASES = [
    ("lenet", 1024),
    ("unet", 1024),
    ("vgg16", 512),
    ("alexnet", 512),
    ("dcgan_generator", 256),
    ("inception_module", 256),
    ("resnet18", 160),
    ("resnet50", 96),
    ("mobilenet_v2", 96),
    ("googlenet", 96),
    ("vgg16_bn", 128),
]


@pytest.mark.parametrize("example,upto", CASES, ids=[c[0] for c in CASES])
def test_sweep_and_rule_match_brute_force_on_every_example(example, upto):
    network = convdsl.load(EXAMPLES / f"{example}.cdsl")
    report = analyze_sizes(network, limit=upto)
    assert report.problem is None
    height = next(a for a in report.axes if a.variable.name in ("H", "L"))
    name, index = height.variable.members[0]
    expected = brute_force(network, name, index, upto)
    assert height.valid == expected
    assert [n for n in range(1, upto + 1) if height.rule.contains(n)] == expected
    declared = network.inputs[name].dims[index]
    assert (height.declared_failure is None) == (declared in expected or declared > upto)


def test_strict_sweep_matches_brute_force():
    network = convdsl.load(EXAMPLES / "resnet18.cdsl")
    report = analyze_sizes(network, strict=True, limit=128)
    height = report.axes[0]
    # with --strict the other axis must be held where it is exact too: W = 225, not the declared 224
    assert height.sampled_at == {"W": 225}
    network.inputs["image"] = replace(network.inputs["image"], dims=(3, 224, 225))
    node = network.layer_graph.nodes["image"]
    node["args"] = {**node["args"], "shape": (3, 224, 225)}
    assert height.valid == brute_force(network, "image", 1, 128, strict=True)
    # by hand: every stride-2 step must be exact, (n - 1)/2 at each of the 5 halvings: n = 32k + 1
    assert height.valid == [n for n in range(1, 129) if n % 32 == 1]


def test_unet_accepts_572_and_rejects_its_neighbours():
    report = analyze_sizes(convdsl.load(EXAMPLES / "unet.cdsl"))
    for axis in report.axes:
        assert 572 in axis.valid and 571 not in axis.valid and 573 not in axis.valid
        # By hand: the bottleneck size m after four (pool, two unpadded convs) steps gives
        # n = 16m + 124; the expanding path 2u - 4 four times stays positive only from m = 4.
        assert axis.valid == [16 * m + 124 for m in range(4, 100) if 16 * m + 124 <= 1024]
        assert axis.rule.text == "16k + 12 for k >= 11"
        assert (axis.below, axis.above) == (556, 588)
        assert axis.declared_failure is None
    # the two axes really are independent: W's sweep is the same with H at another valid size
    assert report.axes[0].coupled_with == ()


def test_lenet_rule_by_hand():
    # conv5 -> pool2 -> conv5 -> pool2: (n - 4) even and ((n - 4)/2 - 4) even and >= 2: n = 4k, n >= 16
    report = analyze_sizes(convdsl.load(EXAMPLES / "lenet.cdsl"))
    assert report.axes[0].rule.text == "multiples of 4 from 16"
    assert report.axes[0].valid == list(range(16, 1025, 4))


def _random_network(rng: random.Random) -> str:
    lines = ["input x: 3 x 64 x 32"]
    layers = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["conv", "maxpool", "avgpool", "conv", "upsample"])
        k = rng.randint(1, 5)
        s = rng.randint(1, 3)
        if kind == "conv":
            p = rng.randint(0, 2)
            d = rng.choice([1, 1, 2])
            layers.append(f"conv(4, {k}, s={s}, p={p}, d={d})")
        elif kind == "upsample":
            layers.append(f"upsample({rng.randint(2, 3)})")
        else:
            p = rng.randint(0, k // 2)
            ceil = rng.choice(["", ", ceil=true"])
            layers.append(f"{kind}({k}, s={s}, p={p}{ceil})")
    lines.append("y = x -> " + " -> ".join(layers))
    if rng.random() < 0.4:  # a skip that must match: a second branch with its own stride
        lines.append(f"z = x -> conv(4, 1, s={rng.randint(1, 2)})")
        lines.append("w = add(y, z)")
        lines.append("output w")
    else:
        lines.append("output y")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(40))
def test_random_networks_match_brute_force(seed):
    rng = random.Random(seed)
    text = _random_network(rng)
    network = convdsl.loads(text)
    assert not network.has_errors, text
    strict = seed % 3 == 0
    report = analyze_sizes(network, strict=strict, limit=120)
    height = report.axes[0]
    if height.sampled_at:  # the declared width fails: the sweep holds W where it works, and so must we
        spec = network.inputs["x"]
        network.inputs["x"] = replace(spec, dims=(3, 64, height.sampled_at["W"]))
        node = network.layer_graph.nodes["x"]
        node["args"] = {**node["args"], "shape": (3, 64, height.sampled_at["W"])}
    expected = brute_force(network, "x", 1, 120, strict=strict)
    assert height.valid == expected, text
    assert [n for n in range(1, 121) if height.rule.contains(n)] == expected, (text, height.rule)


@pytest.mark.parametrize(
    "valid,limit,text",
    [
        ([], 100, "none from 1 to 100"),
        (list(range(1, 101)), 100, "every size"),
        (list(range(7, 101)), 100, "every size from 7"),
        (list(range(32, 1025, 32)), 1024, "multiples of 32 from 32"),
        ([n for n in range(28, 400) if n % 16 == 12], 399, "16k + 12 for k >= 1"),
        ([3] + list(range(5, 101, 5)), 100, "multiples of 5 from 5; also 3"),
        ([3, 4] + list(range(10, 101, 5)), 100, "multiples of 5 from 10; also 3 and 4"),
        ([n for n in range(1, 200) if n % 8 != 5], 199, "every size from 1 except n = 5 (mod 8)"),
        ([n for n in range(1, 200) if n % 8 in (1, 2)], 199, "n = 1 or 2 (mod 8) from 1"),
    ],
)
def test_rule_text(valid, limit, text):
    rule = derive_rule(valid, limit)
    assert rule.text == text
    assert [n for n in range(1, limit + 1) if rule.contains(n)] == valid


def test_sizes_cli_json_contract(capsys):
    code = cli.main(["sizes", str(EXAMPLES / "unet.cdsl"), "--format", "json", "--max", "600"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    axes = out["inputs"]["image"]["axes"]
    assert set(axes) == {"H", "W"}
    for axis in axes.values():
        assert axis["valid"] == sorted(axis["valid"]) and 572 in axis["valid"]
        assert all(1 <= n <= 600 for n in axis["valid"])
        assert axis["nearest"] == {"below": 556, "above": 588}
        assert isinstance(axis["rule"], str)


def test_sizes_cli_text_and_exit_code_when_the_declared_size_fails(tmp_path, capsys):
    path = tmp_path / "tour.cdsl"
    path.write_text(
        "input image: 3 x 227 x 227\nx = image -> conv(64, 3, s=2, bias=false) -> bn -> relu\ny = x -> maxpool(2)\n"
    )
    assert cli.main(["sizes", str(path)]) == 1
    out = capsys.readouterr().out
    # by hand: the conv keeps every row only for odd n, giving (n - 1)/2, which the pool needs even: n = 4k + 1
    assert "4k + 1 for k >= 1" in out
    assert "227 fails: E101 at `maxpool1`" in out
    assert "nearest valid: 225 below and 229 above" in out


def test_division_error_help_names_the_nearest_input_sizes(tmp_path):
    path = tmp_path / "tour.cdsl"
    path.write_text(
        "input image: 3 x 227 x 227\nx = image -> conv(64, 3, s=2, bias=false) -> bn -> relu\ny = x -> maxpool(2)\n"
    )
    (diag,) = convdsl.load(path).analyze().diagnostics
    assert diag.code.code == "E101"
    # the nearest sizes are those `convdsl sizes` finds for this file (4k + 1: 225 and 229, see above), on
    # each axis alike: a square input stays square (229 x 229, not 229 with the width held at 225)
    words = [fix.description for fix in diag.fixes]
    assert "give `image` a height and width of 225" in words
    assert "give `image` a height and width of 229" in words
    assert not any("(with a" in w for w in words)
    edits = {fix.description: sorted(e.text for e in fix.edits) for fix in diag.fixes}
    assert edits["give `image` a height and width of 229"] == ["229", "229"]
    assert "use `ceil=true`" in words and "`ceil=true`" in diag.help_text


def test_nearest_sizes_when_no_one_offset_serves_both_axes(tmp_path):
    """227 x 226 through the tour network, whose sizes are 4k + 1 on each axis (see above): no offset moves
    both to 4k + 1 at once (it would be 2 mod 4 and 3 mod 4), so each axis moves on its own: both to 225."""
    path = tmp_path / "tour.cdsl"
    path.write_text(
        "input image: 3 x 227 x 226\nx = image -> conv(64, 3, s=2, bias=false) -> bn -> relu\ny = x -> maxpool(2)\n"
    )
    diagnostics = convdsl.load(path).analyze().diagnostics
    words = [fix.description for d in diagnostics for fix in d.fixes]
    assert "give `image` a height of 225 (with a width of 225)" in words
    assert "give `image` a height of 229 (with a width of 225)" in words
    assert "give `image` a width of 225 (with a height of 225)" in words
    assert not any("input height of 112" in (d.help_text or "") for d in diagnostics)  # the layer's own sizes


def test_sizes_usage_errors(tmp_path, capsys):
    assert cli.main(["sizes", str(tmp_path / "missing.cdsl")]) == 2
    assert cli.main(["sizes", str(EXAMPLES / "lenet.cdsl"), "--max", "0"]) == 2
    capsys.readouterr()


# symbolic input sizes ---------------------------------------------------------

SYMBOLIC = """
input x: 3 x H x W
a = x -> conv(16, 7, s=2, p=3) -> maxpool(3, s=2, p=1)
b = a -> conv(16, 3, s=2, p=1)
c = a -> conv(16, 1, s=2)
y = add(b, c) -> upsample(2) -> conv(8, 3, p=1)
output y
"""


def test_symbolic_shapes_are_expressions_that_match_numeric_inference():
    network = convdsl.loads(SYMBOLIC)
    analysis = network.analyze()
    assert not analysis.has_errors, analysis.diagnostics
    notes = [d for d in analysis.diagnostics if d.code.code == "N001"]
    assert {d.message.split("`")[1] for d in notes} == {"H", "W"}
    conv1 = analysis.layers["conv1"].output_shape
    # floor((H + 6 - 7)/2) + 1 = floor((H + 1)/2)
    assert str(conv1[1]) == "floor((H + 1)/2)" and str(conv1[2]) == "floor((W + 1)/2)"
    for h, w in [(224, 224), (97, 130), (33, 64), (500, 17)]:
        numeric = convdsl.loads(SYMBOLIC.replace("H x W", f"{h} x {w}")).analyze()
        if numeric.has_errors:
            continue
        for name, info in analysis.layers.items():
            expected = numeric.layers[name].output_shape
            got = tuple(d if isinstance(d, int) else d.evaluate({"H": h, "W": w}) for d in info.output_shape)
            assert got == expected, (name, info.output_shape, h, w)


def test_symbolic_check_reports_constraints_not_a_verdict(capsys):
    path = "tests/fixtures/diagnostics/size_constraint.cdsl"
    assert cli.main(["check", path]) == 0
    out = capsys.readouterr().out
    assert "note[N001]: `H` may be multiples of 4 from 4" in out


def test_symbolic_summary_shows_expressions(capsys):
    path = "tests/fixtures/diagnostics/size_constraint.cdsl"
    assert cli.main(["summary", path, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # H may only be a multiple of 4 (the note says so), so floor(H/4) never rounds and prints as H/4
    assert out["outputs"]["y"] == [8, "H/4", 8]
    # MACs of the 3x3 conv: 8 out x 3 in x 9 x H x 32 = 6912*H
    assert out["layers"][0]["macs"] == "6912*H"
    assert cli.main(["summary", path]) == 0
    table = capsys.readouterr().out
    assert "8 x H/2 x 16" in table


def test_expression_arithmetic_matches_integers():
    rng = random.Random(7)
    for trial in range(400):
        ops = [(rng.choice("+-*/c"), rng.randint(1, 6)) for _ in range(rng.randint(1, 9))]
        for h in (1, 2, 7, 64, 223, 1000):
            e, v = Expr.symbol("H", h), h
            for op, k in ops:
                if op == "+":
                    e, v = e + k, v + k
                elif op == "-":
                    e, v = e - k, v - k
                elif op == "*":
                    e, v = e * k, v * k
                elif op == "/":
                    e, v = e // k, v // k
                else:
                    e, v = -(-e // k), -(-v // k)
            value = e.evaluate({"H": h}) if isinstance(e, Expr) else e
            assert value == v, (ops, h, str(e))


def test_axes_that_interact_are_reported_as_coupled():
    # reshape((4, 16)) needs H * W = 64: which heights work depends on the width.
    network = convdsl.loads("input x: 1 x 8 x 8\ny = x -> reshape((4, 16))\n")
    report = analyze_sizes(network, limit=64)
    height, width = report.axes
    assert height.valid == [8] and height.coupled_with == ("W",)
    assert width.coupled_with == ("H",)
    # ...and independent axes are not: conv and pool act on each axis alone
    report = analyze_sizes(convdsl.load(EXAMPLES / "vgg16.cdsl"), limit=256)
    assert all(axis.coupled_with == () for axis in report.axes)


def test_symbols_shared_by_two_inputs_move_together():
    text = "input a: 3 x S x S\ninput b: 3 x S x S\nx = a -> conv(4, 3, s=2)\ny = b -> conv(4, 2, s=2)\nz = add(x, y)\n"
    report = analyze_sizes(convdsl.loads(text), limit=64)
    (axis,) = report.axes
    assert axis.variable.name == "S" and len(axis.variable.members) == 4
    # by hand: 3x3/2 gives floor((S - 3)/2) + 1 without loss only for odd S; 2x2/2 gives floor(S/2)
    # without loss only for even S. They can never both hold: no S works.
    assert axis.valid == []


def test_symbolic_unet_output_is_h_minus_184():
    # U-Net on a 572 tile gives 388 (the paper's Fig. 1): 572 - 184. With H = 16k + 12 every
    # floor in the expression is exact, so it must print as the plain difference.
    text = (EXAMPLES / "unet.cdsl").read_text().replace("1 x 572 x 572", "1 x H x W")
    analysis = convdsl.loads(text, path=str(EXAMPLES / "unet_symbolic.cdsl")).analyze()
    assert not analysis.has_errors
    (shape,) = analysis.output_shapes().values()
    assert [str(d) for d in shape] == ["2", "H - 184", "W - 184"]
    assert shape[1].evaluate({"H": 572}) == 388


def _towers(count: int, joined: tuple[int, int] | None = None) -> str:
    """`count` inputs, each a conv/pool tower, pooled globally and concatenated; `joined` adds two towers
    before their pools (which ties their sizes together)."""
    lines = [f"input x{i}: 3 x 64 x 64" for i in range(count)]
    for i in range(count):
        lines.append(f"t{i} = x{i} -> conv(8, 3, s=2, p=1) -> relu -> maxpool(2)")
    pooled = [f"t{i}" for i in range(count)]
    if joined:
        a, b = joined
        lines.append(f"j = add(t{a}, t{b})")
        pooled = [p for p in pooled if p not in (f"t{a}", f"t{b}")] + ["j"]
    lines += [f"f{i} = {p} -> adaptive_avgpool(1) -> flatten" for i, p in enumerate(pooled)]
    lines.append("output y = concat(" + ", ".join(f"f{i}" for i in range(len(pooled))) + ") -> linear(10)")
    return "\n".join(lines) + "\n"


def test_twenty_inputs_are_swept_one_tower_at_a_time():
    # issue 14: with 40 axes the pairwise coupling check was quadratic and `sizes` refused. By hand:
    # conv 3/2 pad 1 gives floor((n + 2 - 3)/2) + 1 = ceil(n/2) rows; maxpool 2 loses one when that
    # is odd. So n works when ceil(n/2) is even: n % 4 in (0, 3).
    by_hand = [n for n in range(1, 257) if -(-n // 2) % 2 == 0]
    report = analyze_sizes(convdsl.loads(_towers(20)), limit=256)
    assert report.problem is None
    assert len(report.axes) == 40
    assert all(axis.valid == by_hand for axis in report.axes)
    # the towers meet only after their global pools: no axis changes another's sizes
    assert all(axis.coupled_with == () for axis in report.axes)


def test_towers_added_before_their_pools_are_coupled_among_twenty():
    # add(t3, t7) needs the same rows from both towers: x3's valid heights depend on x7's height
    report = analyze_sizes(convdsl.loads(_towers(20, joined=(3, 7))), limit=128)
    assert report.problem is None
    coupled = {(axis.variable.members[0][0], axis.variable.name): axis.coupled_with for axis in report.axes}
    assert coupled[("x3", "H")] == ("H",) and coupled[("x7", "H")] == ("H",)
    assert coupled[("x3", "W")] == ("W",) and coupled[("x7", "W")] == ("W",)
    assert all(not c for (name, _), c in coupled.items() if name not in ("x3", "x7"))


def test_the_rule_is_the_period_that_explains_the_most():
    # YOLOv8's sizes: a stride-32 network of 3x3/2 convolutions (padding 1) and 2x upsampling with
    # concats works where ceil-halving five times and doubling back meet: n % 32 in 25..31 or 0. Every
    # size from 1017 to 1024 is valid too; "every size from 1017, also 248 others" is a worse rule.
    valid = [n for n in range(1, 1025) if n % 32 == 0 or n % 32 >= 25]
    rule = derive_rule(valid, 1024)
    assert (rule.period, rule.start, rule.extra) == (32, 25, ())
    assert rule.residues == (0, 25, 26, 27, 28, 29, 30, 31)


def test_an_input_of_features_only_has_no_axis_to_sweep():
    # `input x: 64` is a feature vector: no spatial axis, so nothing to sweep and a reason instead of axes
    network = convdsl.loads("input x: 64\noutput y = x -> linear(10)\n")
    report = analyze_sizes(network)
    assert (report.network, report.axes, report.problem) == (network, [], "the inputs have no spatial axes")


def test_a_sweep_over_its_budget_is_refused_with_the_reason():
    # two axes swept from 1 to 1,024 cost thousands of layer runs: a budget of 100 refuses at once, no axes
    network = convdsl.loads("input x: 1 x 8 x 8\noutput y = x -> conv(1, 3)\n")
    report = analyze_sizes(network, budget=100)
    assert report.axes == []
    assert report.problem.startswith("sweeping 2 axes of 1 layer from 1 to 1,024 needs ")
    assert "beyond the limit of 100" in report.problem
