"""Weight sharing: `reuse(LABEL)` calls a layer, labelled group or block instance again with the same weights.

The references are plain PyTorch models that call one module on several inputs
(a Siamese tower, a RetinaNet head shared over three pyramid levels, an embedding
shared by two token streams): their parameters from `parameters()` (which counts a
shared tensor once), their MACs from forward hooks (which fire at every call), worked
out per call from the shapes the hooks see. convdsl must give the same totals, and its
export must be the same module structure (state_dict keys) calling one module twice.
"""

from __future__ import annotations

import json

import pytest
from conftest import require

import convdsl
from convdsl import cli
from convdsl.sizes import analyze_sizes

torch = require("torch")
nn = torch.nn


def _analysis(text, name="net.cdsl"):
    analysis = convdsl.loads(text, name).analyze()
    assert not [d for d in analysis.diagnostics if d.is_error], [d.message for d in analysis.diagnostics]
    return analysis


def _hook_macs(model, *inputs) -> int:
    """Multiply-accumulates of every Conv2d and Linear call (torchvision's convention), by forward hooks."""
    total = 0

    def conv(module, args, output):
        nonlocal total
        kh, kw = module.kernel_size
        total += output[0].numel() * (module.in_channels // module.groups) * kh * kw

    def linear(module, args, output):
        nonlocal total
        total += output[0].numel() * module.in_features

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(conv)
        elif isinstance(module, nn.Linear):
            module.register_forward_hook(linear)
    with torch.no_grad():
        model.eval()(*inputs)
    return total


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _exported_keys(analysis) -> set:
    from convdsl.export import export_pytorch
    from convdsl.export.verify import _build

    exported = export_pytorch(analysis)
    assert exported.source is not None, [d.message for d in exported.diagnostics]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        model = _build(exported, Path(folder))
    return set(model.state_dict()), exported.source


def _verify(analysis):
    from convdsl.export.verify import verify

    result = verify(analysis)
    assert result.ok, result.report()
    return result


# Siamese: one tower on two images ----------------------------------------------------------------------------

SIAMESE = """\
input left: 3 x 64 x 64
input right: 3 x 64 x 64
a = left -> tower: (conv(32, 3, p=1, bias=false) -> bn -> relu -> conv(64, 3, s=2, p=1) -> relu)
b = right -> reuse(tower)
output score = concat(a, b) -> global_avgpool -> flatten -> fc: linear(10)
"""


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.tower = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, left, right):
        a, b = self.tower(left), self.tower(right)
        return self.fc(torch.cat([a, b], dim=1).mean((2, 3)))


def test_siamese_counts_the_tower_once_and_its_macs_twice():
    analysis = _analysis(SIAMESE)
    reference = Siamese()
    inputs = (torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64))
    assert analysis.params == _params(reference)
    assert analysis.macs == _hook_macs(reference, *inputs)
    assert analysis.buffers == sum(b.numel() for b in reference.buffers())
    # the copy's layers: MACs of their own, parameters of the tower's
    assert analysis.layers["reuse1.0"].params == 0 and analysis.layers["reuse1.0"].shares == "tower.0"
    assert analysis.layers["reuse1.0"].macs == analysis.layers["tower.0"].macs == 64 * 64 * 32 * 27


def test_siamese_exports_one_module_called_twice_with_torchs_keys():
    analysis = _analysis(SIAMESE)
    keys, source = _exported_keys(analysis)
    assert keys == set(Siamese().state_dict())
    assert "self.tower(left)" in source and "self.tower(right)" in source
    assert "reuse1" not in source
    result = _verify(analysis)
    assert result.params == _params(Siamese())


def test_siamese_summary_table_and_json_say_what_is_shared(tmp_path, capsys):
    path = tmp_path / "siamese.cdsl"
    path.write_text(SIAMESE)
    assert cli.main(["summary", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert layers["reuse1.0"]["shares"] == "tower.0" and layers["reuse1.0"]["params"] == 0
    assert layers["reuse1.3"]["macs"] == layers["tower.3"]["macs"] > 0
    assert "shares" not in layers["tower.0"]
    assert data["params"] == _params(Siamese())
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]
    assert cli.main(["summary", str(path)]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("reuse1.0 "))
    assert "shared with tower.0" in row
    relu = next(line for line in table.splitlines() if line.startswith("reuse1.2 "))
    assert "shared" not in relu  # nothing to share


# RetinaNet: one head over three pyramid levels --------------------------------------------------------------

RETINA = """\
input p3: 64 x 32 x 32
input p4: 64 x 16 x 16
input p5: 64 x 8 x 8
block head(c, k) = conv(c, 3, p=1) -> relu -> conv(c, 3, p=1) -> relu -> conv(k, 3, p=1)
c3 = p3 -> cls: head(64, 9 * 20)
c4 = p4 -> reuse(cls)
c5 = p5 -> reuse(cls)
output c3, c4, c5
"""


def _retina_head():
    return nn.Sequential(
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 180, 3, padding=1),
    )


class Retina(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls = _retina_head()

    def forward(self, p3, p4, p5):
        return self.cls(p3), self.cls(p4), self.cls(p5)


def test_retinanet_head_shared_over_three_levels():
    analysis = _analysis(RETINA)
    reference = Retina()
    inputs = tuple(torch.randn(1, 64, s, s) for s in (32, 16, 8))
    assert analysis.params == _params(reference)
    assert analysis.macs == _hook_macs(reference, *inputs)
    # shapes inferred per level
    assert analysis.output_shapes() == {"c3": (180, 32, 32), "c4": (180, 16, 16), "c5": (180, 8, 8)}
    keys, source = _exported_keys(analysis)
    assert keys == set(reference.state_dict())
    assert source.count("self.cls(") == 3
    _verify(analysis)


def test_retinanet_receptive_field_and_sizes_per_use():
    analysis = _analysis(RETINA)
    # three 3x3 convolutions at stride 1: 7 x 7 on each level's own input
    assert analysis.layers["reuse1.4"].receptive_field == (7, 7)
    text = RETINA.replace("p4: 64 x 16 x 16", "p4: 64 x 16 x 16").replace(
        "c4 = p4 -> reuse(cls)", "c4 = p4 -> maxpool(2) -> reuse(cls)"
    )
    analysis = _analysis(text)
    # the maxpool doubles the jump: 2 + 2·2 + 2·2 + 2·2
    assert analysis.layers["reuse1.4"].receptive_field == (14, 14)


def test_sizes_sweeps_through_a_reuse():
    text = """\
input x: 3 x 32 x 32
a = x -> c: conv(3, 3, p=1)
b = a -> avgpool(2) -> reuse(c) -> avgpool(2)
"""
    report = analyze_sizes(convdsl.loads(text, "net.cdsl"), limit=64)
    height = next(a for a in report.axes if a.variable.name == "H")
    assert height.valid == list(range(4, 65, 4))


# A shared embedding ---------------------------------------------------------------------------------------------

EMBEDDING = """\
input query: 12, dtype=long
input doc: 40, dtype=long
q = query -> emb: embedding(1000, 64) -> enc: linear(64)
d = doc -> reuse(emb) -> reuse(enc)
output q, d
"""


class SharedEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 64)
        self.enc = nn.Linear(64, 64)

    def forward(self, query, doc):
        return self.enc(self.emb(query)), self.enc(self.emb(doc))


def test_shared_embedding_and_encoder():
    analysis = _analysis(EMBEDDING)
    reference = SharedEmbedding()
    inputs = (torch.randint(0, 1000, (1, 12)), torch.randint(0, 1000, (1, 40)))
    assert analysis.params == _params(reference) == 1000 * 64 + 64 * 64 + 64
    assert analysis.macs == _hook_macs(reference, *inputs) == (12 + 40) * 64 * 64
    keys, _ = _exported_keys(analysis)
    assert keys == set(reference.state_dict())
    _verify(analysis)


# Reuse in repeats, of a reuse, in blocks -----------------------------------------------------------------------


def test_reuse_in_a_repeat_and_reuse_of_a_reuse_share_with_the_owner():
    text = """\
input x: 8 x 16 x 16
a = x -> c: conv(8, 3, p=1)
b = a -> (reuse(c) -> relu) * 3
d = b -> r: reuse(c)
e = d -> reuse(r)
"""
    analysis = _analysis(text)
    assert analysis.params == 8 * 8 * 9 + 8
    one = 16 * 16 * 8 * 8 * 9
    assert analysis.macs == 6 * one
    assert analysis.layers["reuse4"].shares == "c"  # reuse(r): r is c's
    _verify(analysis)


def test_a_reused_group_made_of_repeats_and_blocks():
    text = """\
input x: 3 x 16 x 16
input y: 3 x 16 x 16
block unit(c) {
    r = in -> conv(c, 3, p=1) -> relu
    out = r -> add(in) if c == in.shape[1]
}
a = x -> enc: (unit(8) -> unit(8) * 2)
b = y -> reuse(enc)
"""
    analysis = _analysis(text)
    owners = {n: info.shares for n, info in analysis.layers.items() if info.shares}
    assert owners == {
        "reuse1.0.conv1": "enc.0.conv1",
        "reuse1.0.relu1": "enc.0.relu1",
        "reuse1.1.conv1": "enc.1.conv1",
        "reuse1.1.relu1": "enc.1.relu1",
        "reuse1.1.add1": "enc.1.add1",
        "reuse1.2.conv1": "enc.2.conv1",
        "reuse1.2.relu1": "enc.2.relu1",
        "reuse1.2.add1": "enc.2.add1",
    }
    assert analysis.params == 3 * (8 * 8 * 9 + 8) - (8 * 8 * 9 - 3 * 8 * 9)
    _verify(analysis)


def test_reuse_inside_a_block_of_a_label_outside_checks_but_does_not_export():
    text = """\
input x: 8 x 16 x 16
a = x -> c: conv(8, 3, p=1)
block again = reuse(c) -> relu
b = a -> again
"""
    analysis = _analysis(text)
    assert analysis.params == 8 * 8 * 9 + 8
    assert analysis.layers["again1.0"].shares == "c"
    from convdsl.export import export_pytorch

    exported = export_pytorch(analysis)
    assert exported.source is None
    assert [d.code.code for d in exported.diagnostics] == ["E301"]
    assert "not made in the same block" in exported.diagnostics[0].message


def test_reuse_within_a_block_instance_exports_per_instance():
    text = """\
input x: 8 x 16 x 16
block twice(c) {
    a = in -> conv1: conv(c, 3, p=1) -> relu
    out = a -> reuse(conv1)
}
y = x -> p: twice(8) -> q: twice(8)
"""
    analysis = _analysis(text)
    assert analysis.params == 2 * (8 * 8 * 9 + 8)
    _, source = _exported_keys(analysis)
    assert source.count("self.conv1(") == 2
    _verify(analysis)


def test_a_reused_layer_on_another_scale():
    text = """\
input x: 3 x 32 x 32
a = x -> stem: conv(8, 3, p=1) -> relu
b = x -> avgpool(2) -> reuse(stem)
"""
    analysis = _analysis(text)
    assert analysis.layers["reuse1"].shares == "stem"
    assert analysis.layers["reuse1"].output_shapes == ((8, 16, 16),)
    assert analysis.params == 8 * 27 + 8
    assert analysis.macs == (32 * 32 + 16 * 16) * 8 * 27
    _, source = _exported_keys(analysis)
    assert "self.stem(" in source
    _verify(analysis)


def test_a_layer_norm_over_every_axis_reused_at_another_size_is_e116():
    text = """\
input x: 4 x 8 x 8
a = x -> n: layernorm  # convdsl: ignore[W106]
b = x -> maxpool(2) -> reuse(n)
"""
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    (error,) = [d for d in analysis.diagnostics if d.is_error]
    assert error.code.code == "E116" and (error.span.line, error.span.column) == (3, 24)
    assert "4 x 4 x 4" in error.message and "4 x 8 x 8" in error.message
    assert "nn.LayerNorm((4, 4, 4))" in " ".join(error.notes)


# Budgets and hostile input ----------------------------------------------------------------------------------------


def test_ten_thousand_reuses_stay_within_the_budget():
    lines = ["input x: 4 x 8 x 8", "y0 = x -> c: conv(4, 3, p=1)"]
    lines += [f"y{i} = y{i - 1} -> reuse(c)" for i in range(1, 10_001)]
    analysis = _analysis("\n".join(lines) + "\n")  # its time: benchmarks (no clock in a unit test)
    assert analysis.params == 4 * 4 * 9 + 4
    assert analysis.macs == 10_001 * 64 * 4 * 36


def test_reuses_that_multiply_past_the_layer_limit_are_e019():
    text = """\
input x: 4 x 8 x 8
a = x -> big: (conv(4, 3, p=1) -> relu) * 50
b = a -> (reuse(big) * 1000) * 1000
"""
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert any(d.code.code == "E019" for d in analysis.diagnostics)


def test_labels_that_are_python_names_reach_every_output_as_text():
    # labels are identifiers, but nn.Module's own attributes and Python's names among them: the export must
    # call the module it made under its renamed attribute, and figures and JSON must show the label as text
    text = """\
input x: 3 x 16 x 16
a = x -> forward: conv(8, 3, p=1)
b = x -> reuse(forward)
c = a -> training: (conv(8, 1) -> relu)
d = b -> reuse(training)
e = c -> class: conv(8, 1)
f = d -> reuse(class)
output d, e, f
"""
    analysis = _analysis(text)
    assert analysis.layers["reuse1"].shares == "forward"
    _, source = _exported_keys(analysis)
    assert "self.forward_(x)" in source and "self.training_(b)" in source
    assert 'getattr(self, "class")(d)' in source
    _verify(analysis)
    from convdsl.render import render

    dot = render(analysis, "dot").decode()
    assert "reuse(training)" in dot and "shared with forward" in dot


def test_fmt_keeps_reuse_as_written():
    from convdsl.fmt import format_text

    text = "input x: 3 x 8 x 8\na = x -> t: conv(3, 3, p=1)\nb = a->reuse( t )\n"
    assert format_text(text) == "input x: 3 x 8 x 8\na = x -> t: conv(3, 3, p=1)\nb = a -> reuse(t)\n"
    assert format_text(format_text(SIAMESE)) == format_text(SIAMESE)


@pytest.mark.parametrize("seed", range(20))
def test_random_chains_with_reuse_match_torch(seed):
    """A chain of convolutions of one width where each step is a new layer or a reuse of an earlier one."""
    import random

    rng = random.Random(seed)
    width = rng.choice((4, 8))
    lines = [f"input x: {width} x 12 x 12", "y = x"]
    modules, calls = [], []
    for step in range(rng.randint(1, 8)):
        if modules and rng.random() < 0.5:
            index = rng.randrange(len(modules))
            lines.append(f"    -> reuse(l{index})")
            calls.append(index)
        else:
            k = rng.choice((1, 3))
            lines.append(f"    -> l{len(modules)}: conv({width}, {k}, p={k // 2})")
            modules.append(nn.Conv2d(width, width, k, padding=k // 2))
            calls.append(len(modules) - 1)
    analysis = _analysis("\n".join(lines) + "\n")

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(modules)

        def forward(self, x):
            for index in calls:
                x = self.layers[index](x)
            return x

    reference = Chain()
    assert analysis.params == _params(reference)
    assert analysis.macs == _hook_macs(reference, torch.randn(1, width, 12, 12))


def test_editor_goes_from_a_reuse_to_its_label_and_hovers_it():
    from convdsl.lsp import hover, navigate, snapshot

    snap = snapshot.build("siamese.cdsl", SIAMESE)
    line = SIAMESE.splitlines().index("b = right -> reuse(tower)") + 1
    column = SIAMESE.splitlines()[line - 1].index("tower") + 2
    (target,) = navigate.definition(snap, line, column)
    assert (target.line, target.column) == (3, 13)  # `tower:` on the line that labels it
    assert len(navigate.references(snap, line, column)) == 2
    text, _ = hover.hover(snap, line, column)
    assert "`reuse1` calls `tower` again" in text and "params shared with `tower`" in text


def test_a_block_cannot_be_named_reuse():
    analysis = convdsl.loads("block reuse = relu\ninput x: 3 x 8 x 8\ny = x -> relu\n", "net.cdsl").analyze()
    assert [d.code.code for d in analysis.diagnostics if d.is_error] == ["E004"]


def test_reused_attention_and_lstm_at_other_lengths():
    text = """\
input x: 16 x 32, layout=tokens
input y: 20 x 32, layout=tokens
a = x -> att: attention(4) -> ln: layernorm(32)
b = y -> reuse(att) -> reuse(ln)
seq, h, c = x -> r: lstm(16)
s2, h2, c2 = y -> reuse(r)
output a, b, seq, h, c, s2, h2, c2
"""
    analysis = _analysis(text)
    mha, lstm = nn.MultiheadAttention(32, 4, batch_first=True), nn.LSTM(32, 16, batch_first=True)
    assert analysis.params == _params(mha) + _params(nn.LayerNorm(32)) + _params(lstm)
    # self-attention at L = 20: its projections 4·L·D², then q·kᵀ and attn·v, L²·D each
    assert analysis.layers["reuse1"].macs == 4 * 20 * 32 * 32 + 2 * 20 * 20 * 32
    assert analysis.layers["reuse3"].macs == 20 * 4 * 16 * (32 + 16)
    _verify(analysis)


def test_a_reused_layer_that_reads_another_tensor_is_not_exported():
    text = """\
input x: 16 x 32, layout=tokens
input y: 20 x 32, layout=tokens
input m: 10 x 32, layout=tokens
c = x -> cross: attention(4, memory=m)
d = y -> reuse(cross)
output c, d
"""
    analysis = _analysis(text)
    assert analysis.params == _params(nn.MultiheadAttention(32, 4, batch_first=True))
    from convdsl.export import export_pytorch

    (problem,) = export_pytorch(analysis).diagnostics
    assert problem.code.code == "E301" and problem.span.line == 5 and "memory" in problem.message


def test_reuse_with_symbolic_sizes():
    text = """\
input left: 3 x H x W
input right: 3 x H x W
input t: L x 32, layout=tokens
input u: M x 32, layout=tokens
a = left -> tower: (conv(8, 3, p=1) -> relu -> maxpool(2))
b = right -> reuse(tower) -> maxpool(2)
p = t -> proj: linear(16) -> ln: layernorm(16)
q = u -> reuse(proj) -> reuse(ln)
output a, b, p, q
"""
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not [d for d in analysis.diagnostics if d.is_error], [d.message for d in analysis.diagnostics]
    assert analysis.params == 8 * 27 + 8 + 32 * 16 + 16 + 2 * 16
    assert str(analysis.layers["reuse1.0"].macs) == "216*H*W"  # 8 x H x W outputs, 27 MACs each


def test_a_reused_block_with_a_param_in_a_labelled_repeat():
    text = """\
input a: 8 x 16, layout=tokens
input b: 8 x 16, layout=tokens
block enc(d) {
    param pos: 8 x d
    x = in -> add(pos) -> ln: layernorm(d)
    out = x -> attention(2)
}
y = a -> e: enc(16)
z = b -> reuse(e)
w = z -> h: (reuse(e) * 2)
output y, w
"""

    class Enc(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(1, 8, 16))
            self.ln = nn.LayerNorm(16)
            self.attention1 = nn.MultiheadAttention(16, 2, batch_first=True)

    analysis = _analysis(text)
    reference = Enc()
    assert analysis.params == _params(reference)
    # four uses of one attention at L = 8, D = 16: 4·L·D² + 2·L²·D each
    assert analysis.macs == 4 * (4 * 8 * 16 * 16 + 2 * 8 * 8 * 16)
    keys, source = _exported_keys(analysis)
    assert keys == {f"e.{key}" for key in reference.state_dict()}
    assert source.count("self.e(") == 4 and "self.h" not in source
    _verify(analysis)


@pytest.mark.parametrize("seed", range(60))
def test_generated_programs_with_reuses_never_crash(seed):
    """The fuzz generator's programs, each with reuses of its labels on its inputs and tensors appended (most
    on inputs of other shapes: E116 and friends), through every consumer without an exception."""
    import random
    import re

    from fuzz.generate import generate

    from convdsl.export import export_pytorch
    from convdsl.fmt import FormatError, format_text
    from convdsl.render import render
    from convdsl.summary import to_json

    # the 60 cases are the first generated programs, from this seed on in steps of 60, that have a label to
    # reuse and a tensor to reuse it on (about one in four has no label)
    for tried in range(seed, seed + 60 * 40, 60):
        text = generate(tried, hostile=tried % 3 == 0)
        labels = re.findall(r"(?<![\w.])([A-Za-z_]\w*):\s*(?:\(|[a-z_]+\()", text)
        names = re.findall(r"^input\s+([A-Za-z_]\w*)", text, re.M) + re.findall(r"^\s*([A-Za-z_]\w*)\s*=", text, re.M)
        if labels and names:
            break
    assert labels and names, "no generated program with a label in 40 tries"
    rng = random.Random(seed)
    extra = [f"_r{i} = {rng.choice(names)} -> reuse({rng.choice(labels)})" for i in range(3)]
    extra.append(f"_rq = {names[0]} -> (reuse({labels[0]}) * 2)")
    full = text.rstrip("\n") + "\n" + "\n".join(extra) + "\n"
    analysis = convdsl.loads(full, "fuzz.cdsl").analyze()
    to_json(analysis)
    render(analysis, "dot")
    export_pytorch(analysis)
    try:
        assert format_text(format_text(full)) == format_text(full)
    except FormatError:
        pass
