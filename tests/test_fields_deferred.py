"""The receptive fields are inference's last pass, run when an analysis's layers are first read.

No diagnostic depends on them, so an editor's diagnostics are sent without waiting for them
(Analysis.layers, infer._Inference.fields). These tests pin what that must not change: the numbers, worked out
by hand here (test_receptive_field.py checks them against PyTorch's gradients), whatever reads them first,
and from two threads at once (the language server reads from its event loop and its worker).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import convdsl
from convdsl.model import LayerInfo

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "resnet152.cdsl"

# conv 3x3 s1: field 3, jump 1; pool 2x2 s2: 3 + (2-1)*1 = 4, jump 2; conv 3x3 s1: 4 + (3-1)*2 = 8, jump 2;
# relu keeps them; a global pool sees the whole input (16 x 16 padded: 8 + (8-1)*2 = 22)
TEXT = """\
input x: 3 x 16 x 16
y = x -> c1: conv(8, 3, p=1) -> p: maxpool(2) -> c2: conv(8, 3, p=1) -> r: relu -> g: global_avgpool
"""


def test_the_fields_wait_until_the_layers_are_read_and_are_then_right():
    analysis = convdsl.loads(TEXT).analyze()
    assert analysis._pending is not None  # not computed on the way to the diagnostics
    assert analysis.diagnostics == ()
    layers = analysis.layers
    assert analysis._pending is None
    assert layers["c1"].receptive_field == (3, 3) and layers["c1"].effective_stride == (1, 1)
    assert layers["p"].receptive_field == (4, 4) and layers["p"].effective_stride == (2, 2)
    assert layers["c2"].receptive_field == (8, 8) and layers["r"].receptive_field == (8, 8)
    assert layers["r"].effective_stride == (2, 2)
    assert layers["g"].whole_input == (True, True) and layers["c2"].whole_input == (False, False)
    assert layers["g"].receptive_field == (22, 22)


def test_a_layer_replaced_by_a_later_pass_gets_its_field():
    # reuse() replaces the reusing layer's LayerInfo after the main walk (reusing.py): the field must land on
    # the one the analysis holds, not on the one it replaced
    text = """\
input x: 8 x 16 x 16
y = x -> a: conv(8, 3, p=1) -> reuse(a) -> reuse(a)
"""
    analysis = convdsl.loads(text).analyze()
    assert analysis.diagnostics == ()
    layers = analysis.layers
    shared = [info for info in layers.values() if info.shares == "a"]
    assert len(shared) == 2
    assert sorted(info.receptive_field for info in shared) == [(5, 5), (7, 7)]
    assert layers["a"].receptive_field == (3, 3)


def test_two_threads_reading_at_once_run_the_pass_once_and_both_see_it_done():
    analysis = convdsl.loads(BENCH.read_text(), str(BENCH)).analyze()
    assert analysis.diagnostics == ()
    run = analysis._pending
    calls = []

    def slow():  # widen the window in which a second reader could see the pass half done
        calls.append(1)
        time.sleep(0.05)
        run()

    analysis._pending = slow
    seen = []

    def read():
        layers = analysis.layers
        seen.append((layers["conv1"].receptive_field, layers["fc"].whole_input))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    # the stem's 7x7 conv; after the global pool, every output sees the whole input
    assert seen == [((7, 7), (True, True))] * 2


def test_the_language_servers_path_to_diagnostics_leaves_the_pass_for_later():
    from conftest import require

    require("pygls")
    from convdsl.lsp.snapshot import build

    snapshot = build(str(BENCH), BENCH.read_text())
    assert snapshot.diagnostics == ()
    assert snapshot.analysis._pending is not None
    info = snapshot.analysis.layers["conv1"]
    assert isinstance(info, LayerInfo) and info.receptive_field == (7, 7) and info.effective_stride == (2, 2)
