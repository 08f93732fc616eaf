"""One analysed version of a document: its diagnostics, network, analysis and position index.

Diagnostics are those of `convdsl check` for the same text (the same parse,
lowering, inference and suppressions). Features are served from a parse that
recovers from syntax errors (recover.py), so a half-typed line leaves the rest
of the file with its shapes and definitions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from .. import positions
from ..cancel import checkpoint
from ..diagnostics import Diagnostic
from ..evaluate import SHAPES
from ..frontend import parse
from ..incremental import RecordingInference, keep, reanalyse, reinfer_lowered
from ..infer import analyze
from ..loading import lower_program
from ..model import Analysis, Limits
from ..network import Network
from ..recover import parse_recovering
from ..source import Source, Span
from ..suppress import Selection
from ..suppress import apply as apply_suppressions
from ..walk import gc_paused


@dataclass
class Snapshot:
    path: str
    version: int | None
    source: Source
    diagnostics: tuple[Diagnostic, ...]  # what `check` reports, suppressions applied
    network: Network | None
    analysis: Analysis | None
    programs: dict  # path -> syntax tree: this file's and (once the index is made) the files it includes
    broken: tuple[Span, ...] = ()  # the text left out by error recovery
    lowering: object = None
    state: object = None  # incremental.State: what the next edit, if incremental/ can take it, is analysed from
    _index: positions.Index | None = field(default=None, repr=False)
    _nodes_by_span: dict | None = field(default=None, repr=False)
    _block_nodes: dict | None = field(default=None, repr=False)
    _tensors: dict | None = field(default=None, repr=False)
    _sizes: object = field(default=False, repr=False)

    def release(self) -> None:
        """This version is replaced: break the cycle that would keep it alive until a full collection (each
        block instance's reader of `in.shape` holds the lowering, which holds the instance's constants; see
        collector.py). Requests still reading this version need no shapes read again."""
        if self.lowering is not None:
            for site in self.lowering.sites:
                site.env.pop(SHAPES, None)

    @property
    def index(self) -> positions.Index:
        """The position index, made when an editor feature first asks (not on the way from an edit to its
        diagnostics)."""
        if self._index is None:
            programs = dict(self.programs)
            includes = {}
            if self.lowering is not None and self.network is not None:
                # the analysed file's tree is in programs already (a view from an including file has its path)
                programs.update(_included_programs(self.network.sources, programs))
                includes = _include_targets(programs)
            self._index = positions.build(programs, includes)
        return self._index

    def sizes_report(self):
        """`convdsl sizes` for this version (None while the network has errors), swept once, on first use,
        within the work budget analyze() gives its own sweeps."""
        if self._sizes is False:
            self._sizes = None
            network = self.network
            if network is not None and not network.has_errors and not self.broken and network.inputs:
                from ..model import SWEEP_BUDGET
                from ..sizes import analyze_sizes

                layers = max(1, len(self.analysis.layers) if self.analysis is not None else 1)
                self._sizes = analyze_sizes(network, limit=max(32, min(1024, SWEEP_BUDGET // layers)))
        return self._sizes

    # layers -----------------------------------------------------------------
    def nodes_at(self, span: Span) -> list[str]:
        """The layer nodes a call (written at span) made: one, or one per block instance or repeat copy."""
        if self._nodes_by_span is None:
            found: dict = {}
            if self.network is not None:
                for node, data in self.network.layer_graph.nodes.items():
                    if data.get("kind") not in ("input", "output") and data.get("span") is not None:
                        found.setdefault(data["span"], []).append(node)
            self._nodes_by_span = found
        return self._nodes_by_span.get(span, [])

    def block_nodes(self, span: Span) -> list[list[str]]:
        """Per instance made by the block call written at span, the layer nodes inside it."""
        if self._block_nodes is None:
            found: dict = {}
            if self.network is not None:
                for node, data in self.network.layer_graph.nodes.items():
                    site = data.get("site")
                    while site is not None and site.call_span is not None:
                        found.setdefault(site.call_span, {}).setdefault(id(site), []).append(node)
                        site = site.parent
            self._block_nodes = {span: list(instances.values()) for span, instances in found.items()}
        return self._block_nodes.get(span, [])

    # tensors ----------------------------------------------------------------
    def tensor_values(self, scope: str, name: str) -> list[tuple[str, tuple[str, int] | None]]:
        """(instance prefix, (node, port) or None) for a tensor: one at the top level, one per block instance."""
        if self._tensors is None:
            found: dict = {}
            lowering = self.lowering
            if lowering is not None:
                for site, tensor_scope in lowering.tensor_scopes:
                    block = site.block or ""
                    for tensor, (value, _) in tensor_scope.tensors.items():
                        producer = lowering._resolve(value)
                        where = (producer.node, producer.port) if producer is not None else None
                        found.setdefault((block, tensor), []).append((site.prefix, where))
            self._tensors = found
        return self._tensors.get((scope, name), [])

    def shape_of(self, where: tuple[str, int] | None):
        if where is None or self.analysis is None:
            return None
        return self.analysis.shapes.get(where)


def read_through(open_documents: dict[str, str]):
    """A reader for includes that prefers the editor's unsaved text of a file to what is on disk."""
    from ..loading import read_included

    def read(path: str):
        key = _real(path)
        text = open_documents.get(key)
        if text is not None:
            return _load(path, text)  # judged as the file's bytes would be (its size too)
        return read_included(path)  # a regular file only, as check reads includes

    return read


@functools.lru_cache(maxsize=1024)
def _real(path: str) -> str:
    """The path resolved, remembered for the session (a file is known by one real path while it is edited)."""
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path


@dataclass(frozen=True)
class Parsed:
    """A document's text, parsed (frontend.parse's answer), for `build` to start from."""

    text: str
    source: Source
    program: object  # syntax.Program, or None: the text has syntax errors
    found: tuple  # the syntax errors


def _load(path: str, text: str) -> Source | Diagnostic:
    """The editor's text, judged as `check` judges the file's bytes: too large, binary, not UTF-8 (a lone
    surrogate, which an editor's JSON can carry, is encoded as it is, and refused as not UTF-8)."""
    from ..loading import from_bytes

    return from_bytes(path, text.encode("utf-8", "surrogatepass"))


# The last text parsed: an edit the quick analysis parsed, then declined, is analysed whole from the same parse.
_LAST_PARSED: list = [None]


def parse_text(path: str, text: str) -> Parsed | None:
    """The text parsed; None where it cannot be read at all (build says why)."""
    last = _LAST_PARSED[0]
    if last is not None and last.source.path == path and (last.text is text or last.text == text):
        return last
    source = _load(path, text)
    if isinstance(source, Diagnostic):
        return None
    with gc_paused():
        program, found = parse(source)
    parsed = _LAST_PARSED[0] = Parsed(text, source, program, tuple(found))
    return parsed


def syntax_errors(parsed: Parsed, selection: Selection | None = None) -> tuple[Diagnostic, ...] | None:
    """The diagnostics of a text with syntax errors, if it has any: those errors alone, as `check` reports them
    (and `build`: what could be read of the text is analysed for the other features, and reports nothing). An
    editor can show them before that analysis."""
    if parsed.program is not None:
        return None
    found = tuple(sorted(parsed.found, key=Diagnostic.sort_key))
    return tuple(apply_suppressions(found, {parsed.source.path: parsed.source}, selection))


def build(
    path: str,
    text: str,
    *,
    version: int | None = None,
    reader=None,
    limits: Limits | None = None,
    strict: bool = False,
    selection: Selection | None = None,
    keep_state: bool = False,
    previous=None,
    parsed: Parsed | None = None,
) -> Snapshot:
    """Analyse one document's text as `check` would, and index it. keep_state: keep what the next edit can be
    analysed from (incremental.State: `quick`, or `previous` here); previous: the state of an earlier text of
    the document, whose layers, where the new text lowers to the same, are not inferred again; parsed: the
    text parsed already (parse_text), if it has been."""
    from ..loading import read_included

    reader = reader or read_included
    limits = limits or Limits()
    if parsed is not None and parsed.text is not text and parsed.text != text:
        parsed = None  # of another text
    loaded = parsed.source if parsed is not None else _load(path, text)
    if isinstance(loaded, Diagnostic):
        source = Source(path, "")
        return Snapshot(path, version, source, (loaded,), None, None, {}, ())
    source = loaded
    with gc_paused():
        if parsed is not None:
            program, found = parsed.program, list(parsed.found)
        else:
            program, found = parse(source)
        checkpoint()  # an editor's stale analysis stops here (cancel.py)
        broken: tuple = ()
        state = None
        if program is None:
            recovered = parse_recovering(source, (program, found))
            program, broken = recovered.program, recovered.broken
            diagnostics = tuple(sorted(found, key=Diagnostic.sort_key))  # what syntax_errors() says
            network = analysis = lowering = None
            if program is not None:
                network, lowering = lower_program(
                    source, program, limits, reader, parse_included, _carried(previous, path)
                )
                # what was read of a text being typed is mostly as it was: its layers are not inferred again
                # (no state is kept: the network is of the repaired text, which a later edit is not made from)
                inference = _reinferred(previous, path, strict, network, size_hints=False)
                analysis = (
                    inference._conclude()
                    if inference is not None
                    else analyze(network, strict=strict, size_hints=False)
                )
        else:
            network, lowering = lower_program(
                source, program, limits, reader, parse_included, _carried(previous, path), carrying=keep_state
            )
            if keep_state:
                # the layers as they were in the text before are not inferred again (incremental/)
                inference = _reinferred(previous, path, strict, network)
                if inference is not None:
                    analysis = inference._conclude()
                else:
                    inference = RecordingInference(network, strict)
                    analysis = inference.run()
                state = keep(
                    path, source, network, inference, lowering, strict, analysis.diagnostics, previous, program
                )
            else:
                analysis = analyze(network, strict=strict)
            diagnostics = analysis.diagnostics
        sources = network.sources if network is not None else {path: source}
        diagnostics = tuple(apply_suppressions(diagnostics, sources, selection))
        programs = {path: program} if program is not None else {}
    return Snapshot(path, version, source, diagnostics, network, analysis, programs, broken, lowering, state)


def _carried(previous, path: str):
    """The templates the last whole lowering of the same file left (lower/carrying.py), or None."""
    return previous.carry if previous is not None and previous.path == path else None


def _reinferred(previous, path: str, strict: bool, network: Network, size_hints: bool = True):
    """The inference of `network` from the state of an earlier text of the same file (incremental.State), or
    None if there is none to start from."""
    if previous is None or previous.path != path or previous.strict != strict:
        return None
    return reinfer_lowered(previous.inference, network, size_hints)


@dataclass(frozen=True)
class Quick:
    """Diagnostics published before the whole analysis: those of a text analysed from the state of the text
    before it (incremental/), or of a text with syntax errors (`syntax_errors`)."""

    diagnostics: tuple[Diagnostic, ...]  # what `check` reports, suppressions applied
    network: Network | None  # None: a text with syntax errors (what could be read of it is not analysed yet)
    state: object  # incremental.State for the edit after it, or None
    parsed: Parsed | None = None  # the text with syntax errors, parsed: the whole analysis starts from it


def quick(state, path: str, text: str, *, strict: bool = False, selection: Selection | None = None) -> Quick | None:
    """The diagnostics of `text` from the state of an earlier text of the same document (Snapshot.state), if
    the edit changes one number a layer's call writes, spaces between tokens, a comment or a layer call's
    arguments (incremental/); else None (build it whole, from the parse this may have made: parse_text). Its
    included files must be those the state was made with."""
    source = _load(path, text)
    if isinstance(source, Diagnostic):
        return None

    def parse_new():
        parsed = parse_text(path, text)
        return parsed.program if parsed is not None else None

    with gc_paused():
        done = reanalyse(state, source, strict=strict, parse=parse_new)
        if done is None:
            return None
        diagnostics = tuple(apply_suppressions(done.diagnostics, done.network.sources, selection))
    return Quick(diagnostics, done.network, done.state)


_PARSED: dict[tuple[str, str], object] = {}  # (path, text) -> its syntax tree, for included files
_PARSED_KEEP = 64
_INCLUDED: dict[tuple[str, str], tuple] = {}  # (path, text) -> frontend.parse's answer, for included files


def parse_included(source: Source):
    """frontend.parse for an included file, parsed again only when its text changed since the last edit (the
    syntax tree is frozen data, so versions can share it)."""
    key = (source.path, source.text)
    found = _INCLUDED.get(key)
    if found is None:
        program, errors = parse(source)
        found = (program, tuple(errors))
        if len(_INCLUDED) >= _PARSED_KEEP:
            _INCLUDED.pop(next(iter(_INCLUDED)))
        _INCLUDED[key] = found
    return found[0], list(found[1])


def _included_programs(sources: dict[str, Source], parsed: dict) -> dict:
    """The syntax trees of the included files the network read (recovered where they have errors); a file
    that has not changed since the last edit is not parsed again."""
    out = {}
    for path, source in sources.items():
        if path in parsed:
            continue
        key = (path, source.text)
        program = _PARSED.get(key)
        if program is None:
            program = parse_recovering(source).program
            if len(_PARSED) >= _PARSED_KEEP:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[key] = program
        if program is not None:
            out[path] = program
    return out


def _include_targets(programs: dict) -> dict:
    """(including file, path as written) -> the file path it names, as Lowering resolves it."""
    from ..syntax import Include

    out = {}
    for path, program in programs.items():
        for stmt in program.statements:
            if isinstance(stmt, Include):
                target = Path(stmt.path) if Path(stmt.path).is_absolute() else Path(path).parent / stmt.path
                out[(path, stmt.path)] = str(target)
    return out
