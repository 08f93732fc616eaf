"""The language server drops stale work, deterministically: the analysis worker is held while edits arrive.

The end-to-end burst test (test_lsp.py) cannot say how many texts were analysed,
because that depends on how two processes are scheduled. Here the server runs in
this process, its analysis step is wrapped so that the first analysis waits on an
event until every edit has been delivered, and the test then counts what was
analysed and what was published.
"""

from __future__ import annotations

import asyncio
import threading

from conftest import require

require("pygls")

from convdsl.lsp import convert
from convdsl.lsp.server import ConvdslServer

EDITS = 25


def _text(i: int) -> str:
    # each version differs in a way its diagnostics show: the name of the unused tensor
    return f"input x: 3 x 8 x 8\ny = x -> conv(4, 3, p=1) -> relu\nunused{i} = x -> relu\noutput y\n"


class _Held(ConvdslServer):
    """The server with its analysis step counted, its first analysis held, and its publications recorded."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.started = threading.Event()
        self.analysed: list[str] = []
        self.published_versions: list[tuple[int | None, str]] = []

    def _analyse(self, path, text, version, open_texts, selection, state=None, whole=False, parsed=None):
        self.analysed.append(text)
        self.started.set()
        if len(self.analysed) == 1:
            assert self.release.wait(30), "the test never released the worker"
        return super()._analyse(path, text, version, open_texts, selection, state, whole, parsed)

    def publish(self, doc):  # what would be sent: the version and the unused tensor it names
        names = sorted(d.message for d in doc.snapshot.diagnostics)
        self.published_versions.append((doc.version, names[0] if names else ""))


def test_edits_that_arrive_while_an_analysis_runs_are_analysed_once_as_the_newest_text(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(_text(0))
    uri = convert.path_to_uri(str(path))
    server = _Held()

    async def scenario():
        loop = asyncio.get_running_loop()
        server.changed(uri, _text(0), 1)  # didOpen: the worker starts, and is held
        await loop.run_in_executor(None, server.started.wait, 30)
        for i in range(1, EDITS + 1):  # every edit arrives while the first analysis is held
            server.changed(uri, _text(i), i + 1)
        server.release.set()
        return await server.current(uri)

    try:
        snapshot = asyncio.run(scenario())
    finally:
        server.worker.shutdown(wait=True)
    # exactly two analyses: the held one (version 1) and one of the newest text; none of the 24 in between
    assert server.analysed == [_text(0), _text(EDITS)]
    assert snapshot is not None and snapshot.source.text == _text(EDITS)
    # the held analysis finished after its text had changed: it is dropped, never published
    assert server.published_versions == [(EDITS + 1, f"tensor `unused{EDITS}` is never used")]


def test_publications_never_go_back_while_edits_keep_arriving(tmp_path):
    """Edits delivered one by one, each while the previous analysis is still held: versions published only
    increase, each analysis is of the newest text at the time it starts, and the last is of the last edit."""
    path = tmp_path / "net.cdsl"
    path.write_text(_text(0))
    uri = convert.path_to_uri(str(path))
    server = _Held()
    gates = [threading.Event() for _ in range(4)]
    entered = [threading.Event() for _ in range(4)]

    def analyse(path_, text, version, open_texts, selection, state=None, whole=False, parsed=None):
        n = len(server.analysed)
        server.analysed.append(text)
        if n < len(gates):
            entered[n].set()
            assert gates[n].wait(30)
        return ConvdslServer._analyse(server, path_, text, version, open_texts, selection, state, whole, parsed)

    server._analyse = analyse

    async def scenario():
        loop = asyncio.get_running_loop()
        server.changed(uri, _text(1), 1)
        version = 1
        for round_ in range(len(gates)):
            await loop.run_in_executor(None, entered[round_].wait, 30)
            for _ in range(3):  # three edits while analysis number round_ is held
                version += 1
                server.changed(uri, _text(version), version)
            gates[round_].set()
        return await server.current(uri), version

    try:
        snapshot, last = asyncio.run(scenario())
    finally:
        server.worker.shutdown(wait=True)
    # analysis k+1 starts when analysis k ends, with the newest text of that moment: 1, 4, 7, 10, 13
    assert server.analysed == [_text(v) for v in (1, 4, 7, 10, 13)]
    assert last == 13 and snapshot.source.text == _text(13)
    # every held analysis was overtaken by edits, so only the last is published
    assert server.published_versions == [(13, "tensor `unused13` is never used")]
