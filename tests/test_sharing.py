"""Equal layers share work: lowering binds a call once per set of argument values, and inference
infers layers with the same `args`, inputs and consumers once (lower.binding.Binding._bind, infer._Inference._layer).

The sharing must not change any result: every example, fixture and generated
network is analysed with it and without it, and must give the same layers and
the same diagnostics.
"""

from __future__ import annotations

import pytest
from conftest import ROOT

import convdsl
from convdsl.lower import binding
from convdsl.infer import analyze
from fuzz.generate import generate

FILES = sorted({*ROOT.glob("examples/*.cdsl"), *ROOT.glob("tests/fixtures/**/*.cdsl")}, key=str)


def _unshared(load):
    """The network as it would be without sharing: every call bound anew, every node its own `args`."""
    original = binding._binding_key
    binding._binding_key = lambda call, names, env: None
    try:
        network = load()
    finally:
        binding._binding_key = original
    for data in network.layer_graph.nodes.values():
        if "args" in data:
            data["args"] = dict(data["args"])
    return network


def _outcome(network, strict=False):
    analysis = analyze(network, strict=strict)
    # repr: symbolic sizes are expressions, which compare by identity
    return repr(analysis.layers), [(d.code, d.span, d.message, d.help, d.notes) for d in analysis.diagnostics]


def _cases():
    for path in FILES:
        yield path.relative_to(ROOT).as_posix(), (lambda path=path: convdsl.load(path))
    for seed in range(150):
        text = generate(seed, hostile=seed % 3 == 0)
        yield f"generated:{seed}", (lambda text=text: convdsl.loads(text, "generated.cdsl"))


CASES = list(_cases())


@pytest.mark.parametrize("name, load", CASES, ids=[name for name, _ in CASES])
@pytest.mark.parametrize("strict", [False, True])
def test_sharing_changes_nothing(name, load, strict):
    assert _outcome(load(), strict) == _outcome(_unshared(load), strict)


BLOCKS = """\
input x: 8 x 16 x 16
block unit(c, s=1) {
    out = in -> conv(c, 3, s=s, p=1) -> bn -> relu
}
"""


def _args(network, node):
    return network.layer_graph.nodes[node]["args"]


def test_equal_calls_share_their_arguments():
    net = convdsl.loads(BLOCKS + "y = x -> a: unit(8) -> b: unit(8) -> c: unit(16) -> d: unit(8, s=2)\n")
    assert _args(net, "a.conv1") is _args(net, "b.conv1")
    assert _args(net, "a.conv1") is not _args(net, "c.conv1") and _args(net, "c.conv1")["out_channels"] == 16
    assert _args(net, "d.conv1")["stride"] == 2 and _args(net, "a.conv1")["stride"] == 1
    layers = net.analyze().layers
    # hand arithmetic: 8 * 8 * 3 * 3 weights + 8 biases; 16 x 16 stays 16 x 16 with p=1
    assert layers["a.conv1"].params == layers["b.conv1"].params == 8 * 8 * 9 + 8
    assert layers["a.conv1"].output_shape == (8, 16, 16) and layers["d.conv1"].output_shape == (8, 8, 8)
    assert layers["c.conv1"].params == 16 * 8 * 9 + 16


@pytest.mark.parametrize("value, ok", [("1", True), ("true", False), ("1.0", False)])
def test_values_equal_as_keys_but_not_as_arguments_are_bound_apart(value, ok):
    """1 == True == 1.0 in Python: a call must not take the binding made for another of them."""
    net = convdsl.loads(BLOCKS + f"y = x -> a: unit(1) -> b: unit({value})\n")
    errors = [d for d in net.diagnostics if d.is_error]
    assert (not errors) is ok
    if not ok:
        assert errors[0].code.code == "E008" and "b.conv1" not in net.layers()
    assert "a.conv1" in net.layers()


def test_each_copy_of_a_warning_is_still_reported():
    """A shared result reported nothing; a layer that warns is inferred, and warns, every time."""
    text = BLOCKS.replace("bn -> relu", "bn") + "y = x -> a: unit(8) -> b: unit(8) -> relu\n"
    found = [d for d in convdsl.loads(text).analyze().diagnostics if d.code.name == "redundant-bias"]
    # the copies of one line's warning are said once, with their count
    assert [d.notes for d in found] == [("in layer `a.conv1`", "the same in 1 more layer made from this line")]


def test_what_a_layer_feeds_is_part_of_what_is_shared():
    """The same convolution on the same input warns before batch norm only."""
    text = (
        "input x: 8 x 16 x 16\n"
        "a = x -> c1: conv(8, 3, p=1) -> bn\n"
        "b = x -> c2: conv(8, 3, p=1) -> relu\n"
        "c = x -> c3: conv(8, 3, p=1) -> bn\n"
    )
    found = [d.message for d in convdsl.loads(text).analyze().diagnostics if d.code.name == "redundant-bias"]
    assert len(found) == 2


def test_layers_share_arguments_by_value_and_by_what_was_written():
    """Equal values share one args dict across calls; an argument written out is part of what is equal."""
    text = (
        "input x: 8 x 16 x 16\n"
        "a = x -> c1: conv(8, 3, p=1) -> n1: bn\n"
        "b = x -> c2: conv(8, 3, padding=1) -> n2: bn\n"
        "c = x -> c3: conv(8, 3, p=1, bias=true) -> n3: bn\n"
    )
    net = convdsl.loads(text)
    assert _args(net, "c1") is _args(net, "c2")  # the same values, written with an alias
    assert _args(net, "c3") is not _args(net, "c1") and _args(net, "c3") == _args(net, "c1")
    assert _args(net, "n1") is _args(net, "n2") is _args(net, "n3")
    found = [d for d in net.analyze().diagnostics if d.code.name == "redundant-bias"]
    # `bias=true` written out says the bias is meant: c3 does not warn, although its values are c1's
    assert sorted(d.span.line for d in found) == [2, 3]
