"""A repeat's copies made by stamping the copy before (lower/stamping.py) give exactly what lowering each
afresh gives.

The reference is lowering itself with stamping switched off: every copy expanded element by element. For every
.cdsl file in the repository and a set of repeats written to reach each path of stamping (nested repeats,
blocks in blocks, statements with tensors, forward references, labels, reuses, shape reads, indices, limits),
the two must agree on everything lowering leaves behind: the graph (every node's fields, every edge), the
diagnostics, the block instances (sites) and their tensors as an editor's position index reads them, what
each label made (for reuse), the counters, and then the analysis (shapes, counts, receptive fields).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from convdsl.evaluate import SHAPES
from convdsl.frontend import parse
from convdsl.infer import analyze
from convdsl.loading import decode, lower_program, read_included
from convdsl.lower.state import _Deferred
from convdsl.lower.statements import Lowering
from convdsl.model import LayerNode, Limits, TensorRef

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    str(p.relative_to(ROOT))
    for p in ROOT.rglob("*.cdsl")
    if ".git" not in p.parts and "node_modules" not in p.parts and ".venv" not in p.parts
)

CASES = {
    "chain repeat at the top": "input x: 3 x 8 x 8\ny = x -> (conv(4, 3, p=1) -> relu) * 5\n",
    "labelled group": "input x: 3 x 8 x 8\ny = x -> stage: (conv(4, 3, p=1) -> bn -> relu) * 4\n",
    "blocks in a labelled group": """\
block unit(c) {
    a = in -> conv(c, 1) -> relu
    out = a -> conv(c, 3, p=1) -> add(a)
}
input x: 3 x 16 x 16
y = x -> conv(8, 3, p=1) -> s: (unit(8) * 4 -> unit(16) * 3)
""",
    "nested repeats": """\
block inner(c) = conv(c, 3, p=1) -> relu
block outer(c) = (inner(c) * 2 -> maxpool(1)) * 2
input x: 3 x 16 x 16
y = x -> (outer(4) * 3 -> (relu * 2) * 2) * 2 -> (inner(4) * 2) * 3
""",
    "chain block with unused tensor warning": """\
block b(c) {
    unused = in -> relu
    out = in -> conv(c, 1)
}
input x: 3 x 8 x 8
y = x -> b(4) * 4
""",
    "block reading its input's shape": """\
block widen(f) {
    out = in -> conv(in.shape[1] * f, 3, p=1) -> relu
}
input x: 3 x 16 x 16
y = x -> conv(4, 3, p=1) -> widen(2) * 3
""",
    "block constant": """\
block b(c) {
    const d = c * 2
    out = in -> conv(d, 1) -> conv(c, 1)
}
input x: 3 x 8 x 8
y = x -> b(4) * 3
""",
    "repeat reading an outer tensor": """\
input x: 4 x 8 x 8
y = x -> (conv(4, 3, p=1) -> add(x)) * 3
""",
    "repeat with an index": """\
input x: 3 x 8 x 8
y = x -> (conv(4 * (i + 1), 3, p=1)) * 3 as i
""",
    "reuse inside and after a repeat": """\
input x: 4 x 8 x 8
y = x -> t: conv(4, 3, p=1) -> (reuse(t) -> relu) * 3 -> r: (conv(4, 1) -> relu) * 2 -> reuse(r)
""",
    "tensor parameter": """\
block gate(other: tensor) = add(other) -> relu
input x: 4 x 8 x 8
y = x -> gate(x) * 3
""",
    "forward reference in a block": """\
block b(c) {
    out = h -> relu
    h = in -> conv(c, 1)
}
input x: 3 x 8 x 8
y = x -> b(4) * 3
""",
    "errors in the copies": """\
block b(c) = conv(c, 3) -> nosuch
input x: 3 x 8 x 8
y = x -> b(4) * 3 -> (conv(4, 2, s=2)) * 3
""",
    "a reuse of a group that made no layers": """\
input x: 4 x 8 x 8
y = x -> g: (relu if false) -> (conv(4, 1) -> reuse(g)) * 3
""",
    "a label inside the repeated element": "input x: 3 x 8 x 8\ny = x -> (c: conv(4, 1) -> relu) * 3\n",
    "a copy that fails division": "input x: 3 x 9 x 9\ny = x -> (conv(4, 2, s=2) -> relu) * 3\n",
    "several outputs per copy": """\
input x: 4 x 8 x 8
a, b = x -> (conv(4, 1) -> chunk(2)) * 1
y = a -> (relu) * 3
""",
    "attention blocks": """\
block enc(d) {
    a = in -> ln: layernorm -> attention(heads=2) -> add(in)
    out = a -> layernorm -> linear(d * 2) -> gelu -> linear(d) -> add(a)
}
input t: 16 x 8, layout=tokens
y = t -> enc(8) * 4 -> layernorm
""",
    "repeat of a repeat in a block, at the top level, twice": """\
block s(c) = (conv(c, 1) -> relu) * 2
input x: 3 x 8 x 8
y = x -> s(4) * 3
z = y -> s(4) * 2 -> (s(4) * 2) * 2
""",
}


def _key(lowering, value):
    """A tensor value as something comparable: its producer where known, else the name it is read by."""
    if value is None:
        return None
    if isinstance(value, _Deferred):
        producer = lowering._resolve(value)
        return ("deferred", value.name, value.span, (producer.node, producer.port) if producer else None)
    if isinstance(value, TensorRef):
        return (value.node, value.port, value.name)
    return ("other", repr(value))


def _reads_own_tensors(site, scope) -> bool | None:
    """Whether a block instance's reader of `in.shape` reads that instance's own tensors (None: it has none)."""
    reader = site.env.get(SHAPES)
    if reader is None:
        return None
    cells = [cell.cell_contents for cell in reader.__closure__ or ()]
    return any(cell is scope.tensors for cell in cells)


def _env(env: dict) -> dict:
    return {k: v for k, v in env.items() if k != SHAPES}


def _state(text: str, path: str, stamping: bool, monkeypatch, carried=None) -> dict:
    """Everything lowering `text` leaves behind, comparable; carried: the templates of the lowering of the text
    before (lower/carrying.py)."""
    monkeypatch.setattr(Lowering, "stamping", stamping)
    source = decode(path, text.encode())
    program, errors = parse(source)
    if program is None:
        return {"syntax": [d.message for d in errors]}
    # carrying as an editor's lowering does: a block call is then stamped from the lowering before too
    carrying = carried is not None
    network, lowering = lower_program(source, program, Limits(), read_included, carried=carried, carrying=carrying)
    graph = network.layer_graph
    nodes = {}
    for name, data in graph.nodes.items():
        fields = {key: getattr(data, key) for key in LayerNode.__slots__}  # all of them, not the mapping form's
        site = fields.pop("site", None)
        fields["site"] = (site.prefix, site.block) if site is not None else None
        nodes[name] = fields
    sites = [
        (
            site.prefix,
            site.block,
            _env(site.env),
            site.call_span,
            site.block_path,
            site.parent.prefix if site.parent is not None else None,
            {k: v for k, v in site.inputs.items()},
            site.reuses,
        )
        for site in lowering.sites
    ]
    scopes = [
        (
            site.prefix,
            {name: (_key(lowering, value), span) for name, (value, span) in scope.tensors.items()},
            sorted(scope.used),
            [(ref.name, ref.span) for ref in scope.refs],
            scope.warn_key,
            sorted(scope.locals_),
            _env(scope.env) == _env(site.env),
            _reads_own_tensors(site, scope),
        )
        for site, scope in lowering.tensor_scopes
    ]
    extents = {
        name: (
            e.start,
            e.end,
            _key(lowering, e.entry),
            [_key(lowering, o) for o in e.outputs] if e.outputs is not None else None,
            e.kind,
            e.depth,
            e.origin,
        )
        for name, e in lowering.extents.items()
    }
    analysis = analyze(network)
    return {
        "nodes": list(nodes.items()),
        "edges": list(graph._edges),
        "diagnostics": list(network.diagnostics),
        "sites": sites,
        "tensor scopes": scopes,
        "made": list(lowering.made),
        "node inputs": {n: [(p, _key(lowering, v)) for p, v in i] for n, i in lowering.node_inputs.items()},
        "extents": list(extents.items()),
        "counters": (lowering.steps, lowering.repeats, lowering.builder.layer_count, lowering.warned),
        "shape reads": list(lowering.shape_reads),
        # symbolic sizes compare by identity: their text stands for them
        "analysis": repr((analysis.diagnostics, analysis.shapes, list(analysis.layers.items()))),
    }


def _compare(text: str, path: str, monkeypatch, label: str = "") -> None:
    fresh = _state(text, path, False, monkeypatch)
    stamped = _state(text, path, True, monkeypatch)
    assert fresh.keys() == stamped.keys()
    for part in fresh:
        assert stamped[part] == fresh[part], f"{label or path}: {part} differs"


@pytest.mark.parametrize("name", FILES)
def test_every_file_in_the_repository_lowers_the_same_stamped(name, monkeypatch):
    path = str(ROOT / name)
    _compare(Path(path).read_text(), path, monkeypatch)


@pytest.mark.parametrize("case", sorted(CASES))
def test_repeats_lower_the_same_stamped(case, monkeypatch):
    _compare(CASES[case], "case.cdsl", monkeypatch)


def test_stamping_makes_most_of_resnet152s_copies(monkeypatch):
    """Not a vacuous comparison: ResNet-152's blocks after the first of each repeat are stamped (42 of its 50
    bottleneck instances: 2, 7, 35 and 2 copies after the first, minus nothing), and the result is the same."""
    path = ROOT / "benchmarks" / "resnet152.cdsl"
    source = decode(str(path), path.read_text().encode())
    program, _ = parse(source)
    _, lowering = lower_program(source, program, Limits(), read_included)
    assert lowering.stamped == 1 + 6 + 34 + 1
    monkeypatch.setattr(Lowering, "stamping", False)
    _, fresh = lower_program(source, program, Limits(), read_included)
    assert fresh.stamped == 0


def test_a_copy_that_would_pass_the_step_budget_is_lowered_and_reported_where_it_passes(monkeypatch):
    # each copy: one layer and 60 expansion steps (the group, then 29 groups each holding a condition that is
    # false, which make no layer but cost a step each, then the conv); the layer projection passes (600 of
    # 1,000 layers), the step budget (2 per layer allowed, and 10,000: 12,000) does not. With the repeat's own
    # step, 1 + 60 k > 12,000 first at k = 200: the 200th copy passes it part way, after 199 layers. Stamping
    # makes copies 2 to 199 and leaves the 200th to lowering, which reports the element where it passes.
    body = " -> ".join(["(relu if false)"] * 29 + ["conv(3, 1)"])
    text = f"input x: 3 x 8 x 8\ny = x -> ({body}) * 600\n"
    found = {}
    for stamping in (False, True):
        monkeypatch.setattr(Lowering, "stamping", stamping)
        source = decode("case.cdsl", text.encode())
        program, _ = parse(source)
        network, lowering = lower_program(source, program, Limits(max_layers=1000), read_included)
        (limit,) = [d for d in network.diagnostics if "steps" in d.message]
        found[stamping] = (limit.message, limit.span, lowering.steps, lowering.builder.layer_count)
        assert lowering.builder.layer_count == 199
        assert lowering.stamped == (198 if stamping else 0)
    assert found[True] == found[False]


@pytest.mark.parametrize("category", ["generated", "near_valid", "mutated"])
def test_fuzz_programs_lower_the_same_stamped(category, monkeypatch):
    """The fuzzer's programs (tests/fuzz): generated ones full of blocks, repeats, labels and reuses, and the
    same broken at random. 200 of each here; 6,500 were compared when stamping was written, 799 of them with
    stamped copies, none different."""
    from fuzz.cases import ids, make

    for case_id in ids(category, 0, 200):
        case = make(case_id)
        try:
            text = case.data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not a file lowering reads
        _compare(text, case.path, monkeypatch, case_id)


@pytest.mark.parametrize(
    "text, stamped",
    [
        # copies 2 and 3 of the block, whose `out` reads `h` before it is computed (a forward reference in the
        # instance's own scope): stamped
        (CASES["forward reference in a block"], 2),
        # the outer repeat's copies 2 and 3, each holding a repeat of its own (one copy: nothing to stamp in it)
        ("input x: 3 x 8 x 8\ny = x -> ((conv(4, 3, p=1) -> relu) * 1) * 3\n", 2),
        # a block reading `in.shape`: never stamped; nor a repeat reading a tensor around it, or with an index
        (CASES["block reading its input's shape"], 0),
        (CASES["repeat reading an outer tensor"], 0),
        (CASES["repeat with an index"], 0),
    ],
)
def test_copies_are_stamped_where_they_cannot_differ(text, stamped):
    source = decode("case.cdsl", text.encode())
    program, _ = parse(source)
    _, lowering = lower_program(source, program, Limits(), read_included)
    assert lowering.stamped == stamped
