"""The public builder (convdsl/build.py): the same Network lowering makes, and the same checks as `.cdsl`."""

from __future__ import annotations

import pytest
from conftest import ROOT, require

import convdsl
from convdsl import diagnostics as codes
from convdsl.build import Argument, NetworkBuilder
from convdsl.export import export_pytorch
from convdsl.model import TensorRef
from convdsl.source import Span
from convdsl.walk import topological_order

EXAMPLES = sorted(ROOT.glob("examples/*.cdsl"))


def rebuilt(network) -> convdsl.Network:
    """The network built again through the public builder from its own layer records: each input, each
    layer (kind as written, the arguments the file gave, with their spans, its tensors) and each output."""
    graph = network.layer_graph
    builder = NetworkBuilder(network.path, name=network.name, sources=network.sources, settings=network.settings)
    sources = {}  # node -> [(port, TensorRef)]
    for u, v, data in graph.edges(data=True):
        sources.setdefault(v, []).append((data["port"], TensorRef(u, data["src_port"])))
    made = {}
    for node in topological_order(graph):
        data = graph.nodes[node]
        if data.kind == "input":
            spec = network.inputs[node]
            made[node] = builder.input(
                node,
                spec.dims,
                span=spec.span,
                batch=spec.batch,
                dim_spans=spec.dim_spans,
                layout=spec.layout,
                dtype=spec.dtype,
            )
            continue
        tensors = [t for _, t in sorted(sources.get(node, []), key=lambda pair: pair[0])]
        if data.kind == "output":
            builder.output(data.label, tensors[0] if tensors else None, span=data.span)
            continue
        tensor_args = [name for name in data.explicit if _spec(data.written, name).type == "tensor"]
        flowing = tensors[: len(tensors) - len(tensor_args)]
        kwargs = {}
        for name in data.explicit:
            value = data.args[name]
            if name in tensor_args:
                value = TensorRef(
                    tensors[len(flowing) + tensor_args.index(name)].node,
                    tensors[len(flowing) + tensor_args.index(name)].port,
                    value,
                )
            kwargs[name] = Argument(value, data.arg_spans.get(name))
        outputs = builder.layer(
            data.written,
            flowing,
            name=node,
            label=data.label,
            span=data.span,
            scopes=data.scopes,
            site=data.site,
            block_path=data.block_path,
            **kwargs,
        )
        assert outputs is not None, builder.diagnostics
    return builder.network()


def _spec(written, name):
    from convdsl.layers import KINDS

    return next(spec for spec in KINDS[written].args if spec.name == name)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_zoo_network_built_through_the_builder_analyses_and_exports_alike(path):
    network = convdsl.load(path)
    again = rebuilt(network)
    assert list(again.inputs) == list(network.inputs) and again.outputs == network.outputs
    assert set(again.layer_graph.nodes) == set(network.layer_graph.nodes)
    for node, data in network.layer_graph.nodes.items():
        other = again.layer_graph.nodes[node]
        assert other.as_dict() == data.as_dict(), node
    assert sorted(again.layer_graph.edges(data=True), key=repr) == sorted(
        network.layer_graph.edges(data=True), key=repr
    )
    first, second = network.analyze(), again.analyze()
    assert second.layers == first.layers and second.shapes == first.shapes
    assert (second.params, second.macs) == (first.params, first.macs)
    assert second.diagnostics == first.diagnostics
    assert export_pytorch(second).source == export_pytorch(first).source


def test_a_network_by_hand_needs_no_default_argument():
    b = NetworkBuilder("tiny.py")
    x = b.input("x", (3, 32, 32))
    (y,) = b.layer("conv", [x], 16, 3, padding=1)
    (z,) = b.layer("relu", [y])
    b.output("z", z)
    net = b.network()
    assert not net.diagnostics and net.name == "tiny" and net.outputs == ("z",)
    conv = net.layer_graph.nodes["conv1"]
    # conv's defaults, as README's layer table gives them
    assert (conv.args["stride"], conv.args["dilation"], conv.args["groups"], conv.args["bias"]) == (1, 1, 1, True)
    assert conv.explicit == frozenset({"out_channels", "kernel", "padding"})
    analysis = net.analyze()
    assert analysis.params == 16 * 3 * 3 * 3 + 16  # weights and biases, by hand
    assert analysis.layers["relu1"].output_shape == (16, 32, 32)


def test_a_merge_takes_its_inputs_and_a_crop_its_tensor_argument():
    b = NetworkBuilder()
    x = b.input("x", (8, 20, 20))
    (a,) = b.layer("conv", [x], 8, 3, padding=1)
    (s,) = b.layer("add", [a, x])
    (c,) = b.layer("conv", [s], 4, 5)
    (d,) = b.layer("crop", [s], like=TensorRef(c.node, c.port, "small"))
    b.output("d", d)
    analysis = b.network().analyze()
    assert not analysis.diagnostics
    assert analysis.layers["add1"].output_shape == (8, 20, 20)
    assert analysis.layers["crop1"].output_shape == (8, 16, 16)  # 20 - 5 + 1, the conv's size
    assert analysis.network.layer_graph.nodes["crop1"].args["like"] == "small"


def _cdsl_diagnostics(call: str):
    network = convdsl.loads(f"input x: 3 x 32 x 32\ny = x -> {call}\n")
    return [(d.code, d.message, d.help) for d in network.diagnostics]


def _built_diagnostics(kind, *args, **kwargs):
    b = NetworkBuilder()
    x = b.input("x", (3, 32, 32))
    b.layer(kind, [x], *args, **kwargs)
    return [(d.code, d.message, d.help) for d in b.network().diagnostics]


@pytest.mark.parametrize(
    "call, kind, args, kwargs",
    [
        ("conv(16, 3, 1, 0, 1, 1, true, 3, 4)", "conv", (16, 3, 1, 0, 1, 1, True, 3, 4), {}),
        ("conv(16, 3, strid=2)", "conv", (16, 3), {"strid": 2}),
        ("conv(16)", "conv", (16,), {}),
        ("conv(16, 3, stride=1.5)", "conv", (16, 3), {"stride": 1.5}),
        ("conv(16, 3, padding='sme')", "conv", (16, 3), {"padding": "sme"}),
        ("upsample(scale=true)", "upsample", (), {"scale": True}),
        ("maxpool(2, stride=(1, 2, 3, 0.5))", "maxpool", (2,), {"stride": (1, 2, 3, 0.5)}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_arguments_are_checked_as_a_cdsl_call_is(call, kind, args, kwargs):
    expected = _cdsl_diagnostics(call)
    assert expected, call  # each of these is a mistake in .cdsl
    assert _built_diagnostics(kind, *args, **kwargs) == expected


def test_diagnostics_point_at_the_callers_own_file():
    yaml = Span("model.yaml", 7, 5, 7, 30)
    where = Span("model.yaml", 7, 20, 7, 29)
    b = NetworkBuilder("model.yaml")
    x = b.input("x", (3, 32, 32), span=Span("model.yaml", 1, 1, 1, 10))
    assert b.layer("conv", [x], 16, 3, stride=Argument("two", where), span=yaml) is None
    assert b.layer("convv", [x], 16, 3, span=yaml) is None
    found_kind, found_type = b.network().diagnostics  # in the file's order: column 5, then 20
    assert found_type.code is codes.ARGUMENT_TYPE and found_type.span == where
    assert found_kind.code is codes.UNKNOWN_LAYER and found_kind.span == yaml and "conv" in found_kind.help


def test_the_graph_is_checked_as_it_is_built():
    b = NetworkBuilder()
    x = b.input("x", (3, 8, 8))
    assert b.input("x", (3, 8, 8)) is None  # defined twice
    assert b.input("y", (3, 0)) is None  # a size below 1
    assert b.layer("relu", [x], name="r") is not None
    assert b.layer("relu", [x], name="r") is None  # a name taken
    assert b.layer("add", [x]) is None  # a merge of one tensor
    assert b.layer("relu", [x, x]) is None  # two tensors into a one-input layer
    assert b.layer("relu", [TensorRef("nowhere")]) is not None  # made, but its input is missing
    b.output("out", TensorRef("r"))
    b.output("out", TensorRef("r"))
    found = [d.code for d in b.network().diagnostics]
    assert found.count(codes.DUPLICATE_DEFINITION) == 3
    assert codes.INVALID_INPUT in found and codes.WRONG_INPUT_COUNT in found and codes.UNDEFINED_NAME in found


def test_the_limit_on_layers_holds_while_building():
    from convdsl.model import Limits

    b = NetworkBuilder(limits=Limits(max_layers=3))
    t = b.input("x", (1, 4))
    made = 0
    for _ in range(10):
        out = b.layer("relu", [t])
        if out is None:
            break
        (t,) = out
        made += 1
    assert made == 3
    assert [d.code for d in b.network().diagnostics] == [codes.LIMIT_EXCEEDED]


def test_a_network_without_text_still_gets_its_diagnostics_but_no_text_fix():
    b = NetworkBuilder()
    x = b.input("x", (3, 33, 33))
    (y,) = b.layer("maxpool", [x], 2)  # 33 / 2 leaves a row and a column: a size error, no file to edit
    b.output("y", y)
    analysis = b.network().analyze()
    (found,) = [d for d in analysis.diagnostics if d.is_error or d.code.code.startswith("W")]
    assert found.span is None and found.fixes == ()


def _built_for_export():
    b = NetworkBuilder("m.yaml")
    x = b.input("x", (3, 32, 32))
    (y,) = b.layer("conv", [x], 16, 3, padding=1, name="stem")
    (z,) = b.layer("relu", [y])
    (a, c) = b.layer("chunk", [z], 2)
    (s,) = b.layer("add", [a, c])
    (d,) = b.layer("crop", [s], like=TensorRef("x", 0, "x"))
    b.output("z", d)
    b.output("y", y)
    return b.network().analyze()


def test_a_network_built_without_definitions_exports_from_its_graph():
    exported = export_pytorch(_built_for_export())
    assert exported.source is not None and not exported.diagnostics
    assert "self.stem = nn.Conv2d(3, 16, 3, padding=1)" in exported.source
    assert "return crop1, stem" in exported.source


def test_the_graph_export_computes_what_convdsl_says():
    require("torch")
    from convdsl.export.verify import verify

    result = verify(_built_for_export())
    assert result.ok, result.report()


def test_a_dotted_layer_name_without_definitions_is_refused_not_flattened():
    b = NetworkBuilder("m.yaml")
    x = b.input("x", (3, 8, 8))
    (y,) = b.layer("relu", [x], name="stem.act")
    b.output("y", y)
    exported = export_pytorch(b.network().analyze())
    assert exported.source is None
    assert [d.code for d in exported.diagnostics] == [codes.EXPORT_UNSUPPORTED]


def test_an_input_that_is_not_a_tensor_is_a_mistake_in_the_calling_code():
    b = NetworkBuilder()
    b.input("x", (3, 8, 8))
    with pytest.raises(TypeError, match="TensorRef"):
        b.layer("relu", ["x"])
