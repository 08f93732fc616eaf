"""When the server's memory is reclaimed: when the editor is quiet, never between an edit and its diagnostics.

Two costs are kept off that path: the cyclic garbage collector, and the freeing of a replaced version.

An analysis of ResNet-152 makes some 50,000 objects that live as long as its version is current. With
automatic collection they are walked again and again: by the young collection that follows the analysis
(on the way to the diagnostics) and, every few edits, by a full one over several versions (over 100 ms, the
p95 of the edit that meets it). The server instead moves each new version's objects out of the collector's
reach as soon as they are made (`settle`, gc.freeze: constant time), and they are freed by reference counting
when the version is replaced: Snapshot.release breaks the one cycle that held a version together. The few
small cycles left (about ten objects an edit) are collected in full when the editor has been quiet for
IDLE_SECONDS, or every MAX_SETTLED analyses during a burst of typing that never pauses.

Measured in-process on ResNet-152 (`benchmarks/lsp_latency.py` does it over stdio): 150 analyses with
automatic collection p95 137 ms, settled p95 28-45 ms, on the same loaded machine; 1,499 objects left for
the full collection afterwards.

Freeing a replaced version of ResNet-152 by reference counting takes 1 to 2 ms, in one piece (a cascade of
deallocations holds the interpreter lock throughout). Done right after its successor's diagnostics are
sent, it delayed the reading of the next edit by as much. A replaced version is therefore `retire`d: freed
once the editor has paused for FREE_SECONDS (typing leaves 50 ms or more between keystrokes). The oldest is
freed at once when more than MAX_RETIRED versions wait, or more than RETIRED_LAYERS layers (a burst with no
pause at all, or a network large enough that its analysis dwarfs the freeing): memory stays bounded.
"""

from __future__ import annotations

import gc
from collections import deque

IDLE_SECONDS = 2.0
MAX_SETTLED = 500
FREE_SECONDS = 0.02
MAX_RETIRED = 4
RETIRED_LAYERS = 20_000


class Collector:
    def __init__(self, busy=lambda: False):
        self.busy = busy  # whether an analysis is under way: the idle collection then waits for the next pause
        self.active = False  # set by start() (a server run by main()); a test's server keeps automatic collection
        self.settled = 0  # analyses settled since the last full collection
        self.timer = None
        self.retired: deque = deque()  # (version, its layers): replaced versions waiting to be freed
        self.retired_layers = 0
        self.free_timer = None

    def start(self) -> None:
        """What is alive now (modules, the grammar's tables, pygls) lives as long as the server: frozen too."""
        gc.collect()
        gc.freeze()
        self.active = True

    def settle(self, whole: bool = True) -> None:
        """Called in the analysis thread with the collector paused, right after a version is made. A quick
        analysis (incremental/) makes a few hundred objects: not counted towards MAX_SETTLED."""
        if self.active:
            gc.freeze()
            self.settled += whole

    def published(self, loop) -> None:
        """A version's diagnostics have been sent: collect in full once the editor is quiet."""
        if not self.active:
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None
        if self.settled >= MAX_SETTLED:
            self.collect()
        else:
            self.timer = loop.call_later(IDLE_SECONDS, self._idle)

    def retire(self, snapshot, loop) -> None:
        """A version has been replaced (its successor's diagnostics are sent): free it when the editor pauses.

        Its one cycle is broken now (Snapshot.release), so reference counting alone frees it, whether here or
        when a request still reading it ends."""
        snapshot.release()
        network = snapshot.network  # (not analysis.layers: reading them would run the receptive-field pass)
        layers = len(network.layer_graph) if network is not None else 0
        self.retired.append((snapshot, layers))
        self.retired_layers += layers
        del snapshot, network
        while len(self.retired) > MAX_RETIRED or (len(self.retired) > 1 and self.retired_layers > RETIRED_LAYERS):
            self.retired_layers -= self.retired.popleft()[1]  # freed here: no pause came, or it is too large
        if self.free_timer is not None:
            self.free_timer.cancel()
        self.free_timer = loop.call_later(FREE_SECONDS, self._free, loop)

    def _free(self, loop) -> None:
        self.free_timer = None
        if self.busy():  # an analysis is under way: freeing now would slow it down
            self.free_timer = loop.call_later(FREE_SECONDS, self._free, loop)
            return
        self.free_retired()

    def free_retired(self) -> None:
        while self.retired:
            self.retired_layers -= self.retired.popleft()[1]

    def _idle(self) -> None:
        self.timer = None
        if not self.busy():  # else the analysis under way publishes and arms the timer again
            self.collect()

    def collect(self) -> None:
        self.free_retired()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.settled = 0
