"""The language server's versions are freed when replaced, without waiting for the cycle collector.

The server keeps the collector away from the objects of the current version (lsp/collector.py): a replaced
version must then be freed by reference counting alone, or every edit would leave a whole network behind until
the next full collection. These tests run with the collector off, so that only reference counting frees.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from conftest import require

require("pygls")

from convdsl.lsp.collector import Collector
from convdsl.lsp.snapshot import build
from convdsl.walk import gc_paused

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# blocks whose instances read their input's shape: each instance's reader of `in.shape` is a closure over the
# lowering, the cycle Snapshot.release breaks
TEXT = """\
block widen(f) {
    out = in -> conv(in.shape[1] * f, 3, p=1) -> relu
}
input x: 3 x 32 x 32
y = x -> conv(8, 3, p=1) -> widen(2) -> widen(2)
output y
"""


def _lowering_ref(snapshot):
    assert snapshot.lowering is not None
    return weakref.ref(snapshot.lowering)


@pytest.mark.parametrize("name", ["resnet50.cdsl", "inception_module.cdsl"])
def test_a_released_version_is_freed_by_reference_counting(name):
    path = str(EXAMPLES / name)
    text = Path(path).read_text()
    with gc_paused():
        snapshot = build(path, text)
        assert snapshot.analysis is not None and snapshot.analysis.layers
        lowering = _lowering_ref(snapshot)
        snapshot.release()
        del snapshot
        assert lowering() is None


def test_a_version_that_reads_input_shapes_is_freed_once_released():
    with gc_paused():
        snapshot = build("net.cdsl", TEXT)
        assert not snapshot.diagnostics, snapshot.diagnostics
        # conv(8) then two doublings: 32 channels at the end, so the readers did run
        assert max(info.output_shapes[0][1] for info in snapshot.analysis.layers.values() if info.kind == "conv") == 32
        lowering = _lowering_ref(snapshot)
        kept = build("net.cdsl", TEXT)  # the same text analysed again, not released: a cycle holds it
        kept_lowering = _lowering_ref(kept)
        snapshot.release()
        del snapshot, kept
        assert lowering() is None
        assert kept_lowering() is not None  # without release, only the collector frees a version
        gc.collect()
        assert kept_lowering() is None


class _Loop:
    """asyncio's call_later, run by hand."""

    def __init__(self):
        self.calls = []

    def call_later(self, delay, callback, *args):
        handle = _Handle(callback, args)
        self.calls.append((delay, handle))
        return handle

    def due(self):
        return [h for _, h in self.calls if not h.cancelled and not h.ran]


class _Handle:
    def __init__(self, callback, args):
        self.callback, self.args, self.cancelled, self.ran = callback, args, False, False

    def cancel(self):
        self.cancelled = True

    def run(self):
        self.ran = True
        self.callback(*self.args)


def test_the_collector_freezes_each_version_and_collects_in_full_when_idle():
    busy = [False]
    collector = Collector(busy=lambda: busy[0])
    loop = _Loop()
    try:
        collector.start()
        before = gc.get_freeze_count()
        made = [[i] for i in range(1000)]  # tracked containers
        collector.settle()
        assert gc.get_freeze_count() >= before + 1000
        collector.published(loop)
        collector.published(loop)  # a second publication restarts the quiet period
        assert [h.cancelled for _, h in loop.calls] == [True, False]
        busy[0] = True
        loop.calls[-1][1].callback()  # quiet, but an analysis is under way: no collection
        assert collector.settled == 1
        busy[0] = False
        collector.published(loop)
        loop.calls[-1][1].callback()
        assert collector.settled == 0
        del made
    finally:
        gc.unfreeze()
        collector.active = False


def _versions(count):
    with gc_paused():
        return [build("net.cdsl", TEXT, version=i) for i in range(count)]


def test_a_replaced_version_is_freed_when_the_editor_pauses_not_at_once():
    from convdsl.lsp import collector as module

    with gc_paused():
        busy = [False]
        collector = Collector(busy=lambda: busy[0])
        loop = _Loop()
        versions = _versions(2)
        refs = [_lowering_ref(v) for v in versions]
        collector.retire(versions.pop(0), loop)
        assert refs[0]() is not None  # kept until the pause: its freeing would delay the next edit
        collector.retire(versions.pop(0), loop)
        due = loop.due()
        assert len(due) == 1 and due[0].args == (loop,)  # the second retirement restarted the wait
        assert loop.calls[-1][0] == module.FREE_SECONDS
        busy[0] = True  # an analysis is under way: the freeing waits for it
        due[0].run()
        assert refs[0]() is not None and refs[1]() is not None
        busy[0] = False
        (again,) = loop.due()
        again.run()
        assert refs[0]() is None and refs[1]() is None  # reference counting alone: release broke the cycle
        assert collector.retired_layers == 0


def test_retired_versions_are_bounded_in_number_and_in_layers(monkeypatch):
    from convdsl.lsp import collector as module

    with gc_paused():
        collector = Collector()
        loop = _Loop()
        versions = _versions(module.MAX_RETIRED + 2)
        refs = [_lowering_ref(v) for v in versions]
        layers = len(versions[0].network.layer_graph)
        assert layers == 7  # the input, conv(8), two blocks of a conv and a relu, the output
        while versions:
            collector.retire(versions.pop(0), loop)
        # a burst with no pause: the oldest are freed at once, MAX_RETIRED wait
        assert [r() is None for r in refs] == [True, True] + [False] * module.MAX_RETIRED
        assert collector.retired_layers == module.MAX_RETIRED * layers
        monkeypatch.setattr(module, "RETIRED_LAYERS", 2 * layers)
        more = _versions(1)
        ref = _lowering_ref(more[0])
        collector.retire(more.pop(), loop)
        # more layers waiting than allowed: freed down to the limit, the newest kept whatever its size
        assert collector.retired_layers == 2 * layers and ref() is not None
        collector.free_retired()
        assert ref() is None and all(r() is None for r in refs)
