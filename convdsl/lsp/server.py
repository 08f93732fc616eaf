"""The language server: pygls wiring, the open documents, and when they are analysed.

Each open document is analysed in one worker thread. An edit that changes a number a layer's call
writes, an input's size, spaces between tokens, a comment, a layer's call or kind, an element of a chain, or
a line break or indentation is analysed from the state of the version before (convdsl/incremental/: ResNet-152's diagnostics in about a millisecond of work), and its
diagnostics are published at once; so are a text's syntax errors, which are all its diagnostics. Then,
as after any other edit, the text is analysed whole (8 to 14 ms for ResNet-152 on the benchmark's
machine, as its speed drifts), for the other features, and published again only if that differs. An
edit that arrives while an analysis runs does not queue another per keystroke: the running one is
abandoned at its next checkpoint (within a millisecond or so: cancel.py), then only the newest text is
analysed; a result for a text that has changed since is never published. Requests (hover,
completion...) wait for the analysis of the text they were asked about; the event loop keeps reading
messages meanwhile (stdio.py). The cycle collector stays off the path from an edit to its diagnostics
(collector.py).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from .. import __version__
from ..cancel import Cancelled, cancellable
from ..fixes import as_json
from ..suppress import Selection, SelectionError, load_config
from ..walk import gc_paused
from . import complete, convert, hover, navigate
from .actions import code_actions
from .collector import Collector
from .snapshot import Parsed, Quick, Snapshot, _real, build, parse_text, quick, read_through, syntax_errors
from .stdio import serve

log = logging.getLogger(__name__)


@dataclass
class Document:
    uri: str
    path: str
    real: str = ""  # the path resolved (once: resolving it on the event loop while an analysis runs costs ms)
    version: int | None = None
    text: str = ""
    snapshot: Snapshot | None = None
    analysed: str | None = None  # the text the snapshot was made from
    running: bool = False
    dirty: bool = False  # a file it includes changed while it was analysed
    # what the next edit is analysed from (incremental.State): that of the newest text analysed, quickly or
    # whole, that has one (not a text with a syntax error); None after an included file changed
    state: object = None
    quick: tuple | None = None  # (text, diagnostics) published from a quick analysis, until the whole one's
    parsed: Parsed | None = None  # the newest text with syntax errors, parsed: its whole analysis starts from it
    waiters: list = field(default_factory=list)  # futures for a snapshot of the current version


@dataclass
class Options:
    inlay_hints: bool = True  # convdsl.inlayHints: the shape after each layer
    strict: bool = False  # convdsl.strict: as `check --strict`


class _Unread:
    """A message that could not be read, already answered: pygls passes it on, and skips it (not 2.0)."""

    jsonrpc = None


class _Protocol(LanguageServerProtocol):
    def structure_message(self, data):
        """pygls drops a request whose params it cannot read (a negative position, none at all) without an
        answer, and the editor waits for one forever: answer it with the error (InvalidParams). And the
        position encoding is UTF-16, whatever the client prefers."""
        try:
            message = super().structure_message(data)
        except JsonRpcException as err:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise  # a notification (no answer is due) or a response
            self._send_response(data["id"], error=err.to_response_error())
            return _Unread()
        if isinstance(message, types.InitializeRequest):
            # convdsl's positions are UTF-16 units, the LSP default every client supports: a client that
            # prefers UTF-8 (Neovim) must not be told UTF-8 (pygls would pick it) and then get UTF-16 columns
            general = message.params.capabilities.general
            if general is not None and general.position_encodings is not None:
                general.position_encodings = [types.PositionEncodingKind.Utf16]
        return message

    def handle_message(self, message):
        """After `shutdown` pygls ignores every message but `exit`: a request still gets its answer, the
        error LSP prescribes (InvalidRequest)."""
        if (
            self._shutdown
            and getattr(message, "id", None) is not None
            and getattr(message, "method", None) not in (None, types.EXIT)
        ):
            self._send_response(
                message.id, error=JsonRpcInvalidRequest("the server is shutting down").to_response_error()
            )
            return
        super().handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        """The server's handler applies the changes to its own text (convert.apply_change); pygls's copy,
        which takes U+2028 or a form feed for a line break, is neither kept nor read."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None


# the editor quiet this long after the first diagnostics: Lark's parser is loaded then (ConvdslServer._warm)
WARM_SECONDS = 0.3


class ConvdslServer(LanguageServer):
    def __init__(self):
        super().__init__(
            "convdsl",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=_Protocol,
        )
        self.documents: dict[str, Document] = {}
        self.options = Options()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convdsl-analysis")
        self.published: dict[str, dict[str, list]] = {}  # target uri -> analysed uri -> its diagnostics there
        self.selections: dict[str, Selection] = {}  # folder -> [tool.convdsl] of its pyproject.toml
        self.collector = Collector(busy=lambda: any(doc.running for doc in self.documents.values()))
        self.warmed = False  # Lark's parser loaded ahead of the first syntax error (_warm)

    # analysis ----------------------------------------------------------------
    def open_texts(self) -> dict[str, str]:
        return {doc.real: doc.text for doc in self.documents.values()}

    def changed(self, uri: str, text: str, version: int | None) -> None:
        doc = self.documents.get(uri)
        if doc is None:
            path = convert.uri_to_path(uri)
            doc = self.documents[uri] = Document(uri, path, _real(path))
        doc.text, doc.version = text, version
        # Files that include this one see its new text; so do files whose includes failed (it may be the one).
        # Found before this document's analysis starts: the event loop's work while the analysis thread runs
        # makes them take turns at the interpreter lock, which costs the analysis milliseconds.
        dependents = []
        for other in self.documents.values():
            snapshot = other.snapshot
            if other is doc or snapshot is None:
                continue
            if (
                snapshot.network is not None
                and any(_real(p) == doc.real for p in snapshot.network.sources if p != other.path)
            ) or any(d.code.code == "E016" for d in snapshot.diagnostics):
                dependents.append(other)
        self.schedule(doc)
        for other in dependents:
            self.schedule(other, force=True)

    def schedule(self, doc: Document, force: bool = False, whole: bool = False) -> None:
        """Analyse the document's newest text: from the state of the text before it if the edit changed one
        number (incremental.py: its diagnostics are published at once, then the whole analysis follows for
        the other features), else whole. whole: the whole analysis now."""
        if force:
            doc.analysed = None
            doc.dirty = doc.running
            doc.state = None
        if doc.running:
            return  # the running analysis starts the next one with the newest text when it ends
        doc.running = True
        loop = asyncio.get_running_loop()
        text, version = doc.text, doc.version
        selection = self.selection_for(doc.path)
        # from the state of the text before: quickly if this one differs by a number, spaces or a comment, else
        # whole in the same job (its unchanged layers not inferred again)
        parsed, doc.parsed = doc.parsed, None
        future = loop.run_in_executor(
            self.worker, self._analyse, doc, text, version, self.open_texts(), selection, doc.state, whole, parsed
        )
        future.add_done_callback(lambda f: self._done(doc, text, version, f))

    def _quick_done(self, doc: Document, text: str, version, result: Quick) -> None:
        if doc.dirty:  # an included file changed meanwhile
            doc.dirty = False
            self.schedule(doc)
            return
        doc.state = result.state or doc.state  # (a text with syntax errors has none: see _done)
        if text is not doc.text:  # edited meanwhile: the newest text, from this one's state
            self.schedule(doc)
            return
        doc.quick = (text, result.diagnostics)
        if result.network is not None:
            self._publish(doc, version, result.diagnostics, result.network.sources, result.network.layer_graph.nodes)
        else:  # syntax errors: in this file, and about no layer
            self._publish(doc, version, result.diagnostics, {doc.path: result.parsed.source}, {})
            doc.parsed = result.parsed
        self.schedule(doc, whole=True)  # the snapshot for hovers, definitions...: it publishes if it differs

    def _analyse(
        self, doc: Document, text, version, open_texts, selection, state=None, whole=False, parsed=None
    ) -> Snapshot | Quick | None:
        """The snapshot of `text`, or None when it went stale on the way (the document changed again, an
        included file changed, or it was closed): the work stops at the next checkpoint (cancel.py). Unless
        `whole`, first the diagnostics that can be published before it (a Quick): from `state` (of an earlier
        text), those of an edit that changed one number, spaces or a comment (incremental/); those of a text with
        syntax errors, which are the errors alone. parsed: `text` parsed already (Quick.parsed)."""

        def stale() -> bool:
            return doc.text is not text or doc.dirty or self.documents.get(doc.uri) is not doc

        # One pause of the collector for both: a quick analysis that declines may have parsed the text (kept
        # for the whole one), and with the collector on between them a large file's syntax tree would be
        # walked by it (half a second for 20,000 layers)
        with gc_paused():
            try:
                with cancellable(stale):
                    if state is not None and not whole:
                        try:
                            result = quick(state, doc.path, text, strict=self.options.strict, selection=selection)
                        except Cancelled:
                            raise  # (its parse of a large text is abandoned like the whole analysis)
                        except Exception as error:  # a bug: said in the log, and the text analysed whole
                            log.error("quick analysis of %s failed: %r", doc.uri, error, exc_info=error)
                            result = None
                        if result is not None:
                            self.collector.settle(whole=False)
                            return result
                    if not whole:
                        # A text being typed mostly has a syntax error. Its diagnostics are that error alone:
                        # they are published before what could be read of it is analysed (for hovers...).
                        parsed = parse_text(doc.path, text)
                        errors = syntax_errors(parsed, selection) if parsed is not None else None
                        if errors is not None:
                            self.collector.settle(whole=False)
                            return Quick(errors, None, None, parsed)
                    snapshot = build(
                        doc.path,
                        text,
                        version=version,
                        reader=read_through(open_texts),
                        strict=self.options.strict,
                        selection=selection,
                        keep_state=True,
                        previous=state,
                        parsed=parsed,
                    )
            except Cancelled:
                snapshot = None
            self.collector.settle()
        return snapshot

    def _done(self, doc: Document, text: str, version, future) -> None:
        doc.running = False
        error = future.exception()
        if self.documents.get(doc.uri) is not doc:
            if error is None and isinstance(future.result(), Snapshot):
                future.result().release()  # dropped: freed now, not at the next full collection
            _answer(doc.waiters, None)  # closed meanwhile: requests still waiting get an empty answer
            return
        if error is not None:
            log.error("analysis of %s failed: %r", doc.uri, error, exc_info=error)
            self.window_log_message(
                types.LogMessageParams(
                    types.MessageType.Error,
                    f"convdsl: internal error while analysing {doc.path}: "
                    f"{type(error).__name__}: {error} (a bug in convdsl; please report it)",
                )
            )
            _answer(doc.waiters, None)
            return
        if isinstance(future.result(), Quick):
            self._quick_done(doc, text, version, future.result())
            return
        if text != doc.text or doc.dirty or future.result() is None:
            # stale: the text (or an included file) changed meanwhile; None: abandoned for that reason
            if future.result() is not None:
                future.result().release()
            doc.dirty = False
            self.schedule(doc)
            return
        replaced = doc.snapshot
        doc.snapshot, doc.analysed = future.result(), text
        # a text being typed (a syntax error) keeps none: the state of the last text that had one serves the next
        # edits (each is analysed from the text the state was made from, whichever that is)
        doc.state = doc.snapshot.state or doc.state
        published, doc.quick = doc.quick, None
        if published is None or published[0] is not text:
            self.publish(doc)
        elif published[1] != doc.snapshot.diagnostics:  # a bug in incremental/: the whole analysis is right
            log.error("the quick analysis of %s gave other diagnostics than the whole one; published again", doc.uri)
            self.publish(doc)
        _answer(doc.waiters, doc.snapshot)
        # The version this one replaces is freed when the editor pauses (a whole network: 1 to 2 ms for
        # ResNet-152), not between the next edit and its diagnostics: collector.py.
        loop = asyncio.get_running_loop()
        if replaced is not None:
            self.collector.retire(replaced, loop)
            del replaced
        self.collector.published(loop)
        if not self.warmed:
            self.warmed = True
            loop.call_later(WARM_SECONDS, self._warm, loop)

    def _warm(self, loop) -> None:
        """Load Lark's parser while the editor is quiet. A valid text never needs it (fastparse), and the first
        text with a syntax error would wait for its loading: 70 ms and more, against 2 ms for its diagnostics."""
        if any(doc.running for doc in self.documents.values()):
            loop.call_later(WARM_SECONDS, self._warm, loop)
            return
        loop.run_in_executor(self.worker, _load_lark)

    async def current(self, uri: str) -> Snapshot | None:
        """The snapshot of a document's current text, waiting for its analysis if it is under way."""
        doc = self.documents.get(uri)
        if doc is None:
            return None  # not open (never, or closed since): an empty answer, not the file read from disk
        if doc.snapshot is not None and doc.analysed == doc.text and not doc.running:
            return doc.snapshot
        waiter = asyncio.get_running_loop().create_future()
        doc.waiters.append(waiter)
        if not doc.running:
            self.schedule(doc)
        return await waiter

    async def view(self, uri: str) -> Snapshot | None:
        """The snapshot to answer a request about a document from: its own, or, for a file of blocks and
        constants that makes no layers itself, that of an open file which includes it (seen from there, its
        blocks have instances with shapes)."""
        snapshot = await self.current(uri)
        if snapshot is None or (snapshot.analysis is not None and snapshot.analysis.layers):
            return snapshot
        real = _real(snapshot.path)
        best, most = snapshot, 0
        for other in list(self.documents.values()):
            if other.uri == uri or other.snapshot is None or other.snapshot.network is None:
                continue
            path = next((p for p in other.snapshot.network.sources if p != other.path and _real(p) == real), None)
            if path is None:
                continue
            including = await self.current(other.uri)
            if including is None or including.network is None or path not in including.network.sources:
                continue
            # the file that makes the most layers from this one's text (one that includes it and calls nothing
            # from it has nothing to show)
            made = sum(
                1
                for data in including.network.layer_graph.nodes.values()
                if data.get("span") is not None and data["span"].path == path
            )
            if made > most:
                best, most = replace(including, path=path, source=including.network.sources[path]), made
        return best

    def selection_for(self, path: str) -> Selection:
        import os

        folder = os.path.dirname(os.path.abspath(path))
        selection = self.selections.get(folder)
        if selection is None:
            try:
                selection = load_config(path)
            except SelectionError as err:
                self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"convdsl: {err}"))
                selection = Selection()
            self.selections[folder] = selection
        return selection

    def publish(self, doc: Document) -> None:
        snapshot = doc.snapshot
        sources = snapshot.network.sources if snapshot.network is not None else {doc.path: snapshot.source}
        nodes = snapshot.network.layer_graph.nodes if snapshot.network is not None else {}
        self._publish(doc, doc.version, snapshot.diagnostics, sources, nodes)

    def _publish(self, doc: Document, version, diagnostics, sources: dict, nodes: dict) -> None:
        """Publish diagnostics of the document (those in its included files, to them)."""
        by_uri: dict[str, list] = {doc.uri: []}

        def locate(name: str):
            data = nodes.get(name) if name in nodes else None
            return data.get("span") if data is not None else None

        for diag in diagnostics:
            path = diag.span.path if diag.span is not None else doc.path
            uri = doc.uri if path == doc.path else convert.path_to_uri(path)
            by_uri.setdefault(uri, []).append(convert.diagnostic(diag, sources, _fix_data(diag), locate))
        # this document's diagnostics in other files replace what it published there before
        for uri in set(by_uri) | {u for u, by in self.published.items() if doc.uri in by}:
            self.published.setdefault(uri, {})[doc.uri] = by_uri.get(uri, [])
            merged = _merged(self.published[uri])
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri, merged, version if uri == doc.uri else None)
            )

    def closed(self, uri: str) -> None:
        doc = self.documents.pop(uri, None)
        if doc is None:
            return
        _answer(doc.waiters, None)  # requests waiting for its analysis are answered (empty) now
        if doc.snapshot is not None:
            doc.snapshot.release()
        for target, by in list(self.published.items()):
            if uri in by:
                del by[uri]
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(target, _merged(by)))
        # the files that include it read it from disk again (its unsaved changes are gone)
        for other in self.documents.values():
            snapshot = other.snapshot
            if (
                snapshot is not None
                and snapshot.network is not None
                and any(_real(p) == doc.real for p in snapshot.network.sources if p != other.path)
            ):
                self.schedule(other, force=True)

    def files_changed(self, uris: list[str]) -> None:
        """Files changed on disk (workspace/didChangeWatchedFiles): a pyproject.toml is read again, and the
        open documents that include a changed file, or failed to include one, are analysed again."""
        import os

        paths = {_real(convert.uri_to_path(uri)) for uri in uris}
        if any(os.path.basename(p) == "pyproject.toml" for p in paths):
            self.selections.clear()
            for doc in self.documents.values():
                self.schedule(doc, force=True)
            return
        for doc in self.documents.values():
            snapshot = doc.snapshot
            if snapshot is None:
                continue
            sources = snapshot.network.sources if snapshot.network is not None else {}
            if any(_real(p) in paths for p in sources if p != doc.path) or any(
                d.code.code == "E016" for d in snapshot.diagnostics
            ):
                self.schedule(doc, force=True)


def _load_lark() -> None:
    try:
        from ..grammar import parser

        parser()
    except Exception as error:  # it is loaded (and any failure reported) when a syntax error needs it
        log.error("loading Lark's parser failed: %r", error, exc_info=error)


def _answer(waiters: list, snapshot) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(snapshot)
    waiters.clear()


def _merged(by: dict[str, list]) -> list:
    """The diagnostics several analysed documents published for one file, each once: an open library and
    a network that includes it both find the library's syntax errors."""
    if len(by) == 1:
        return next(iter(by.values()))
    seen, out = set(), []
    for diagnostics in by.values():
        for d in diagnostics:
            key = (
                d.range.start.line,
                d.range.start.character,
                d.range.end.line,
                d.range.end.character,
                d.code,
                d.message,
            )
            if key not in seen:
                seen.add(key)
                out.append(d)
    return out


def _fix_data(diag) -> list | None:
    """The fixes a diagnostic offers, as JSON data on the LSP diagnostic (code actions read them back): the
    form of `check --format json`."""
    fixes = getattr(diag, "fixes", ())
    return [as_json(fix) for fix in fixes] if fixes else None


def _position(snapshot: Snapshot, position: types.Position) -> tuple[int, int]:
    return convert.from_position(snapshot.source, position)


def _location(snapshot: Snapshot, span) -> types.Location:
    source = snapshot.network.sources.get(span.path) if snapshot.network is not None else None
    if span.path == snapshot.path:
        source = snapshot.source
    return types.Location(convert.path_to_uri(span.path), convert.to_range(source, span))


_SYMBOL_KINDS = {
    "input": types.SymbolKind.Variable,
    "tensor": types.SymbolKind.Variable,
    "output": types.SymbolKind.Event,
    "block": types.SymbolKind.Function,
    "constant": types.SymbolKind.Constant,
    "param": types.SymbolKind.TypeParameter,
}
_COMPLETION_KINDS = {
    "layer": types.CompletionItemKind.Class,
    "block": types.CompletionItemKind.Function,
    "argument": types.CompletionItemKind.Property,
    "tensor": types.CompletionItemKind.Variable,
    "constant": types.CompletionItemKind.Constant,
    "param": types.CompletionItemKind.TypeParameter,
    "setting": types.CompletionItemKind.Keyword,
    "value": types.CompletionItemKind.Value,
    "keyword": types.CompletionItemKind.Keyword,
    "function": types.CompletionItemKind.Function,
    "label": types.CompletionItemKind.Reference,
    "file": types.CompletionItemKind.File,
}


def make_server() -> ConvdslServer:
    server = ConvdslServer()

    def read_options(settings) -> None:
        if not isinstance(settings, dict):
            return
        settings = settings.get("convdsl", settings)
        if not isinstance(settings, dict):
            return
        hints = settings.get("inlayHints", settings.get("inlay_hints"))
        if isinstance(hints, dict):
            hints = hints.get("shapes", hints.get("enabled"))
        if isinstance(hints, bool):
            server.options.inlay_hints = hints
        if isinstance(settings.get("strict"), bool):
            server.options.strict = settings["strict"]

    async def pull_options(ls: ConvdslServer) -> None:
        """Ask a client that keeps settings (VS Code's `convdsl.*`) for them."""
        capabilities = ls.client_capabilities
        if capabilities is None or capabilities.workspace is None or not capabilities.workspace.configuration:
            return
        try:
            answer = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="convdsl")])
            )
        except Exception as err:
            log.debug("workspace/configuration: %r", err)
            return
        if answer and isinstance(answer[0], dict):
            read_options(answer[0])

    @server.feature(types.INITIALIZED)
    async def initialized(ls: ConvdslServer, params: types.InitializedParams):
        await pull_options(ls)

    @server.feature(types.INITIALIZE)
    def initialize(ls: ConvdslServer, params: types.InitializeParams):
        read_options(params.initialization_options)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration(ls: ConvdslServer, params: types.DidChangeConfigurationParams):
        if isinstance(params.settings, dict) and params.settings:
            read_options(params.settings)
        else:  # the new settings are to be asked for (the pull model)
            await pull_options(ls)
        for doc in ls.documents.values():
            ls.schedule(doc, force=True)
        try:
            ls.workspace_inlay_hint_refresh(None)
        except Exception as err:
            log.debug("inlay hint refresh: %r", err)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ConvdslServer, params: types.DidOpenTextDocumentParams):
        ls.changed(params.text_document.uri, params.text_document.text, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ConvdslServer, params: types.DidChangeTextDocumentParams):
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return  # a change to a document never opened: nothing to apply it to
        text = doc.text
        for change in params.content_changes:  # applied here: pygls counts lines as splitlines() does
            text = convert.apply_change(text, change)
        ls.changed(params.text_document.uri, text, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ConvdslServer, params: types.DidSaveTextDocumentParams):
        ls.selections.clear()  # a saved pyproject.toml is read again

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: ConvdslServer, params: types.DidChangeWatchedFilesParams):
        ls.files_changed([change.uri for change in params.changes])

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ConvdslServer, params: types.DidCloseTextDocumentParams):
        ls.closed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: ConvdslServer, params: types.HoverParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return None
        where = _position(snapshot, params.position)
        if hover.needs_sizes(snapshot, *where):  # the sweep runs in the worker, never on the event loop
            await asyncio.get_running_loop().run_in_executor(ls.worker, snapshot.sizes_report)
        found = hover.hover(snapshot, *where)
        if found is None:
            return None
        text, item = found
        return types.Hover(
            types.MarkupContent(types.MarkupKind.Markdown, text), convert.to_range(snapshot.source, item.span)
        )

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    async def on_inlay_hint(ls: ConvdslServer, params: types.InlayHintParams):
        if not ls.options.inlay_hints:
            return []
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return []
        first, last = params.range.start.line + 1, params.range.end.line + 1
        return [
            types.InlayHint(
                convert.to_position(snapshot.source, line, column),
                f" {label}",
                kind=types.InlayHintKind.Type,
                padding_left=True,
            )
            for line, column, label in navigate.inlay_hints(snapshot, first, last)
        ]

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(ls: ConvdslServer, params: types.DefinitionParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return None
        spans = navigate.definition(snapshot, *_position(snapshot, params.position))
        return [_location(snapshot, span) for span in spans] or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    async def on_references(ls: ConvdslServer, params: types.ReferenceParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return None
        spans = navigate.references(snapshot, *_position(snapshot, params.position), params.context.include_declaration)
        return [_location(snapshot, span) for span in spans]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def on_symbols(ls: ConvdslServer, params: types.DocumentSymbolParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return []

        def make(entry):
            name, detail, kind, span, selection, children = entry
            whole = convert.to_range(snapshot.source, span)
            chosen = convert.to_range(snapshot.source, selection)
            return types.DocumentSymbol(
                name=name,
                kind=_SYMBOL_KINDS[kind],
                range=whole,
                selection_range=chosen,
                detail=detail,
                children=[make(c) for c in children] or None,
            )

        return [make(entry) for entry in navigate.symbols(snapshot)]

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    async def on_prepare_rename(ls: ConvdslServer, params: types.PrepareRenameParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return None
        item = navigate.rename_target(snapshot, *_position(snapshot, params.position))
        if item is None:
            return None
        return types.PrepareRenamePlaceholder(convert.to_range(snapshot.source, item.span), item.name)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    async def on_rename(ls: ConvdslServer, params: types.RenameParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return None
        found = navigate.rename(snapshot, *_position(snapshot, params.position), params.new_name)
        if isinstance(found, str):
            from pygls.exceptions import JsonRpcInvalidParams

            raise JsonRpcInvalidParams(found)
        changes = {}
        for path, spans in found.items():
            location = [_location(snapshot, span) for span in spans]
            changes[convert.path_to_uri(path)] = [types.TextEdit(loc.range, params.new_name) for loc in location]
        return types.WorkspaceEdit(changes=changes)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[">", "(", ",", ":", " ", "="])
    )
    async def on_completion(ls: ConvdslServer, params: types.CompletionParams):
        snapshot = await ls.view(params.text_document.uri)
        if snapshot is None:
            return None
        candidates = complete.complete(snapshot, *_position(snapshot, params.position))
        items = []
        for c in candidates:
            items.append(
                types.CompletionItem(
                    label=c.label,
                    kind=_COMPLETION_KINDS[c.kind],
                    detail=c.detail or None,
                    documentation=types.MarkupContent(types.MarkupKind.Markdown, c.doc) if c.doc else None,
                    insert_text=c.insert if c.insert is not None else None,
                    insert_text_format=types.InsertTextFormat.Snippet if c.insert is not None else None,
                )
            )
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    async def on_code_action(ls: ConvdslServer, params: types.CodeActionParams):
        snapshot = await ls.current(params.text_document.uri)
        if snapshot is None:
            return []
        actions = code_actions(snapshot, params)
        # an included file's errors are found by the networks that include it: their fixes are offered here too
        doc = ls.documents.get(params.text_document.uri)
        seen = {(a.title, repr(a.edit)) for a in actions}
        for other in list(ls.documents.values()):
            if doc is None or other is doc or other.snapshot is None or other.snapshot.network is None:
                continue
            if not any(_real(p) == doc.real for p in other.snapshot.network.sources if p != other.path):
                continue
            including = await ls.current(other.uri)
            if including is None:
                continue
            for action in code_actions(including, params, in_file=doc.real):
                if (action.title, repr(action.edit)) not in seen:
                    seen.add((action.title, repr(action.edit)))
                    actions.append(action)
        return actions

    from .formatting import available, format_document

    if available():

        @server.feature(types.TEXT_DOCUMENT_FORMATTING)
        async def on_formatting(ls: ConvdslServer, params: types.DocumentFormattingParams):
            doc = ls.documents.get(params.text_document.uri)
            if doc is None:
                return None  # not open
            # off the event loop (a long file takes seconds), and not in the analysis worker, which it would delay
            path = convert.uri_to_path(params.text_document.uri)
            return await asyncio.get_running_loop().run_in_executor(None, format_document, doc.text, path)

    @server.feature(types.SHUTDOWN)
    def on_shutdown(ls: ConvdslServer, params):
        ls.worker.shutdown(wait=False, cancel_futures=True)

    return server


def main() -> int:
    """Serve until `exit` (or the end of the input): 0 after a `shutdown` request, else 1 (LSP's rule; pygls
    catches its own SystemExit)."""
    import sys

    server = make_server()
    server.collector.start()
    # An edit read while the analysis thread works marks that work stale; the event loop's thread must get the
    # interpreter lock to read it, which the analysis thread gives up every switch interval (5 ms by
    # default: the whole of a quick analysis's budget). The loop's thread is idle but for that.
    sys.setswitchinterval(0.0005)
    serve(server)
    return 0 if server.protocol._shutdown else 1
