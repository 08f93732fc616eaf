"""Rules of lowering that no diagnostic shows: settings, forward references, what a reuse copies, the
bindings a block's copies share, and the sizes read while lowering.

The expectations come from PyTorch (a pooling's ceil mode, an export run), from
the language's rules written out by hand (names, edges, the tensors a copy
reads), or from counting (bindings per set of values).
"""

from __future__ import annotations

import pytest
from conftest import require

import convdsl
from convdsl.build import NetworkBuilder
from convdsl.frontend import parse
from convdsl.loading import read_included
from convdsl.lower import Lowering
from convdsl.model import Limits
from convdsl.network import ShapeRead
from convdsl.source import Source
from convdsl.summary import to_json

NET = "input x: 3 x 8 x 8\n"


def _network(text):
    network = convdsl.loads(text, "net.cdsl")
    assert [d.message for d in network.diagnostics] == []
    return network


def _inputs(network, node):
    """The producers feeding `node`, by port."""
    return sorted((data["port"], source) for source, _, data in network.layer_graph.in_edges(node, data=True))


# settings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["caffe", '"caffe"', "'Caffe'"])
def test_set_rounding_caffe_rounds_a_pooling_up_as_pytorchs_ceil_mode(written):
    torch = require("torch")
    expected = torch.nn.MaxPool2d(2, ceil_mode=True)(torch.zeros(1, 3, 7, 7)).shape[1:]  # (3, 4, 4)
    analysis = convdsl.loads(f"set rounding = {written}\ninput x: 3 x 7 x 7\ny = x -> maxpool(2)\n").analyze()
    assert [d.message for d in analysis.diagnostics] == []
    assert analysis.network.settings.rounding == "caffe"
    assert analysis.output_shapes()["y"] == tuple(expected)


@pytest.mark.parametrize("written", ["NHWC", '"nhwc"'])
def test_set_layout_nhwc_shows_channels_last(written):
    analysis = convdsl.loads(f"set layout = {written}\ninput x: 3 x 8 x 6\ny = x -> conv(4, 3)\n").analyze()
    report = to_json(analysis)
    # C x H x W = 3 x 8 x 6 shown as H x W x C; conv(4, 3): 4 x 6 x 4, shown as 6 x 4 x 4
    assert (report["layout"], report["inputs"]["x"], report["outputs"]["y"]) == ("NHWC", [8, 6, 3], [6, 4, 4])


# tensors -----------------------------------------------------------------------------------------------


def test_a_tensor_may_be_used_on_a_line_before_its_definition():
    network = _network(NET + "y = x -> add(z)\nz = x -> relu\noutput y\n")
    assert _inputs(network, "add1") == [(0, "x"), (1, "relu1")]
    assert _inputs(network, "output:y") == [(0, "add1")]


def test_a_cycle_through_a_forward_reference_read_by_a_shape_ends_in_a_cycle_error():
    # c is used by `a` before its line, and computed from `a`: add1 -> relu1 -> add1. The block reads the
    # shape of its input (relu1), whose producers go round the cycle: the early shapes must stop there.
    text = "input x: 4 x 8 x 8\nblock b = conv(in.shape[1], 1)\na = x -> add(c)\nc = a -> relu\noutput d = c -> b\n"
    cycles = [d for d in convdsl.loads(text, "net.cdsl").diagnostics if d.code.code == "E010"]
    assert [(d.span.line, d.notes) for d in cycles] == [(3, ("cycle: add1 -> relu1 -> add1",))]


# reuse -------------------------------------------------------------------------------------------------

SIAMESE_LAYER = NET + "input z: 3 x 8 x 8\na = x -> tower: conv(4, 3)\nb = z -> reuse(tower)\noutput c = add(a, b)\n"


def test_a_reused_layer_is_one_layer_named_by_the_reuse_in_no_scope_of_its_own():
    copy = _network(SIAMESE_LAYER).layer_graph.nodes["reuse1"]
    assert (copy.kind, copy.label, copy.scopes, copy.shares) == ("conv", "reuse1", (), "tower")


def test_a_reused_group_is_a_scope_titled_by_the_reuse():
    text = SIAMESE_LAYER.replace("tower: conv(4, 3)", "tower: (conv(4, 3) -> relu)")
    nodes = _network(text).layer_graph.nodes
    for position, kind in enumerate(("conv", "relu")):
        copy = nodes[f"reuse1.{position}"]
        assert (copy.kind, copy.label, copy.shares) == (kind, str(position), f"tower.{position}")
        assert [(s.id, s.kind, s.name, s.args) for s in copy.scopes] == [
            ("reuse1", "group", "reuse", ((None, "tower"),))
        ]


def test_a_reused_repeat_keeps_each_copys_index_and_count():
    text = SIAMESE_LAYER.replace("tower: conv(4, 3)", "tower: (conv(3, 1) * 2)")
    nodes = _network(text).layer_graph.nodes
    for position in (0, 1):
        original = nodes[f"tower.{position}"].scopes[-1]
        copy = nodes[f"reuse1.{position}"].scopes[-1]
        assert (original.kind, original.index, original.count) == ("repeat", position, 2)
        assert (copy.id, copy.kind, copy.args, copy.index, copy.count) == (
            f"{original.id}@reuse1",
            "repeat",
            (),
            position,
            2,
        )


def test_a_label_two_groups_deep_is_reused_from_its_own_scope():
    # the reuse is in a.b, where `t` is: the copy is a.b's second layer, a.b.1, with t's weights
    nodes = _network(NET + "y = x -> a: (b: (t: conv(3, 1) -> reuse(t)))\n").layer_graph.nodes
    assert [n for n in nodes if n != "x" and n != "output:y"] == ["a.b.t", "a.b.1"]
    assert nodes["a.b.1"].shares == "a.b.t"


def test_a_copy_made_in_a_block_reports_its_errors_as_in_that_block():
    # maxpool(4) leaves 2 x 2; the reused 3 x 3 convolution does not fit: the error is the copy's, b1.reuse1
    text = NET + (
        "block b {\n"
        "    a = in -> t: conv(3, 3)\n"
        "    s = in -> maxpool(4)\n"
        "    out = s -> reuse(t)\n"
        "    _a = a\n"
        "}\n"
        "y = x -> b\n"
    )
    (error,) = [d for d in convdsl.loads(text, "net.cdsl").analyze().diagnostics if d.is_error]
    assert (error.code.code, error.span.line, error.notes) == ("E106", 5, ("in layer `b1.reuse1`",))


def test_a_group_reused_reads_its_new_input_where_the_original_read_its_own_under_any_name():
    # g adds its input to its convolution. Its input is `u`, reached through the alias t in the second text;
    # either way the copy adds z, its own input, not u
    direct = NET + "input z: 3 x 8 x 8\nu = x -> relu\na = u -> g: (conv(3, 1) -> add(u))\nb = z -> reuse(g)\n"
    aliased = direct.replace("u = x -> relu\na = u", "t = u\nu = x -> relu\na = t")
    for text in (direct, aliased):
        network = _network(text + "output o = add(a, b)\n")
        assert _inputs(network, "reuse1.0") == [(0, "z")]
        assert _inputs(network, "reuse1.1") == [(0, "reuse1.0"), (1, "z")]


# blocks ------------------------------------------------------------------------------------------------


def test_the_copies_of_a_call_in_a_block_are_bound_once_per_set_of_values(monkeypatch):
    written = []
    bind = NetworkBuilder.bind

    def counting(self, kind, name, *args, **kwargs):
        written.append(name)
        return bind(self, kind, name, *args, **kwargs)

    monkeypatch.setattr(NetworkBuilder, "bind", counting)
    # four instances: conv(c, 1) with c = 4, 4, 8, 4 (two sets of values), relu with none (one set)
    _network(NET + "block b(c) = conv(c, 1) -> relu\ny = x -> b(4) -> b(4) -> b(8) -> b(4)\n")
    assert sorted(written) == ["conv", "conv", "relu"]


def test_a_block_reading_its_input_shape_records_the_size_read():
    network = _network(NET + "block b = conv(in.shape[1], 1) -> relu\ny = x -> conv(5, 1) -> b\n")
    # in.shape[1] is the channels of conv1's output, 5 (dim 0 without the batch), read when x and conv1 existed
    assert network.shape_reads == (ShapeRead("conv1", 0, 0, 5, 2),)
    assert network.layer_graph.nodes["b1.0"].args["out_channels"] == 5


# export ------------------------------------------------------------------------------------------------


def test_a_chain_that_starts_with_a_labelled_merge_exports_and_runs():
    require("torch")
    from convdsl.export.verify import verify

    analysis = convdsl.loads("input a: 3 x 8 x 8\ninput b: 3 x 8 x 8\noutput y = m: add(a, b) -> relu\n").analyze()
    result = verify(analysis)
    assert result.ok, result.report()
    assert "y 1 x 3 x 8 x 8" in result.report()


# the Lowering itself -----------------------------------------------------------------------------------


def test_a_lowering_made_without_a_builder_makes_its_own():
    source = Source("net.cdsl", NET + "y = x -> conv(4, 3) -> relu\n")
    program, errors = parse(source)
    assert errors == []
    lowering = Lowering({source.path: source}, Limits(), read_included)
    lowering.lower(program)
    assert list(lowering.graph.nodes) == ["x", "conv1", "relu1", "output:y"]
    assert lowering.diagnostics == []
