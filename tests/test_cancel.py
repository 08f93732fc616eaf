"""Abandoning a stale analysis (convdsl/cancel.py): lowering, inference, the size sweeps and the language
server's worker each stop at a checkpoint once the check says the answer is no longer wanted."""

from __future__ import annotations

import threading

import pytest

import convdsl
from conftest import require
from convdsl.cancel import Cancelled, cancellable, checkpoint
from convdsl.infer import CHECK_EVERY as INFER_EVERY
from convdsl.lower.statements import CHECK_EVERY as LOWER_EVERY
from convdsl.sizes import analyze_sizes


def _chain(layers: int, input_: str = "8 x 16 x 16") -> str:
    body = "".join("\n    -> conv(8, 3, p=1)" for _ in range(layers))
    return f"input x: {input_}\ny = x{body}\n"


class Counter:
    """A check that says "stale" from its `after`-th call on, and counts its calls."""

    def __init__(self, after: int | None = None):
        self.after, self.calls = after, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.after is not None and self.calls >= self.after


def test_checkpoint_does_nothing_without_a_check_or_with_a_false_one():
    checkpoint()
    with cancellable(lambda: False):
        checkpoint()


def test_checkpoint_raises_once_the_check_is_true_and_only_inside_the_block():
    with pytest.raises(Cancelled), cancellable(lambda: True):
        checkpoint()
    checkpoint()  # the check is gone with the block


def test_a_check_belongs_to_the_thread_that_set_it():
    seen = []
    with cancellable(lambda: True):
        worker = threading.Thread(target=lambda: seen.append(_runs(checkpoint)))
        worker.start()
        worker.join()
    assert seen == [True]  # the other thread ran to its end


def _runs(function) -> bool:
    try:
        function()
    except Cancelled:
        return False
    return True


def test_lowering_stops_at_a_checkpoint_and_checks_about_once_per_thousand_steps():
    layers = 5 * LOWER_EVERY
    counter = Counter()
    with cancellable(counter):
        network = convdsl.loads(_chain(layers))
    assert len([n for n in network.layer_graph.nodes.values() if n.kind == "conv"]) == layers
    # each conv is at least one expansion step: at least one check per CHECK_EVERY layers
    assert counter.calls >= layers // LOWER_EVERY
    with pytest.raises(Cancelled), cancellable(Counter(after=2)):
        convdsl.loads(_chain(layers))


def test_inference_stops_at_a_checkpoint():
    network = convdsl.loads(_chain(3 * INFER_EVERY))
    counter = Counter()
    with cancellable(counter):
        analysis = network.analyze()
    assert len(analysis.layers) == 3 * INFER_EVERY
    assert counter.calls >= 3  # one before layer 0, 512, 1024 (the input node counts as one of them)
    with pytest.raises(Cancelled), cancellable(Counter(after=2)):
        network.analyze()


def test_a_size_sweep_stops_at_a_checkpoint():
    network = convdsl.loads(_chain(4, "8 x H x W"))
    assert analyze_sizes(network).axes  # a sweep runs, and finds its axes, without a check
    with pytest.raises(Cancelled), cancellable(lambda: True):
        analyze_sizes(network)


def test_the_servers_worker_abandons_the_analysis_of_a_text_that_changed():
    require("pygls")
    from convdsl.lsp.server import Document, make_server
    from convdsl.suppress import Selection

    server = make_server()
    text = _chain(2 * LOWER_EVERY)
    doc = Document("file:///tmp/chain.cdsl", "/tmp/chain.cdsl", "/tmp/chain.cdsl", 1, text)
    server.documents[doc.uri] = doc
    snapshot = server._analyse(doc, text, 1, {}, Selection())
    assert snapshot is not None and len(snapshot.analysis.layers) == 2 * LOWER_EVERY
    doc.text = text + "\n"  # the editor sent another version while this one was analysed
    assert server._analyse(doc, text, 1, {}, Selection()) is None
    doc.text = text
    del server.documents[doc.uri]  # closed meanwhile
    assert server._analyse(doc, text, 1, {}, Selection()) is None


def test_the_servers_worker_abandons_a_quick_analysis_of_a_text_that_changed():
    """From the state of the text before, a number edited: analysed quickly unless the editor sent another
    version meanwhile (re-inferring everything after the number is work enough to abandon)."""
    require("pygls")
    from convdsl.lsp.server import Document, make_server
    from convdsl.lsp.snapshot import Quick
    from convdsl.suppress import Selection

    server = make_server()
    text = _chain(2 * LOWER_EVERY)
    doc = Document("file:///tmp/chain.cdsl", "/tmp/chain.cdsl", "/tmp/chain.cdsl", 1, text)
    server.documents[doc.uri] = doc
    state = server._analyse(doc, text, 1, {}, Selection()).state
    edited = text.replace("conv(8", "conv(9", 1)
    doc.text = edited
    assert isinstance(server._analyse(doc, edited, 2, {}, Selection(), state), Quick)
    doc.text = edited + "\n"  # another version while this one was analysed
    assert server._analyse(doc, edited, 2, {}, Selection(), state) is None


def test_the_parse_of_a_long_file_stops_at_a_checkpoint_and_lark_is_not_tried_instead(monkeypatch):
    from convdsl import frontend, grammar
    from convdsl.fastparse import LINES_PER_CHECK
    from convdsl.source import Source

    source = Source("chain.cdsl", _chain(4 * LINES_PER_CHECK))
    counter = Counter()
    with cancellable(counter):
        program, errors = frontend.parse(source)
    assert program is not None and not errors
    assert counter.calls >= 4  # one per LINES_PER_CHECK lines
    monkeypatch.setattr(grammar, "parse_with_lark", lambda *a: pytest.fail("Lark parsed a cancelled text"))
    with pytest.raises(Cancelled), cancellable(Counter(after=2)):
        frontend.parse(source)


def test_an_editors_whole_analysis_of_resnet_152_checks_often():
    """About every half millisecond of its work: the parse, lowering's steps, the edges, inference."""
    from pathlib import Path

    from convdsl.lsp.snapshot import build

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "resnet152.cdsl"
    counter = Counter()
    with cancellable(counter):
        build(str(path), path.read_text(), keep_state=True)
    # 635 lowering steps / 64, 1,300 edges / 128, 517 layers / 64, and one after the parse and before wiring
    assert counter.calls >= 25, counter.calls
